"""Directory search (#3, DOMAIN.md §4): table-driven cases on a small fixed world, and a
property (ARCHITECTURE §7) that the one SQL query finds exactly the people the Python
policy (``policies.visibility.decide`` per pair) lets V find with q — same mode, same rule
— over random trees, people, hidden nodes, rules, contacts, grants and deactivations."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from pypinyin import Style
from pypinyin import lazy_pinyin
from sqlalchemy import select

from directory import accounts
from directory import people
from directory import rules as rule_cmds
from directory import search
from directory import visibility as dv
from directory.errors import DomainError
from directory.identifiers import normalise_mobile
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from policies import visibility as pv
from tests import factories as f
from tests.conftest import _truncate

# name, class, node, mobile; the viewer is 李明 (Q4), in the town.
FIXED = [
    ("李明", "Q4", "town", "13900000000"),
    ("张伟", "Q3", "dept", "13900000001"),
    ("张伟强", "Q3", "dept", "13900000002"),
    ("王书记", "Q1", "dept", "13900000003"),   # Q4 -> Q1 searchable and addable
    ("赵敏", "Q2", "dept", "13900000004"),     # Q4 -> Q2 none
    ("钱多", "Q3", "dept", "13900000005"),     # flagged not searchable
    ("孙密", "Q3", "secret", "13900000006"),   # in a hidden node
    ("百%分", "Q3", "town", "13900000007"),    # LIKE metacharacters in the name
    ("百分百", "Q3", "town", "13900000008"),
    ("周退", "Q3", "dept", "13900000009"),     # deactivated
]


def build_fixed(s, dsettings, ctx, variant):
    """The fixed world; ``variant`` adds an accepted contact or an admin grant."""
    root = f.node(s, ctx, None, "区")
    nodes = {"dept": f.node(s, ctx, root, "部门"), "town": f.node(s, ctx, root, "镇"),
             "secret": f.node(s, ctx, root, "保密", hidden=True), "root": root}
    by_name = {name: f.person(s, dsettings, ctx, nodes[at], name, visibility_class=cls,
                              mobile=mobile, not_searchable=name == "钱多")
               for name, cls, at, mobile in FIXED}
    rule_cmds.set_rule(s, ctx, "Q4", "Q1", "searchable")
    rule_cmds.set_rule(s, ctx, "Q4", "Q2", "none")
    viewer = by_name["李明"]
    account = accounts.create(s, dsettings, ctx, username="viewer", account_type="user",
                              person_id=viewer.id)
    if variant == "accepted":
        for name in ("钱多", "孙密"):
            link = rule_cmds.request_contact(s, ctx, viewer.id, by_name[name].id)
            rule_cmds.accept_contact(s, ctx, link.id, by_name[name].id)
    if variant in ("admin_secret", "admin_root"):
        scope = nodes["secret" if variant == "admin_secret" else "root"]
        rule_cmds.grant(s, ctx, account.id, [scope.id], ["people"])
    people.deactivate(s, ctx, by_name["周退"].id, "retired")
    return viewer, account


def run_search(sessions, dsettings, ctx, variant, q, limit=20):
    with sessions.begin() as s:
        viewer, account = build_fixed(s, dsettings, ctx, variant)
    with sessions() as s:
        v = dv.load_viewer(s, viewer.id, account.id)
        rules, hidden = dv.load_rules(s), dv.load_hidden(s)
        hits = search.search_people(s, dsettings, v, rules, hidden, q, limit=limit)
        query = search.parse_query(dsettings, q)
        if query is not None:  # the SQL alone already filters: search_people drops nothing
            stmt, params = search.search_statement(query, v, rules, hidden, limit)
            assert [r.id for r in s.execute(stmt, params)] == [h.person_id for h in hits]
        return hits


D, S = "direct", "searchable"
ZHANG = [("张伟", D, "default", "pinyin"), ("张伟强", D, "default", "pinyin")]
CASES = [
    ("plain", "张", [("张伟", D, "default", "name_prefix"),
                     ("张伟强", D, "default", "name_prefix")], "name-prefix-chinese"),
    ("plain", "张伟", [("张伟", D, "default", "exact_name"),
                       ("张伟强", D, "default", "name_prefix")], "exact-name-ranks-first"),
    ("plain", "zhangwei", ZHANG, "full-pinyin"),
    ("plain", "zhang", ZHANG, "pinyin-prefix"),
    ("plain", " Zhang Wei ", ZHANG, "pinyin-case-and-spaces"),
    ("plain", "zw", [("张伟", D, "default", "initials"),
                     ("张伟强", D, "default", "initials")], "initials"),
    ("plain", "+86 139 0000 0001", [("张伟", D, "default", "mobile")], "mobile-formatted"),
    ("plain", "李明", [("李明", D, "self", "exact_name")], "self"),
    ("plain", "王书记", [("王书记", S, "matrix", "exact_name")], "searchable-exact-name"),
    ("plain", "13900000003", [("王书记", S, "matrix", "mobile")], "searchable-mobile"),
    ("plain", "王书", [], "searchable-not-by-prefix"),
    ("plain", "wangshuji", [], "searchable-not-by-pinyin"),
    ("plain", "wsj", [], "searchable-not-by-initials"),
    ("plain", "赵敏", [], "none-not-by-name"),
    ("plain", "13900000004", [], "none-not-by-mobile"),
    ("plain", "钱多", [], "not-searchable-not-by-name"),
    ("plain", "13900000005", [], "not-searchable-not-by-mobile"),
    ("accepted", "13900000005", [("钱多", D, "contact.accepted", "mobile")],
     "not-searchable-after-contact-accepted"),
    ("accepted", "qian", [("钱多", D, "contact.accepted", "pinyin")],
     "accepted-contact-by-pinyin"),
    ("plain", "孙密", [], "hidden-not-by-name"),
    ("accepted", "孙密", [], "hidden-wins-over-accepted-contact"),
    ("plain", "13900000006", [], "hidden-not-by-mobile"),
    ("admin_secret", "孙密", [("孙密", D, "admin.scope", "exact_name")], "hidden-admin-scope"),
    ("admin_secret", "sm", [("孙密", D, "admin.scope", "initials")], "hidden-admin-initials"),
    ("admin_root", "赵", [("赵敏", D, "admin.scope", "name_prefix")], "none-admin-scope"),
    ("admin_root", "周退", [], "deactivated-no-active-post-even-for-admin"),
    ("plain", "%", [], "like-percent-alone"),
    ("plain", "_", [], "like-underscore-alone"),
    ("plain", "百%", [("百%分", D, "default", "name_prefix")], "like-percent-literal"),
    ("plain", "百_", [], "like-underscore-literal"),
    ("plain", "bai%", [("百%分", D, "default", "pinyin")], "like-percent-in-pinyin"),
    ("plain", "bai_", [], "like-underscore-in-pinyin"),
    ("plain", "   ", [], "blank-query"),
]


@pytest.mark.parametrize(("variant", "q", "expected"),
                         [pytest.param(v, q, e, id=i) for v, q, e, i in CASES])
def test_search_fixed_world(sessions, dsettings, ctx, variant, q, expected) -> None:
    hits = run_search(sessions, dsettings, ctx, variant, q)
    assert [(h.name, h.mode.value, h.rule, h.matched) for h in hits] == expected


def test_search_limit(sessions, dsettings, ctx) -> None:
    hits = run_search(sessions, dsettings, ctx, "plain", "z", limit=1)
    assert [h.name for h in hits] == ["张伟"]


NAMES = ["张伟", "张伟强", "张三", "王芳", "王", "李明", "百%分", "百分百"]
CLASSES = ["Q1", "Q2", "Q3", "Q4"]
MODES = ["direct", "searchable", "none"]

CELLS = [(vc, tc) for vc in CLASSES for tc in CLASSES]
RARELY = st.sampled_from([False, False, False, True])

# Biased towards small trees, ancestors and set matrix cells, so that hidden nodes, unit
# overrides and searchable/none targets turn up in most examples, not one in forty.
worlds = st.fixed_dictionaries({
    "parents": st.lists(st.integers(0, 20), min_size=2, max_size=8),
    "hidden": st.sets(st.integers(1, 4), min_size=1, max_size=2),
    "people": st.lists(st.tuples(st.integers(0, 8), st.sampled_from(CLASSES), RARELY,
                                 st.one_of(st.none(), st.integers(0, 8)),
                                 st.sampled_from(NAMES)),
                       min_size=3, max_size=8),
    "matrix": st.lists(st.sampled_from([None, *MODES]), min_size=len(CELLS),
                       max_size=len(CELLS)),  # one per cell; None leaves it unset
    "overrides": st.lists(st.tuples(st.integers(0, 3),  # viewer class None: the viewer's
                                    st.sampled_from([None, *CLASSES]),
                                    st.sampled_from(CLASSES), st.sampled_from(MODES)),
                          min_size=1, max_size=3),
    "viewer": st.integers(0, 7),
    "admin_scope": st.one_of(st.none(), st.none(), st.integers(1, 8)),
    "allow_person_on": st.one_of(st.none(), st.integers(1, 4)),
    "accepted": st.sets(st.integers(0, 7), max_size=3),
    "deactivated": st.sets(st.integers(0, 7), max_size=1),
    "probe": st.integers(0, 7),
})


def mobile_of(k):
    return f"1390000{k:04d}"


def build_random(s, dsettings, ctx, w):
    nodes = [f.node(s, ctx, None, "根")]
    for i, p in enumerate(w["parents"], start=1):
        nodes.append(f.node(s, ctx, nodes[p % i], hidden=i in w["hidden"]))
    pick = lambda i: nodes[i % len(nodes)]  # noqa: E731
    persons = []
    for k, (at, cls, flag, extra, name) in enumerate(w["people"]):
        person = f.person(s, dsettings, ctx, pick(at), name, visibility_class=cls,
                          not_searchable=flag, mobile=mobile_of(k))
        if extra is not None and pick(extra).id != pick(at).id:
            people.add_concurrent(s, ctx, person.id, people.PostSpec(pick(extra).id))
        persons.append(person)
    for (vc, tc), mode in zip(CELLS, w["matrix"], strict=True):
        if mode is not None:
            rule_cmds.set_rule(s, ctx, vc, tc, mode)
    viewer = persons[w["viewer"] % len(persons)]
    for at, vc, tc, mode in w["overrides"]:
        rule_cmds.set_rule(s, ctx, vc or viewer.visibility_class.value, tc, mode, pick(at).id)
    account = accounts.create(s, dsettings, ctx, username="viewer", account_type="user",
                              person_id=viewer.id)
    if w["admin_scope"] is not None:
        rule_cmds.grant(s, ctx, account.id, [pick(w["admin_scope"]).id], ["people"])
    if w["allow_person_on"] is not None and pick(w["allow_person_on"]).hidden:
        rule_cmds.allow_hidden(s, ctx, pick(w["allow_person_on"]).id, person_id=viewer.id)
    for target in {persons[k % len(persons)].id for k in w["accepted"]} - {viewer.id}:
        link = rule_cmds.request_contact(s, ctx, viewer.id, target)
        rule_cmds.accept_contact(s, ctx, link.id, target)
    for gone in {persons[k % len(persons)].id for k in w["deactivated"]}:
        people.deactivate(s, ctx, gone, "retired")
    return viewer, account


def probes(w):
    """A few queries per world, all about one person: name prefix, exact name, formatted
    mobile, pinyin prefix, full pinyin and initials; plus a bare LIKE metacharacter."""
    k = w["probe"] % len(w["people"])
    name = w["people"][k][4]
    pinyin = "".join(lazy_pinyin(name)).lower()
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()
    return [name[:1], name, f"+86 {mobile_of(k)}", pinyin[:3], pinyin, initials, "%"]


def python_search(s, dsettings, v, rules, hidden, q):
    """The oracle: decide() for every person, then the match its search level allows."""
    text = q.strip()
    key = "".join(text.split()).lower()
    try:
        digest = dsettings.cipher.lookup_hash(normalise_mobile(text), "mobile")
    except DomainError:
        digest = None
    posts = defaultdict(list)
    for person_id, path in s.execute(select(Post.person_id, Post.node_path).where(Post.active)):
        posts[person_id].append(dv.tokens(path))
    out = {}
    for p in s.scalars(select(Person)):
        t = pv.Target(str(p.id), p.visibility_class.value, tuple(posts[p.id]), p.not_searchable,
                      p.status == PersonStatus.ACTIVE)
        d = pv.decide(v, t, rules, hidden)
        if digest is not None:
            prefix = exact = p.mobile_hash == digest
        else:
            exact = p.name == text
            prefix = (p.name.startswith(text) or p.name_pinyin.startswith(key)
                      or p.name_initials.startswith(key))
        if (d.search is pv.Search.PREFIX and prefix) or (d.search is pv.Search.EXACT and exact):
            out[p.id] = (d.mode, d.rule)
    return out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(w=worlds)
def test_sql_search_equals_python_policy(engine, sessions, dsettings, ctx, w) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        viewer, account = build_random(s, dsettings, ctx, w)
    with sessions() as s:
        v = dv.load_viewer(s, viewer.id, account.id)
        rules, hidden = dv.load_rules(s), dv.load_hidden(s)
        for q in probes(w):
            hits = search.search_people(s, dsettings, v, rules, hidden, q, limit=1000)
            assert len({h.person_id for h in hits}) == len(hits), q
            exact_first = [h.name == q.strip() for h in hits]
            assert exact_first == sorted(exact_first, reverse=True), q
            got = {h.person_id: (h.mode, h.rule) for h in hits}
            expected = python_search(s, dsettings, v, rules, hidden, q)
            assert got == expected, q
            stmt, params = search.search_statement(search.parse_query(dsettings, q), v, rules,
                                                   hidden, 1000)
            assert {r.id for r in s.execute(stmt, params)} == set(expected), q  # none dropped
