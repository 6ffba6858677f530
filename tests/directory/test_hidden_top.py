"""``hidden_top`` (migration 0010): every node's and post's outermost active hidden node
stays equal to what the flags say after any sequence of tree writes, and both forms of
``directory.visibility.hidden_filter`` select exactly the rows the policy does."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy import text

from directory import hidden_paths
from directory import people
from directory import tree
from directory import visibility as dv
from directory.errors import DomainError
from directory.migrate import downgrade
from directory.migrate import upgrade
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Post
from policies import visibility as pv
from tests import factories as f
from tests.conftest import _truncate

OPS = st.lists(st.one_of(
    st.tuples(st.just("hide"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("move"), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.just("merge"), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.just("abolish"), st.integers(0, 30), st.none()),
    st.tuples(st.just("person"), st.integers(0, 30), st.none()),
    st.tuples(st.just("child"), st.integers(0, 30), st.booleans()),
), max_size=12)


def expected_top(path: str, hidden_paths_: list[str]) -> str | None:
    return next((h for h in sorted(hidden_paths_, key=len) if path.startswith(h)), None)


def build_tree(s, dsettings, ctx, parents, hidden, people_at):
    nodes = [f.node(s, ctx, None, "根", hidden=0 in hidden)]
    for i, p in enumerate(parents, start=1):
        nodes.append(f.node(s, ctx, nodes[p % i], hidden=i in hidden))
    for k, at in enumerate(people_at):
        f.person(s, dsettings, ctx, nodes[at % len(nodes)], f"人{k}")
    return nodes


def check_consistent(s) -> None:
    hidden = list(s.scalars(select(Node.path).where(Node.hidden,
                                                    Node.status == NodeStatus.ACTIVE)))
    for node in s.scalars(select(Node)):
        assert node.hidden_top == expected_top(node.path, hidden), node.code
    for post in s.scalars(select(Post)):
        if post.active:
            assert post.hidden_top == expected_top(post.node_path, hidden), post.id


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parents=st.lists(st.integers(0, 20), min_size=1, max_size=10),
       hidden=st.sets(st.integers(0, 10), max_size=4),
       people_at=st.lists(st.integers(0, 10), max_size=6), ops=OPS)
def test_hidden_top_follows_every_tree_write(engine, sessions, dsettings, ctx, parents,
                                             hidden, people_at, ops) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        build_tree(s, dsettings, ctx, parents, hidden, people_at)
    for op, a, b in ops:
        try:
            with sessions.begin() as s:
                nodes = list(s.scalars(select(Node).where(Node.status == NodeStatus.ACTIVE)
                                       .order_by(Node.path)))
                x = nodes[a % len(nodes)]
                if op == "hide":
                    tree.update_node(s, ctx, x.id, hidden=b)
                elif op == "move":
                    tree.move(s, ctx, x.id, nodes[b % len(nodes)].id)
                elif op == "merge":
                    tree.merge(s, ctx, x.id, nodes[b % len(nodes)].id)
                elif op == "abolish":
                    tree.abolish(s, ctx, x.id)
                elif op == "person":
                    f.person(s, dsettings, ctx, x, "新人")
                else:
                    f.node(s, ctx, x, hidden=b)
        except DomainError:
            pass  # refused (a cycle, the root, a non-empty node): nothing changed
        with sessions() as s:
            check_consistent(s)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parents=st.lists(st.integers(0, 20), min_size=1, max_size=12),
       hidden=st.sets(st.integers(0, 12), max_size=6),
       people_at=st.lists(st.integers(0, 12), min_size=1, max_size=10),
       opened=st.sets(st.integers(0, 12), max_size=6), under=st.integers(0, 12))
def test_both_forms_of_the_hidden_filter_equal_the_policy(
        engine, sessions, dsettings, ctx, parents, hidden, people_at, opened, under) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        nodes = build_tree(s, dsettings, ctx, parents, hidden, people_at)
        ids = [n.id for n in nodes]
    with sessions() as s:
        hidden_set = dv.load_hidden(s)
        nodes = [s.get_one(Node, i) for i in ids]
        opened_ids = frozenset(dv.tokens(nodes[k % len(nodes)].path)[-1] for k in opened
                               ) & hidden_set.keys()
        within = dv.tokens(nodes[under % len(nodes)].path)
        posts = list(s.scalars(select(Post).where(Post.active)))
        expected = {p.id for p in posts if pv.within(dv.tokens(p.node_path), within)
                    and all(n in opened_ids for n in dv.tokens(p.node_path) if n in hidden_set)}
        for form in ("closed", "open", "auto"):
            clause = dv.hidden_filter(Post.node_path, Post.hidden_top, hidden_set, opened_ids,
                                      within, form=form)  # type: ignore[arg-type]
            got = set(s.scalars(select(Post.id).where(
                Post.active, Post.node_path >= "".join(within),
                Post.node_path < "".join(within) + "~", clause)))
            assert got == expected, form
        # and over nodes, as children listings use it
        expected_nodes = {n.id for n in nodes if pv.within(dv.tokens(n.path), within) and all(
            t in opened_ids for t in dv.tokens(n.path) if t in hidden_set)}
        for form in ("closed", "open"):
            clause = dv.hidden_filter(Node.path, Node.hidden_top, hidden_set, opened_ids,
                                      within, form=form)  # type: ignore[arg-type]
            got = set(s.scalars(select(Node.id).where(
                Node.path >= "".join(within), Node.path < "".join(within) + "~", clause)))
            assert got == expected_nodes, form


def test_common_viewer_filter_is_one_column(engine, sessions, dsettings, ctx) -> None:
    """A viewer given no exception filters with ``hidden_top IS NULL`` alone, however many
    hidden nodes there are: the statement does not grow with them."""
    _truncate(engine)
    with sessions.begin() as s:
        root = f.node(s, ctx, None, "根")
        for i in range(30):
            f.node(s, ctx, root, f"保密{i}", hidden=True)
    with sessions() as s:
        clause = dv.hidden_filter(Post.node_path, Post.hidden_top, dv.load_hidden(s),
                                  frozenset())
        assert str(clause.compile(compile_kwargs={"literal_binds": True})) == \
            "posts.hidden_top IS NULL"


def test_outermost() -> None:
    assert hidden_paths.outermost(["ab", "a", "b", "bc", "c"]) == ["a", "b", "c"]


@pytest.fixture
def at_0009(engine):
    _truncate(engine)
    downgrade(engine, "0009")
    yield engine
    _truncate(engine)
    upgrade(engine)


def test_migration_0010_backfills(at_0009, sessions) -> None:
    """Upgrading a database that already has hidden nodes and posts fills hidden_top."""
    engine = at_0009
    rows = [("aa", True), ("aabb", True), ("aacc", False), ("dd", False), ("ddee", True)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO cache_versions (name, token) VALUES ('hidden', 'old')"))
        for i, (path, hidden) in enumerate(rows):
            conn.execute(text(
                "INSERT INTO nodes (id, path, level, sort_order, name, short_name, code, type,"
                " is_unit, hidden, status, created_at, updated_at, version) VALUES (:id, :p,"
                " 0, 0, :n, :n, :n, 'internal', false, :h, 'active', :t, :t, 1)"),
                {"id": f"00000000-0000-0000-0000-00000000000{i}", "p": path, "n": f"n{i}",
                 "h": hidden, "t": "2026-01-01 00:00:00"})
    upgrade(engine)
    with engine.connect() as conn:
        got = dict(conn.execute(text("SELECT path, hidden_top FROM nodes")).all())
        assert conn.execute(text("SELECT token FROM cache_versions")).scalar() != "old"
    assert got == {"aa": "aa", "aabb": "aa", "aacc": "aa", "dd": None, "ddee": "ddee"}


def test_new_post_copies_the_nodes_value(engine, sessions, dsettings, ctx) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        root = f.node(s, ctx, None, "根")
        secret = f.node(s, ctx, root, "保密", hidden=True)
        inner = f.node(s, ctx, secret, "科室")
        person = f.person(s, dsettings, ctx, inner)
        people.add_concurrent(s, ctx, person.id, people.PostSpec(root.id))
        assert inner.hidden_top == secret.path
    with sessions() as s:
        tops = {p.node_id: p.hidden_top for p in s.scalars(select(Post))}
        assert tops == {inner.id: secret.path, root.id: None}
