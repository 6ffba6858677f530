"""Related rows of a page of SCIM resources, read in batches (one query per kind of row
for the whole page, never one per resource): accounts, posts, groups, members, sharing,
SCIM identities and enterprise fields."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from directory.db import among
from directory.db import among_param
from directory.models import Account
from directory.models import AccountStatus
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.models import PostKind
from directory.models import ScimIdentity
from directory.models import Tag
from directory.models import TagMember
from directory.models import TagShare
from directory.queries import ancestor_paths
from directory.scim_store import IDENTITY
from directory.scim_store import Client
from directory.scim_store import built_once
from directory.scim_store import node_visible
from directory.scim_store import person_visible
from directory.scim_store import scope_bounds
from directory.scim_store import scope_shape
from directory.scim_store import tag_visible

# A person's manager (RFC 7643 §4.3), made once: an alias of the persons table built per
# call costs ~1 ms of Python (a proxy for each of its columns) before the cache is hit.
_MANAGER = aliased(Person, name="manager")






class TagView(NamedTuple):
    """What a User document shows of a group it is in."""

    id: uuid.UUID
    name: str


def groups_of(session: Session, client: Client,
              person_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TagView]]:
    out: dict[uuid.UUID, list[TagView]] = {p: [] for p in person_ids}
    dialect = session.get_bind().dialect.name
    stmt = built_once(("groups", dialect, scope_shape(client)), lambda: (
        select(TagMember.person_id, Tag.id, Tag.name).join(Tag, Tag.id == TagMember.tag_id)
        .where(among_param(dialect, TagMember.person_id, "ids"), tag_visible(client, bound=True))
        .order_by(Tag.name)))
    rows = session.execute(stmt, {"ids": person_ids, **scope_bounds(client)})
    for pid, tag_id, name in rows:
        if pid is not None:
            out[pid].append(TagView(tag_id, name))
    return out






def members_of(session: Session, client: Client,
               tag_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, uuid.UUID, str]]]:
    """(type, id, display) of each visible member of each tag, people then nodes."""
    out: dict[uuid.UUID, list[tuple[str, uuid.UUID, str]]] = {t: [] for t in tag_ids}
    people = session.execute(select(TagMember.tag_id, Person.id, Person.name).join(
        Person, Person.id == TagMember.person_id).where(
        among(session, TagMember.tag_id, tag_ids), person_visible(client)).order_by(Person.id))
    for tid, pid, name in people:
        out[tid].append(("User", pid, name))
    nodes = session.execute(select(TagMember.tag_id, Node.id, Node.name).join(
        Node, Node.id == TagMember.node_id).where(
        among(session, TagMember.tag_id, tag_ids), node_visible(client)).order_by(Node.id))
    for tid, nid, name in nodes:
        out[tid].append(("OrgUnit", nid, name))
    return out


def shares_of(session: Session, tag_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(TagShare.node_id).where(TagShare.tag_id == tag_id)
                                .order_by(TagShare.node_id)))


def user_names(session: Session, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = session.execute(select(ScimIdentity.person_id, ScimIdentity.user_name).where(
        among(session, ScimIdentity.person_id, person_ids)))
    return {pid: name for pid, name in rows if name is not None}


def enterprise_of(session: Session,
                  person_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str | None, Person | None]]:
    """(employeeNumber, manager) of each person that has either."""
    manager = _MANAGER
    rows = session.execute(select(ScimIdentity.person_id, ScimIdentity.employee_number, manager)
                           .outerjoin(manager, manager.id == ScimIdentity.manager_id)
                           .where(among(session, ScimIdentity.person_id, person_ids)))
    return {pid: (number, boss) for pid, number, boss in rows}


@dataclass(frozen=True)
class Identity:
    """What a User document shows of a person's account and SCIM identity."""

    username: str | None  # the account's login name
    status: AccountStatus | None  # the account's status (None: no account)
    user_name: str | None  # the SCIM userName
    employee_number: str | None
    manager_id: uuid.UUID | None


def identities_of(session: Session, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, Identity]:
    """Each person's account and SCIM identity, in one statement of the few columns a
    User shows."""
    rows = session.execute(
        select(Person.id, *IDENTITY)
        .outerjoin(Account, Account.person_id == Person.id)
        .outerjoin(ScimIdentity, ScimIdentity.person_id == Person.id)
        .where(among(session, Person.id, person_ids)))
    return {row[0]: Identity(*row[1:]) for row in rows}


class PostView(NamedTuple):
    """What a User document shows of a post (and ``scim.posts`` compares): a plain row,
    not an ORM entity (a page of 100 Users: ~200 entities fewer to build)."""

    id: uuid.UUID | None  # None: a post this request just wrote (scim.batch), not read
    node_id: uuid.UUID
    kind: PostKind
    title: str | None
    sort_order: int
    start_date: dt.date | None
    end_date: dt.date | None


class NodeView(NamedTuple):
    """What a User document shows of a node: its name (department or unit), and where it is."""

    id: uuid.UUID
    name: str
    path: str
    level: int


_POST_VIEW = (Post.id, Post.node_id, Post.kind, Post.title, Post.sort_order, Post.start_date,
              Post.end_date)
_NODE_VIEW = (Node.id, Node.name, Node.path, Node.level)


def visible_posts_of(session: Session, client: Client, person_ids: list[uuid.UUID]) -> dict[
        uuid.UUID, list[tuple[PostView, NodeView]]]:
    """Each person's active posts at nodes the client sees, with the node, in one
    statement."""
    out: dict[uuid.UUID, list[tuple[PostView, NodeView]]] = {p: [] for p in person_ids}
    width = len(_POST_VIEW)
    dialect = session.get_bind().dialect.name
    stmt = built_once(("posts", dialect, scope_shape(client)), lambda: (
        select(Post.person_id, *_POST_VIEW, *_NODE_VIEW[1:])
        .join(Node, Node.id == Post.node_id)
        .where(among_param(dialect, Post.person_id, "ids"), Post.active,
               node_visible(client, bound=True))
        .order_by(Post.kind, Post.created_at)))
    for row in session.execute(stmt, {"ids": person_ids, **scope_bounds(client)}):
        post = PostView(*row[1:width + 1])
        out[row[0]].append((post, NodeView(post.node_id, *row[width + 1:])))
    return out


def unit_in(lineage: Sequence[Node]) -> NodeView | None:
    """The nearest unit at or above a node, of its ``lineage`` (root first), as
    ``units_of`` finds it."""
    unit = next((n for n in reversed(lineage) if n.is_unit), None)
    return None if unit is None else NodeView(unit.id, unit.name, unit.path, unit.level)


def units_of(session: Session, nodes: list[Any]) -> dict[uuid.UUID, NodeView | None]:
    """The nearest unit (使用单位) at or above each node (anything with ``id`` and
    ``path``), in one statement."""
    paths = {p for n in nodes for p in ancestor_paths(n.path)}
    if not paths:
        return {}
    dialect = session.get_bind().dialect.name
    stmt = built_once(("units", dialect), lambda: select(*_NODE_VIEW).where(
        among_param(dialect, Node.path, "paths"), Node.is_unit))
    units = {u.path: u for u in (NodeView(*r) for r in session.execute(
        stmt, {"paths": list(paths)}))}
    out: dict[uuid.UUID, NodeView | None] = {}
    for n in nodes:
        found = [units[p] for p in ancestor_paths(n.path) if p in units]
        out[n.id] = max(found, key=lambda u: u.level) if found else None
    return out
