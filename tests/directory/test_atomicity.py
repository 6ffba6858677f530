"""A failure half-way through a command (after its first writes) rolls everything back:
the unit of work is the caller's transaction, and nothing of it survives."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory import audit
from directory import classes
from directory import people
from directory import tree
from directory.models import Node
from directory.models import Person
from directory.models import Post
from tests import factories as f
from tests.directory.helpers import audit_actions


@pytest.fixture
def t(session, ctx):
    with session.begin():
        return f.qingpu(session, ctx)


@pytest.fixture
def zhang(session, ctx, dsettings, t):
    with session.begin():
        return f.person(session, dsettings, ctx, t["office"], "张伟")


def _boom(*args, **kwargs):
    raise RuntimeError("injected failure")


@pytest.mark.parametrize(("command", "target"), [
    ("transfer", (audit, "record")),
    ("move", (audit, "record")),
    ("move", (classes, "rederive_classes")),
], ids=["transfer-audit", "move-audit", "move-classes"])
def test_failure_half_way_rolls_back(session, sessions, ctx, dsettings, t, zhang,
                                     monkeypatch, command, target):
    node_ids, person_id = {k: n.id for k, n in t.items()}, zhang.id  # rollback expires both
    with sessions() as s:
        before_posts = {(p.id, p.active, p.node_id, p.node_path) for p in s.scalars(select(Post))}
        before_nodes = {(n.id, n.parent_id, n.path, n.level) for n in s.scalars(select(Node))}
    events = audit_actions(sessions)
    monkeypatch.setattr(*target, _boom)
    with pytest.raises(RuntimeError):
        with session.begin():
            if command == "transfer":
                people.transfer(session, ctx, person_id, people.PostSpec(node_id=node_ids["town"]))
            else:
                tree.move(session, ctx, node_ids["edu"], node_ids["streets"])
    monkeypatch.undo()
    with sessions() as s:
        assert {(p.id, p.active, p.node_id, p.node_path)
                for p in s.scalars(select(Post))} == before_posts
        assert {(n.id, n.parent_id, n.path, n.level) for n in s.scalars(select(Node))
                } == before_nodes
        assert s.get_one(Person, person_id).visibility_class == "Q3"
    assert audit_actions(sessions) == events
