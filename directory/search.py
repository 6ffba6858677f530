"""Directory search (#3, DOMAIN.md §4): "whom can V find by typing q", compiled into one
SQL query so that the database filters — candidate rows are never loaded to be filtered.

A *direct* target (``Search.PREFIX``) is found by name prefix, full-pinyin prefix, initials
prefix or exact mobile; a *searchable and addable* target (``Search.EXACT``) only by exact
full name or exact mobile; anyone else (``Search.NEVER``) not at all, not even by mobile.
Mobiles are matched through their keyed hash only: the number itself never reaches SQL.

The WHERE clause mirrors ``policies.visibility.decide`` over each person's active posts;
the mode and rule of each returned hit come from ``decide`` itself, so the two cannot
drift apart unnoticed (``tests/directory/test_search_sql.py`` checks they agree).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Literal
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from directory import queries
from directory import visibility as dv
from directory.errors import DomainError
from directory.identifiers import normalise_mobile
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import VisibilityClass
from directory.settings import DirectorySettings
from policies import visibility as pv

Matched = Literal["name_prefix", "pinyin", "initials", "exact_name", "mobile"]
EXACT_MATCHES: frozenset[str] = frozenset({"exact_name", "mobile"})
# A row of the search query: id, name, class, not_searchable, status, matched.
_Found = Row[uuid.UUID, str, VisibilityClass, bool, PersonStatus, str]


@dataclass(frozen=True)
class SearchHit:
    """One person V found, with the mode and rule ``decide`` gives and how q matched."""

    person_id: uuid.UUID
    name: str
    mode: pv.Mode
    rule: str
    matched: Matched


@dataclass(frozen=True)
class SearchQuery:
    """q read three ways: as typed (names), as a pinyin key (lowercase, no spaces) and,
    when it is a mainland mobile, as that mobile's lookup hash (then nothing else counts)."""

    text: str
    key: str
    mobile_hash: str | None


def parse_query(dsettings: DirectorySettings, q: str) -> SearchQuery | None:
    """None for a blank query: an empty prefix would match everyone V may list."""
    text = q.strip()
    key = "".join(text.split()).lower()
    if not key:
        return None
    try:
        mobile = normalise_mobile(text)
    except DomainError:
        return SearchQuery(text, key, None)
    return SearchQuery(text, key, dsettings.cipher.lookup_hash(mobile, "mobile"))


def _match_clauses(query: SearchQuery) -> tuple[ColumnElement[bool], ColumnElement[bool],
                                                ColumnElement[str]]:
    """(matches as a prefix, matches exactly, which match). Every exact match is also a
    prefix match, so a target found by prefix needs no separate exact branch."""
    if query.mobile_hash is not None:
        by_mobile = Person.mobile_hash == query.mobile_hash
        return by_mobile, by_mobile, literal("mobile")
    exact = Person.name == query.text
    by_name = Person.name.startswith(query.text, autoescape=True)
    by_pinyin = Person.name_pinyin.startswith(query.key, autoescape=True)
    by_initials = Person.name_initials.startswith(query.key, autoescape=True)
    which = case((exact, "exact_name"), (by_name, "name_prefix"), (by_pinyin, "pinyin"),
                 else_="initials")
    return or_(by_name, by_pinyin, by_initials), exact, which


