"""Property: the SQL subtree filter (materialised path range) selects exactly the nodes and
posts that following parent pointers in Python selects, after any sequence of moves."""

from __future__ import annotations

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from directory import queries
from directory import tree
from directory.errors import DomainError
from directory.models import Node
from tests import factories as f
from tests.conftest import _truncate

# A tree as parent indexes: node i (i >= 1) hangs under some node j < i.
trees = st.integers(min_value=2, max_value=25).flatmap(
    lambda n: st.tuples(*[st.integers(0, max(0, i - 1)) for i in range(1, n)]))
moves = st.lists(st.tuples(st.integers(0, 24), st.integers(0, 24)), max_size=6)


def descendants(parent_of: dict, root) -> set:
    """Python's answer: follow parent pointers upward from every node."""
    out = set()
    for node in parent_of:
        cur = node
        while cur is not None:
            if cur == root:
                out.add(node)
                break
            cur = parent_of[cur]
    return out


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=trees, steps=moves)
def test_subtree_filter_matches_parent_pointers(engine, sessions, dsettings, ctx, shape,
                                                steps) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        nodes = [f.node(s, ctx, None, "根")]
        for parent_index in shape:
            nodes.append(f.node(s, ctx, nodes[parent_index]))
        ids = [n.id for n in nodes]
        for i, node_id in enumerate(ids):
            f.person(s, dsettings, ctx, s.get(Node, node_id), f"人{i}")
        for a, b in steps:
            if a < len(ids) and b < len(ids):
                try:
                    with s.begin_nested():
                        tree.move(s, ctx, ids[a], ids[b])
                except DomainError as exc:
                    assert exc.code in {"directory.node.cycle", "directory.node.root_immovable"}
    with sessions() as s:
        parent_of = dict(s.execute(select(Node.id, Node.parent_id)).all())
        by_id = {n.id: n for n in s.scalars(select(Node))}
        for node in by_id.values():
            expected = descendants(parent_of, node.id)
            got = set(s.scalars(select(Node.id).where(
                queries.path_in_subtree(Node.path, node.path))))
            assert got == expected
            assert node.level == len(queries.ancestor_paths(node.path)) - 1
            members = queries.subtree_members(s, node, limit=1000)
            assert {m.node_id for m in members} == expected
            assert len(members) == len(expected)
