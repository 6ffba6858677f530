"""Property (ARCHITECTURE §7) for apps reading with their own token: the SQL of listing,
search, children and tags selects exactly what ``policies.visibility`` decides for an app
— over random trees, hidden flags, app scopes, hidden grants by name and 开放共享范围."""

from __future__ import annotations

import uuid
from collections import defaultdict

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from directory import apps
from directory import people
from directory import search
from directory import tag_visibility
from directory import tags
from directory import visibility as dv
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import TagShare
from policies import visibility as pv
from tests import factories as f
from tests.conftest import _truncate
from tests.directory.test_search_sql import NAMES
from tests.directory.test_search_sql import python_search
from tests.directory.test_visibility_sql import python_listing

CLASSES = ["Q1", "Q2", "Q3", "Q4"]

worlds = st.fixed_dictionaries({
    "parents": st.lists(st.integers(0, 20), min_size=2, max_size=9),
    "hidden": st.sets(st.integers(1, 6), max_size=3),
    "people": st.lists(st.tuples(st.integers(0, 9), st.sampled_from(CLASSES),
                                 st.sampled_from([False, False, False, True]),
                                 st.one_of(st.none(), st.integers(0, 9)),
                                 st.sampled_from(NAMES)),
                       min_size=2, max_size=8),
    "scopes": st.lists(st.integers(0, 9), min_size=1, max_size=2),
    "grants": st.sets(st.integers(1, 6), max_size=2),
    "upward": st.booleans(),
    "sharing": st.lists(st.tuples(st.integers(0, 9), st.booleans()), max_size=3),
    "deactivated": st.sets(st.integers(0, 7), max_size=1),
    "tag_owner": st.integers(0, 9),
    "tag_share": st.one_of(st.none(), st.integers(0, 9)),
})


def build(s, dsettings, ctx, w):
    nodes = [f.node(s, ctx, None, "根")]
    for i, p in enumerate(w["parents"], start=1):
        nodes.append(f.node(s, ctx, nodes[p % i], hidden=i in w["hidden"]))
    pick = lambda i: nodes[i % len(nodes)]  # noqa: E731
    persons = []
    for at, cls, flag, extra, name in w["people"]:
        person = f.person(s, dsettings, ctx, pick(at), name, visibility_class=cls,
                          not_searchable=flag)
        if extra is not None and pick(extra).id != pick(at).id:
            people.add_concurrent(s, ctx, person.id, people.PostSpec(pick(extra).id))
        persons.append(person)
    scopes = [pick(i) for i in w["scopes"]]
    grants = [pick(i) for i in w["grants"] if pick(i).hidden and any(
        pick(i).path.startswith(sc.path) or sc.path.startswith(pick(i).path) for sc in scopes)]
    for at, share in w["sharing"]:
        apps.set_share_upward(s, ctx, pick(at).id, share)
    app = apps.register(s, ctx, client_id="oa-app", name="协同办公", status="online")
    apps.set_directory_access(s, ctx, app, scope_node_ids=[n.id for n in scopes],
                              hidden_node_ids=[n.id for n in grants], upward=w["upward"])
    tag = tags.create(s, ctx, name="防汛", owner_node_id=pick(w["tag_owner"]).id,
                      shared_with=[pick(w["tag_share"]).id] if w["tag_share"] is not None
                      else [])
    tags.add_member(s, ctx, tag.id, node_id=nodes[0].id)
    for gone in {persons[k % len(persons)].id for k in w["deactivated"]}:
        people.deactivate(s, ctx, gone, "retired")
    return app, tag


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(w=worlds)
def test_app_sql_equals_python_policy(engine, sessions, dsettings, ctx, w) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        app, tag = build(s, dsettings, ctx, w)
    with sessions() as s:
        v = dv.load_app_viewer(s, s.get_one(type(app), app.id))
        rules, hidden = pv.Rules(), dv.load_hidden(s)
        every = list(s.scalars(select(Node).where(Node.status == NodeStatus.ACTIVE)))
        for node in every:
            got = {(r.person_id, r.node_id)
                   for r in dv.listed_members(s, v, rules, hidden, node, limit=1000)}
            assert got == python_listing(s, v, rules, hidden, node), node.code
            kids = {k.id for k in dv.visible_children(s, v, hidden, node)}
            assert kids == {n.id for n in every if n.parent_id == node.id
                            and pv.node_visible(v, dv.tokens(n.path), hidden)}, node.code
        for q in {p[4][:1] for p in w["people"]} | {p[4] for p in w["people"]}:
            hits = search.search_people(s, dsettings, v, rules, hidden, q, limit=1000)
            expected = python_search(s, dsettings, v, rules, hidden, q)
            assert {h.person_id: (h.mode, h.rule) for h in hits} == expected, q
        owner = s.get_one(Node, tag.owner_node_id)
        shared = [s.get_one(Node, n.node_id) for n in tag_visibility_shares(s, tag.id)]
        visible = any(pv.node_visible(v, dv.tokens(n.path), hidden) for n in [owner, *shared])
        assert (tag_visibility.visible_tag(s, v, hidden, tag.id) is not None) == visible
        members = {pid for pid, _ in tag_visibility.tag_people(s, v, rules, hidden,
                                                               s.get_one(type(tag), tag.id),
                                                               limit=1000)}
        assert members == listed_people(s, v, hidden)


def tag_visibility_shares(s, tag_id: uuid.UUID):
    return list(s.scalars(select(TagShare).where(TagShare.tag_id == tag_id)))


def listed_people(s, v, hidden):
    """The tag is on the root: its people are everyone decide() lists for the app."""
    posts = defaultdict(list)
    for person_id, path in s.execute(select(Post.person_id, Post.node_path).where(Post.active)):
        posts[person_id].append(dv.tokens(path))
    return {p.id for p in s.scalars(select(Person)) if pv.decide(v, pv.Target(
        str(p.id), p.visibility_class.value, tuple(posts[p.id]), p.not_searchable,
        p.status == PersonStatus.ACTIVE), pv.Rules(), hidden).listed}
