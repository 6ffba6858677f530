"""Every SELECT of the directory. Subtree filters are index range scans on a path."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Result
from sqlalchemy import Select
from sqlalchemy import Uuid
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.models import PATH_TOKEN_WIDTH
from directory.models import Account
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import PostKind

# Any character above [0-9a-f]: every path extending ``prefix`` sorts before prefix + "~".
PATH_CEILING = "~"


def path_in_subtree(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` lies in the subtree whose root has path ``prefix`` (root included)."""
    return and_(column >= prefix, column < prefix + PATH_CEILING)


def ancestor_paths(path: str) -> list[str]:
    """Paths of the node's ancestors and itself, root first."""
    return [path[: i + PATH_TOKEN_WIDTH] for i in range(0, len(path), PATH_TOKEN_WIDTH)]


def ancestors(session: Session, node: Node) -> Sequence[Node]:
    """The node's ancestors and itself, root first, in one query."""
    return session.scalars(
        select(Node).where(Node.path.in_(ancestor_paths(node.path))).order_by(Node.level)
    ).all()


def next_sibling_order(session: Session, parent_id: uuid.UUID | None) -> int:
    current = session.scalar(select(func.max(Node.sort_order)).where(Node.parent_id == parent_id))
    return (current or 0) + 10


def subtree_depth(session: Session, prefix: str) -> int:
    return session.scalar(
        select(func.max(Node.level)).where(path_in_subtree(Node.path, prefix))
    ) or 0


def has_content(session: Session, node: Node) -> bool:
    child = session.scalar(select(Node.id).where(
        Node.parent_id == node.id, Node.status == NodeStatus.ACTIVE).limit(1))
    post = session.scalar(select(Post.id).where(Post.node_id == node.id, Post.active).limit(1))
    return child is not None or post is not None


def children(session: Session, parent_id: uuid.UUID, *, include_abolished: bool = False
             ) -> Sequence[Node]:
    stmt = select(Node).where(Node.parent_id == parent_id)
    if not include_abolished:
        stmt = stmt.where(Node.status == NodeStatus.ACTIVE)
    return session.scalars(stmt.order_by(Node.sort_order, Node.name)).all()


def node_by_code(session: Session, code: str) -> Node | None:
    return session.scalar(select(Node).where(Node.code == code))


def root(session: Session) -> Node | None:
    return session.scalar(select(Node).where(Node.parent_id.is_(None)))


@dataclass(frozen=True)
class NodeRef:
    """The part of a node a member listing needs, without loading an ORM object."""

    id: uuid.UUID
    path: str


_ACTIVE_NODE = select(Node.id, Node.path).where(
    Node.id == bindparam("node_id", type_=Uuid), Node.status == NodeStatus.ACTIVE)


def active_node_ref(session: Session, node_id: uuid.UUID) -> NodeRef | None:
    """An active node's id and path (one primary-key read), None if absent or abolished."""
    row = session.execute(_ACTIVE_NODE, {"node_id": node_id}).first()
    return NodeRef(row.id, row.path) if row is not None else None


@dataclass(frozen=True)
class MemberRow:
    person_id: uuid.UUID
    name: str
    node_id: uuid.UUID
    node_path: str
    kind: str
    title: str | None
    sort_order: int


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the last row of the previous page."""

    node_path: str
    sort_order: int
    person_id: uuid.UUID


def cursor_values(after: Cursor) -> dict[str, Any]:
    return {"after_path": after.node_path, "after_order": after.sort_order,
            "after_person": after.person_id}


def cursor_params() -> dict[str, Any]:
    """Bind parameters standing for ``cursor_values``."""
    return {name: bindparam(name) for name in ("after_path", "after_order", "after_person")}


MemberSelect = Select[uuid.UUID, str, uuid.UUID, str, PostKind, str | None, int]


def members_statement(lo: Any, hi: Any, *, limit: int, after: dict[str, Any] | None = None,
                      where: ColumnElement[bool] | None = None) -> MemberSelect:
    """Active posts of active people with ``lo <= node_path < hi``, in display order, after
    a keyset position (``cursor_values`` or ``cursor_params``). ``lo``/``hi`` are values or
    bind parameters."""
    stmt = (
        select(Post.person_id, Person.name, Post.node_id, Post.node_path, Post.kind,
               Post.title, Post.sort_order)
        .join(Person, Person.id == Post.person_id)
        .where(Post.active, Post.node_path >= lo, Post.node_path < hi)
        .where(Person.status == PersonStatus.ACTIVE)
        .order_by(Post.node_path, Post.sort_order, Post.person_id)
        .limit(limit)
    )
    if where is not None:
        stmt = stmt.where(where)
    if after is not None:
        path, order, person = after["after_path"], after["after_order"], after["after_person"]
        stmt = stmt.where(or_(
            Post.node_path > path,
            and_(Post.node_path == path, Post.sort_order > order),
            and_(Post.node_path == path, Post.sort_order == order, Post.person_id > person),
        ))
    return stmt


def member_rows(
        result: Result[uuid.UUID, str, uuid.UUID, str, PostKind, str | None, int]
) -> list[MemberRow]:
    return [MemberRow(r[0], r[1], r[2], r[3], str(r[4]), r[5], r[6]) for r in result]


def subtree_members(
    session: Session, node: Node | NodeRef, *, limit: int = 50, after: Cursor | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[MemberRow]:
    """Active posts of everyone under ``node`` (itself included), one index range scan.

    Ordered by tree position, then the post's own order, then person: stable keyset
    pages whatever the subtree's size.
    """
    stmt = members_statement(node.path, node.path + PATH_CEILING, limit=limit,
                             after=cursor_values(after) if after is not None else None,
                             where=where)
    return member_rows(session.execute(stmt))


def count_subtree_members(session: Session, node: Node) -> int:
    return session.scalar(
        select(func.count(func.distinct(Post.person_id)))
        .where(Post.active, path_in_subtree(Post.node_path, node.path))
    ) or 0


def active_posts(session: Session, person_id: uuid.UUID) -> Sequence[Post]:
    return session.scalars(
        select(Post).where(Post.person_id == person_id, Post.active).order_by(Post.kind)
    ).all()


def primary_post(session: Session, person_id: uuid.UUID) -> Post | None:
    return session.scalar(select(Post).where(
        Post.person_id == person_id, Post.active, Post.kind == "primary"))


def person_by_lookup_hash(session: Session, column: str, digest: str) -> Person | None:
    attr = Person.mobile_hash if column == "mobile" else Person.id_number_hash
    return session.scalar(select(Person).where(attr == digest))


def account_by_username(session: Session, username: str) -> Account | None:
    return session.scalar(select(Account).where(Account.username == username))


def account_of_person(session: Session, person_id: uuid.UUID) -> Account | None:
    return session.scalar(select(Account).where(Account.person_id == person_id))
