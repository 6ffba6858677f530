"""Directory search (#3, DOMAIN.md §4): "whom can V find by typing q", compiled into one
SQL query so that the database filters — candidate rows are never loaded to be filtered.

A *direct* target (``Search.PREFIX``) is found by name prefix, full-pinyin prefix, initials
prefix or exact mobile; a *searchable and addable* target (``Search.EXACT``) only by exact
full name or exact mobile; anyone else (``Search.NEVER``) not at all, not even by mobile.
Mobiles are matched through their keyed hash only: the number itself never reaches SQL.

Each way of matching is its own branch, an index range scan read in index order that
stops after ``limit`` hits (indexes of migration 0007): a one-character prefix matching 1%
of 2,000,000 people costs one page, not a sort of 20,000 filtered rows (bench/README.md).
Hence the order: exact-name hits, then name-prefix hits by name, pinyin hits by pinyin,
initials hits by initials, ties by id.

The WHERE clause mirrors ``policies.visibility.decide`` over each person's active posts;
the mode and rule of each returned hit come from ``decide`` itself, so the two cannot
drift apart unnoticed (``tests/directory/test_search_sql.py`` checks they agree).
"""

from __future__ import annotations

import functools
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
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import union_all
from sqlalchemy.orm import Session

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


def _prefix_ceiling(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` in code point order:
    its last character incremented (surrogates skipped); None when there is none."""
    while prefix:
        code = ord(prefix[-1]) + 1
        code = 0xE000 if 0xD800 <= code <= 0xDFFF else code
        if code <= 0x10FFFF:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


_POST = Post.__table__.alias("p")


def _has_active_post(where: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
    """EXISTS an active post of the person that satisfies ``where``: decide() looks at all
    of T's active posts, not at one row."""
    post = _POST.c  # a Core alias, made once: an ORM alias per query cost milliseconds
    return exists().where(post.person_id == Person.id, post.active, where(post))


def _classes(viewer: pv.Viewer, rules: pv.Rules, mode: pv.Mode) -> list[str]:
    """Target classes the matrix and V's unit overrides put at ``mode`` for V."""
    return [c for c in dv.CLASSES if pv.rule_mode(
        viewer, pv.Target(person_id="", cls=c), rules)[0] is mode]


def _app_policy(access: pv.AppAccess, hidden: Mapping[str, pv.HiddenNode]
                ) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return and_(Person.status == PersonStatus.ACTIVE, ~Person.not_searchable,
                _has_active_post(lambda post: dv.app_path_clause(
                    access, hidden, post.node_path, post.hidden_top))), false()


def _policy_plan(viewer: pv.Viewer, rules: pv.Rules, hidden: Mapping[str, pv.HiddenNode]
                 ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Shape and values of the policy clauses for a person viewer. Search is tree-wide, so
    every hidden node closed to V counts, not only those under a node."""
    hshape, params = dv.hidden_plan(hidden, pv.visible_hidden(viewer, hidden))
    direct = _classes(viewer, rules, pv.Mode.DIRECT)
    searchable = _classes(viewer, rules, pv.Mode.SEARCHABLE)
    accepted = sorted(uuid.UUID(a) for a in viewer.accepted_by)
    for i, scope in enumerate(viewer.admin_scopes):
        params[f"scope_{i}_lo"] = "".join(scope)
        params[f"scope_{i}_hi"] = "".join(scope) + "~"
    params |= {"viewer_id": uuid.UUID(viewer.person_id), "accepted": accepted,
               "direct_classes": direct, "searchable_classes": searchable}
    shape = (hshape, len(viewer.admin_scopes), bool(accepted), bool(direct), bool(searchable))
    return shape, params


def _policy_build(shape: tuple[Any, ...], value: dv.Value
                  ) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(search PREFIX, search EXACT-or-better) for T as decide() computes them."""
    hshape, scopes, accepted, direct, searchable = shape
    visible = _has_active_post(lambda post: dv.hidden_build(
        hshape, post.node_path, post.hidden_top, value))
    admin = _has_active_post(lambda post: dv.scopes_build(post.node_path, scopes, value)) \
        if scopes else false()
    is_accepted = Person.id.in_(value("accepted", expanding=True)) if accepted else false()
    reachable = and_(Person.status == PersonStatus.ACTIVE, visible)
    by_rules = and_(reachable, ~Person.not_searchable)
    direct_ok = Person.visibility_class.in_(value("direct_classes", expanding=True)) \
        if direct else false()
    exact_ok = Person.visibility_class.in_(value("searchable_classes", expanding=True)) \
        if searchable else false()
    prefix = or_(Person.id == value("viewer_id"), admin, and_(reachable, is_accepted),
                 and_(by_rules, direct_ok))
    return prefix, and_(by_rules, exact_ok)


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


def _query_plan(query: SearchQuery) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if query.mobile_hash is not None:
        return ("mobile",), {"mobile_hash": query.mobile_hash}
    params: dict[str, Any] = {"q_text": query.text}
    ceilings = []
    for name, prefix in (("name", query.text), ("pinyin", query.key), ("initials", query.key)):
        ceiling = _prefix_ceiling(prefix)
        params[f"{name}_lo"] = prefix
        if ceiling is not None:
            params[f"{name}_hi"] = ceiling
        ceilings.append(ceiling is not None)
    return ("text", *ceilings), params


def _range(column: Any, name: str, bounded: bool, value: dv.Value) -> ColumnElement[bool]:
    """``column`` starts with the prefix ``{name}_lo`` (an index range: code point order on both
    databases, SQLite BINARY and COLLATE "C" on PostgreSQL since 0007)."""
    low = column >= value(f"{name}_lo")
    return and_(low, column < value(f"{name}_hi")) if bounded else low


def _statement(pshape: tuple[Any, ...] | None, qshape: tuple[Any, ...], limit: int,
               value: dv.Value, policy: tuple[ColumnElement[bool], ColumnElement[bool]] | None
               = None) -> Select[uuid.UUID, str, VisibilityClass, bool, PersonStatus, str]:
    prefix_ok, exact_ok = policy if policy is not None else _policy_build(
        cast(tuple[Any, ...], pshape), value)
    columns = (Person.id, Person.name, Person.visibility_class, Person.not_searchable,
               Person.status)
    if qshape[0] == "mobile":
        return (select(*columns, literal("mobile").label("matched"))
                .where(Person.mobile_hash == value("mobile_hash"), or_(prefix_ok, exact_ok))
                .order_by(Person.name, Person.id).limit(limit))
    _, name_hi, pinyin_hi, initials_hi = qshape
    exact = Person.name == value("q_text")
    by_name = _range(Person.name, "name", name_hi, value)
    by_pinyin = _range(Person.name_pinyin, "pinyin", pinyin_hi, value)
    by_initials = _range(Person.name_initials, "initials", initials_hi, value)
    branches = (  # (matched, condition, who may be found so, index order); first match wins
        ("exact_name", exact, or_(prefix_ok, exact_ok), Person.name),
        ("name_prefix", and_(by_name, ~exact), prefix_ok, Person.name),
        ("pinyin", and_(by_pinyin, ~by_name), prefix_ok, Person.name_pinyin),
        ("initials", and_(by_initials, ~by_name, ~by_pinyin), prefix_ok, Person.name_initials),
    )
    parts = [select(*columns, literal(matched).label("matched"), literal(rank).label("rank"),
                    key.label("sort_key")).where(match, ok).order_by(key, Person.id)
             .limit(limit).subquery()
             for rank, (matched, match, ok, key) in enumerate(branches)]
    hits = union_all(*(select(p) for p in parts)).subquery("hits")
    return (select(hits.c.id, hits.c.name, hits.c.visibility_class, hits.c.not_searchable,
                   hits.c.status, hits.c.matched)
            .order_by(hits.c.rank, hits.c.sort_key, hits.c.id).limit(limit))


@functools.lru_cache(maxsize=512)
def _cached_statement(pshape: tuple[Any, ...], qshape: tuple[Any, ...], limit: int
                      ) -> Select[uuid.UUID, str, VisibilityClass, bool, PersonStatus, str]:
    """One statement per shape and process, with bind parameters: building the four-branch
    query per request cost several milliseconds of Python."""
    return _statement(pshape, qshape, limit, dv.bind)


def search_statement(query: SearchQuery, viewer: pv.Viewer, rules: pv.Rules,
                     hidden: Mapping[str, pv.HiddenNode], limit: int
                     ) -> tuple[Select[uuid.UUID, str, VisibilityClass, bool, PersonStatus, str],
                                dict[str, Any]]:
    """The one filtering query and its parameters: people V may find with q, at most
    ``limit``, in the order of the module docstring. Public so that the property test can
    check it without ``_hits``."""
    qshape, params = _query_plan(query)
    if viewer.app is not None:
        return _statement(None, qshape, limit, dv.literal_values(params),
                          policy=_app_policy(viewer.app, hidden)), params
    pshape, pparams = _policy_plan(viewer, rules, hidden)
    return _cached_statement(pshape, qshape, limit), params | pparams


def search_people(session: Session, dsettings: DirectorySettings, viewer: pv.Viewer,
                  rules: pv.Rules, hidden: Mapping[str, pv.HiddenNode], q: str, *,
                  limit: int = 20) -> list[SearchHit]:
    """People V finds with q, at most ``limit``: one query filters and orders, one more
    fetches the hits' active posts so decide() can name each hit's mode and rule."""
    query = parse_query(dsettings, q)
    if query is None or limit <= 0:
        return []
    stmt, params = search_statement(query, viewer, rules, hidden, limit)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Each branch is meant to be read in index order until a page passes the policy.
        # PostgreSQL misjudges a prefix range of CJK names by ~100× (it interpolates the
        # histogram over the first bytes, which the range shares), then prefers a bitmap
        # scan of every match plus a sort: 0.5–3 s for a common surname, 11 ms in order.
        # Custom plans: a generic one cannot see how wide the prefix range is.
        session.execute(text("SET LOCAL enable_bitmapscan = off; "
                             "SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = session.execute(stmt, params).all()
    if postgres:
        session.execute(text("SET LOCAL enable_bitmapscan = on; "
                             "SET LOCAL plan_cache_mode = auto"))
    return _hits(session, viewer, rules, hidden, rows)