def _has_active_post(where: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
    """EXISTS an active post of the person whose node path satisfies ``where``: decide()
    looks at all of T's active posts, not at one row."""
    post = aliased(Post)
    return exists().where(post.person_id == Person.id, post.active, where(post.node_path))


def _classes(viewer: pv.Viewer, rules: pv.Rules, mode: pv.Mode) -> list[str]:
    """Target classes the matrix and V's unit overrides put at ``mode`` for V."""
    return [c for c in dv.CLASSES if pv.rule_mode(
        viewer, pv.Target(person_id="", cls=c), rules)[0] is mode]


def _in_classes(classes: list[str]) -> ColumnElement[bool]:
    return Person.visibility_class.in_(classes) if classes else false()


def _policy_clauses(viewer: pv.Viewer, rules: pv.Rules, hidden: Mapping[str, pv.HiddenNode]
                    ) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(search PREFIX, search EXACT-or-better) for T as decide() computes them. Search is
    tree-wide, so every hidden node blocked for V counts, not only those under a node."""
    if viewer.app is not None:
        access = viewer.app
        return and_(Person.status == PersonStatus.ACTIVE, ~Person.not_searchable,
                    _has_active_post(lambda path: dv.app_path_clause(access, hidden, path))
                    ), false()
    blocked = ["".join(b) for b in dv.blocked_hidden(viewer, hidden)]
    visible = _has_active_post(lambda path: and_(
        true(), *(~queries.path_in_subtree(path, b) for b in blocked)))
    scopes = ["".join(s) for s in viewer.admin_scopes]
    admin = _has_active_post(lambda path: or_(
        *(queries.path_in_subtree(path, s) for s in scopes))) if scopes else false()
    accepted = [uuid.UUID(a) for a in viewer.accepted_by]
    is_accepted = Person.id.in_(accepted) if accepted else false()
    reachable = and_(Person.status == PersonStatus.ACTIVE, visible)
    by_rules = and_(reachable, ~Person.not_searchable)
    prefix = or_(Person.id == uuid.UUID(viewer.person_id), admin,
                 and_(reachable, is_accepted),
                 and_(by_rules, _in_classes(_classes(viewer, rules, pv.Mode.DIRECT))))
    exact = and_(by_rules, _in_classes(_classes(viewer, rules, pv.Mode.SEARCHABLE)))
    return prefix, exact


def _active_paths(session: Session, person_ids: list[uuid.UUID]
                  ) -> dict[uuid.UUID, list[pv.Path]]:
    """Active post paths of the (at most ``limit``) hits: what decide() needs for T."""
    paths: dict[uuid.UUID, list[pv.Path]] = {p: [] for p in person_ids}
    for person_id, node_path in session.execute(select(Post.person_id, Post.node_path).where(
            Post.person_id.in_(person_ids), Post.active)):
        paths[person_id].append(dv.tokens(node_path))
    return paths


def _hits(session: Session, viewer: pv.Viewer, rules: pv.Rules,
          hidden: Mapping[str, pv.HiddenNode], rows: Sequence[_Found]) -> list[SearchHit]:
    """Name each hit's mode and rule with decide(). A hit decide() would refuse — which
    the SQL never yields, as the property test shows — is dropped: search fails closed."""
    paths = _active_paths(session, [r.id for r in rows])
    hits = []
    for r in rows:
        target = pv.Target(str(r.id), r.visibility_class.value, tuple(paths[r.id]),
                           r.not_searchable, r.status == PersonStatus.ACTIVE)
        d = pv.decide(viewer, target, rules, hidden)
        if d.search is pv.Search.PREFIX or (d.search is pv.Search.EXACT
                                            and r.matched in EXACT_MATCHES):
            hits.append(SearchHit(r.id, r.name, d.mode, d.rule, cast(Matched, r.matched)))
    return hits


def search_statement(query: SearchQuery, viewer: pv.Viewer, rules: pv.Rules,
                     hidden: Mapping[str, pv.HiddenNode], limit: int
                     ) -> Select[uuid.UUID, str, VisibilityClass, bool, PersonStatus, str]:
    """The one filtering query: people V may find with q, exact-name hits first, then by
    name and id. Public so that the property test can check it without ``_hits``."""
    prefix_match, exact_match, which = _match_clauses(query)
    prefix_ok, exact_ok = _policy_clauses(viewer, rules, hidden)
    return (select(Person.id, Person.name, Person.visibility_class, Person.not_searchable,
                   Person.status, which.label("matched"))
            .where(or_(and_(prefix_ok, prefix_match), and_(exact_ok, exact_match)))
            .order_by(case((Person.name == query.text, 0), else_=1), Person.name, Person.id)
            .limit(limit))


def search_people(session: Session, dsettings: DirectorySettings, viewer: pv.Viewer,
                  rules: pv.Rules, hidden: Mapping[str, pv.HiddenNode], q: str, *,
                  limit: int = 20) -> list[SearchHit]:
    """People V finds with q, at most ``limit``: one query filters and orders, one more
    fetches the hits' active posts so decide() can name each hit's mode and rule."""
    query = parse_query(dsettings, q)
    if query is None or limit <= 0:
        return []
    rows = session.execute(search_statement(query, viewer, rules, hidden, limit)).all()
    return _hits(session, viewer, rules, hidden, rows)
