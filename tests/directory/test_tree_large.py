"""Moving a 10,000-node subtree with people in it: set-based rewrites of every path."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy import select

from directory import queries
from directory import tree
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.models import PostKind
from directory.models import VisibilityClass
from tests import factories as f
from tests.directory.helpers import last_audit

CHILDREN, GRANDCHILDREN, PEOPLE = 100, 99, 500  # 1 + 100 + 9,900 = 10,001 nodes


def _node_row(parent_path: str, parent_id: uuid.UUID, level: int, i: int, code: str) -> dict:
    node_id = uuid.uuid4()
    return {"id": node_id, "parent_id": parent_id, "path": parent_path + tree.path_token(node_id),
            "level": level, "sort_order": i * 10, "name": code, "short_name": code,
            "code": code, "type": "internal"}


def _build(session, ctx, parent) -> tuple[uuid.UUID, list[dict]]:
    """A unit under ``parent`` with 10,000 nodes below it, inserted in bulk with correct
    paths and levels; returns its id and the leaf rows."""
    top = f.node(session, ctx, parent, "大单位", type="department", is_unit=True)
    rows, leaves = [], []
    for i in range(CHILDREN):
        child = _node_row(top.path, top.id, top.level + 1, i, f"L{i:03d}")
        rows.append(child)
        for j in range(GRANDCHILDREN):
            leaf = _node_row(child["path"], child["id"], top.level + 2, j, f"L{i:03d}-{j:02d}")
            rows.append(leaf)
            leaves.append(leaf)
    session.execute(insert(Node), rows)
    return top.id, leaves


def _people(session, leaves: list[dict]) -> dict[uuid.UUID, str]:
    """PEOPLE people with primary posts spread over the leaves; every tenth one's class is
    explicit Q2. Returns person id -> expected class after the move under 镇街道."""
    persons, posts, expected = [], [], {}
    for k in range(PEOPLE):
        leaf = leaves[(k * 37) % len(leaves)]
        explicit = k % 10 == 0
        pid = uuid.uuid4()
        cls = VisibilityClass.Q2 if explicit else VisibilityClass.Q3
        persons.append({"id": pid, "name": f"人{k}", "name_pinyin": f"ren{k}",
                        "name_initials": "r", "visibility_class": cls,
                        "visibility_class_explicit": explicit})
        posts.append({"person_id": pid, "node_id": leaf["id"], "node_path": leaf["path"],
                      "kind": PostKind.PRIMARY, "sort_order": k})
        expected[pid] = "Q2" if explicit else "Q4"
    session.execute(insert(Person), persons)
    session.execute(insert(Post), posts)
    return expected


@pytest.fixture
def fast_cleanup(sessions, engine):
    """On SQLite, deleting 10,000 nodes one foreign-key check at a time (nodes.merged_into_id
    has no index) takes seconds: empty the tables here with the checks off."""
    yield
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # autocommit: the pool's connections run without BEGIN
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        for table in ("audit_events", "posts", "persons", "nodes"):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
    finally:
        raw.close()


@pytest.mark.slow
@pytest.mark.usefixtures("fast_cleanup")
def test_move_10000_node_subtree_with_people(session, sessions, ctx):
    with session.begin():
        t = f.qingpu(session, ctx)
        gov_id, streets_id = t["gov"].id, t["streets"].id
        top_id, leaves = _build(session, ctx, t["gov"])
        expected_class = _people(session, leaves)
        old_prefix = session.get_one(Node, top_id).path
    with session.begin():
        moved = tree.move(session, ctx, top_id, streets_id)
        new_prefix = moved.path

    with sessions() as s:
        streets = s.get_one(Node, streets_id)
        assert new_prefix == streets.path + tree.path_token(top_id)
        rows = s.execute(select(Node.id, Node.parent_id, Node.path, Node.level)
                         .where(queries.path_in_subtree(Node.path, new_prefix))).all()
        assert len(rows) == 1 + CHILDREN * (1 + GRANDCHILDREN)
        by_id = {r.id: r for r in rows}
        by_id[streets.id] = streets
        for r in rows:
            parent = by_id[r.parent_id]
            assert r.path == parent.path + tree.path_token(r.id)
            assert r.level == parent.level + 1
        assert s.scalar(select(Node.id).where(
            queries.path_in_subtree(Node.path, old_prefix))) is None

        posts = s.execute(select(Post.node_path, Node.path)
                          .join(Node, Node.id == Post.node_id)).all()
        assert len(posts) == PEOPLE
        assert all(post_path == node_path for post_path, node_path in posts)
        assert queries.count_subtree_members(s, streets) == PEOPLE
        assert queries.count_subtree_members(s, s.get_one(Node, gov_id)) == 0

        classes = s.execute(select(Person.id, Person.visibility_class)).all()
        assert {pid: c.value for pid, c in classes} == expected_class
    assert last_audit(sessions).action == "node.moved"
