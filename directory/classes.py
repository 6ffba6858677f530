"""Keeps stored Q classes in step with the tree: defaults follow the primary post."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory import queries
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.models import PostKind
from directory.models import VisibilityClass
from policies.classes import NodeFacts
from policies.classes import default_class

_CHUNK = 500


def facts(nodes: list[Node]) -> list[NodeFacts]:
    return [NodeFacts(n.level, n.short_name, n.type) for n in nodes]


def class_of_lineage(lineage: Sequence[Node]) -> VisibilityClass:
    """The default class at the last node of ``lineage`` (root first)."""
    return VisibilityClass(default_class(facts(list(lineage))).value)


def class_for_node(session: Session, node: Node) -> VisibilityClass:
    return class_of_lineage(queries.ancestors(session, node))


def rederive_classes(session: Session, prefix: str) -> None:
    """Recompute the default class of people whose primary post lies under ``prefix``.

    People whose class was set explicitly (Q1, Q2 or an override) keep it. Works per node
    of the subtree (nodes are far fewer than people), then one UPDATE per class and chunk.
    """
    top = session.scalar(select(Node).where(Node.path == prefix))
    if top is None:
        return
    above = facts(list(queries.ancestors(session, top))[:-1])
    subtree = session.execute(
        select(Node.id, Node.path, Node.level, Node.short_name, Node.type)
        .where(queries.path_in_subtree(Node.path, prefix)).order_by(Node.path)
    ).all()
    by_path = {row.path: NodeFacts(row.level, row.short_name, row.type) for row in subtree}
    groups: dict[str, list[uuid.UUID]] = {}
    for row in subtree:
        inner = [by_path[p] for p in queries.ancestor_paths(row.path) if p in by_path]
        groups.setdefault(default_class(above + inner).value, []).append(row.id)
    for value, node_ids in groups.items():
        for start in range(0, len(node_ids), _CHUNK):
            holders = select(Post.person_id).where(
                Post.active, Post.kind == PostKind.PRIMARY,
                Post.node_id.in_(node_ids[start:start + _CHUNK]))
            session.execute(
                update(Person)
                .where(Person.id.in_(holders), Person.visibility_class_explicit.is_(False),
                       Person.visibility_class != VisibilityClass(value))
                .values(visibility_class=VisibilityClass(value), version=Person.version + 1)
                .execution_options(synchronize_session=False)
            )
            derived = select(Person.id).where(Person.id.in_(holders),
                                              Person.visibility_class_explicit.is_(False))
            session.execute(  # every active post carries its person's class (Post.person_class)
                update(Post)
                .where(Post.active, Post.person_id.in_(derived),
                       Post.person_class != VisibilityClass(value))
                .values(person_class=VisibilityClass(value))
                .execution_options(synchronize_session=False)
            )
    session.expire_all()
