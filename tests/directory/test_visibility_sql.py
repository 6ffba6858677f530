"""Property (ARCHITECTURE §7): the SQL listing filter selects exactly the rows that the
Python policy (``policies.visibility.decide`` per pair, plus per-post hidden nodes)
selects — over random trees, people, posts, hidden flags, allow-lists, rules, contacts
and admin grants."""

from __future__ import annotations

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from directory import accounts
from directory import people
from directory import rules as rule_cmds
from directory import visibility as dv
from directory.models import Node
from directory.models import Person
from directory.models import Post
from policies import visibility as pv
from tests import factories as f
from tests.conftest import _truncate

CLASSES = ["Q1", "Q2", "Q3", "Q4"]
MODES = ["direct", "searchable", "none"]

worlds = st.fixed_dictionaries({
    "parents": st.lists(st.integers(0, 20), min_size=1, max_size=10),
    "hidden": st.sets(st.integers(1, 10), max_size=3),
    "people": st.lists(st.tuples(st.integers(0, 10), st.sampled_from(CLASSES), st.booleans(),
                                 st.one_of(st.none(), st.integers(0, 10))),
                       min_size=1, max_size=8),
    "matrix": st.dictionaries(st.tuples(st.sampled_from(CLASSES), st.sampled_from(CLASSES)),
                              st.sampled_from(MODES), max_size=6),
    "overrides": st.lists(st.tuples(st.integers(0, 10), st.sampled_from(CLASSES),
                                    st.sampled_from(CLASSES), st.sampled_from(MODES)),
                          max_size=3),
    "viewer": st.integers(0, 7),
    "admin_scope": st.one_of(st.none(), st.integers(0, 10)),
    "allow_person_on": st.one_of(st.none(), st.integers(1, 10)),
    "accepted": st.sets(st.integers(0, 7), max_size=3),
})


def build(s, dsettings, ctx, w):
    nodes = [f.node(s, ctx, None, "根")]
    for i, p in enumerate(w["parents"], start=1):
        nodes.append(f.node(s, ctx, nodes[p % i], hidden=i in w["hidden"]))
    pick = lambda i: nodes[i % len(nodes)]  # noqa: E731
    persons = []
    for k, (at, cls, flag, extra) in enumerate(w["people"]):
        person = f.person(s, dsettings, ctx, pick(at), f"人{k}", visibility_class=cls,
                          not_searchable=flag)
        if extra is not None and pick(extra).id != pick(at).id:
            people.add_concurrent(s, ctx, person.id, people.PostSpec(pick(extra).id))
        persons.append(person)
    for (vc, tc), mode in w["matrix"].items():
        rule_cmds.set_rule(s, ctx, vc, tc, mode)
    for at, vc, tc, mode in w["overrides"]:
        rule_cmds.set_rule(s, ctx, vc, tc, mode, pick(at).id)
    viewer = persons[w["viewer"] % len(persons)]
    account = accounts.create(s, dsettings, ctx, username="viewer", account_type="user",
                              person_id=viewer.id)
    if w["admin_scope"] is not None:
        rule_cmds.grant(s, ctx, account.id, [pick(w["admin_scope"]).id], ["people"])
    if w["allow_person_on"] is not None and pick(w["allow_person_on"]).hidden:
        rule_cmds.allow_hidden(s, ctx, pick(w["allow_person_on"]).id, person_id=viewer.id)
    for target in {persons[k % len(persons)].id for k in w["accepted"]} - {viewer.id}:
        link = rule_cmds.request_contact(s, ctx, viewer.id, target)
        rule_cmds.accept_contact(s, ctx, link.id, target)
    return viewer, account


def python_listing(s, v, rules, hidden, node):
    under = dv.tokens(node.path)
    if not pv.covers(v.admin_scopes, under) and not pv.node_visible(v, under, hidden):
        return set()
    posts = s.execute(select(Post, Person).join(Person, Person.id == Post.person_id)
                      .where(Post.active)).all()
    targets = {}
    for post, person in posts:
        t = targets.setdefault(person.id, {"person": person, "posts": []})
        t["posts"].append(dv.tokens(post.node_path))
    out = set()
    for post, person in posts:
        path = dv.tokens(post.node_path)
        if not pv.within(path, under) or not pv.node_visible(v, path, hidden):
            continue
        t = pv.Target(str(person.id), person.visibility_class.value,
                      tuple(targets[person.id]["posts"]), person.not_searchable,
                      person.status.value == "active")
        if pv.decide(v, t, rules, hidden).listed:
            out.add((person.id, post.node_id))
    return out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(w=worlds)
def test_sql_listing_equals_python_policy(engine, sessions, dsettings, ctx, w) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        viewer, account = build(s, dsettings, ctx, w)
    with sessions() as s:
        v = dv.load_viewer(s, viewer.id, account.id)
        rules, hidden = dv.load_rules(s), dv.load_hidden(s)
        for node in s.scalars(select(Node)):
            got = {(r.person_id, r.node_id)
                   for r in dv.listed_members(s, v, rules, hidden, node, limit=1000)}
            assert got == python_listing(s, v, rules, hidden, node), node.code
