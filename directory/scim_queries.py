"""Related rows of a page of SCIM resources, read in batches (one query per kind of row
for the whole page, never one per resource): accounts, posts, groups, members, sharing,
SCIM identities and enterprise fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from directory.db import among
from directory.models import Account
from directory.models import AccountStatus
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.models import ScimIdentity
from directory.models import Tag
from directory.models import TagMember
from directory.models import TagShare
from directory.queries import ancestor_paths
from directory.queries import ancestors
from directory.scim_store import IDENTITY
from directory.scim_store import Client
from directory.scim_store import node_visible
from directory.scim_store import person_visible
from directory.scim_store import tag_visible

# A person's manager (RFC 7643 §4.3), made once: an alias of the persons table built per
# call costs ~1 ms of Python (a proxy for each of its columns) before the cache is hit.
_MANAGER = aliased(Person, name="manager")


def accounts_of(session: Session, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, Account]:
    rows = session.scalars(select(Account).where(among(session, Account.person_id, person_ids)))
    return {a.person_id: a for a in rows if a.person_id is not None}


def posts_of(session: Session, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Post]]:
    out: dict[uuid.UUID, list[Post]] = {p: [] for p in person_ids}
    for post in session.scalars(select(Post).where(among(session, Post.person_id, person_ids), Post.active)
                                .order_by(Post.kind, Post.created_at)):
        out[post.person_id].append(post)
    return out


def groups_of(session: Session, client: Client,
              person_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Tag]]:
    out: dict[uuid.UUID, list[Tag]] = {p: [] for p in person_ids}
    rows = session.execute(select(TagMember.person_id, Tag).join(Tag, Tag.id == TagMember.tag_id)
                           .where(among(session, TagMember.person_id, person_ids), tag_visible(client))
                           .order_by(Tag.name))
    for pid, t in rows:
        if pid is not None:
            out[pid].append(t)
    return out


def nodes_by_id(session: Session, node_ids: set[uuid.UUID]) -> dict[uuid.UUID, Node]:
    if not node_ids:
        return {}
    return {n.id: n for n in session.scalars(select(Node).where(among(session, Node.id, node_ids)))}


def unit_of(session: Session, node_: Node) -> Node | None:
    """The nearest unit (使用单位) at or above a node."""
    units = [n for n in ancestors(session, node_) if n.is_unit]
    return units[-1] if units else None


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
    User shows (what ``accounts_of``, ``user_names`` and ``enterprise_of`` read in three,
    as whole rows)."""
    rows = session.execute(
        select(Person.id, *IDENTITY)
        .outerjoin(Account, Account.person_id == Person.id)
        .outerjoin(ScimIdentity, ScimIdentity.person_id == Person.id)
        .where(among(session, Person.id, person_ids)))
    return {row[0]: Identity(*row[1:]) for row in rows}


def visible_posts_of(session: Session, client: Client, person_ids: list[uuid.UUID]) -> dict[
        uuid.UUID, list[tuple[Post, Node]]]:
    """Each person's active posts at nodes the client sees, with the node, in one
    statement (``posts_of`` + ``visible_node_ids`` + ``nodes_by_id``)."""
    out: dict[uuid.UUID, list[tuple[Post, Node]]] = {p: [] for p in person_ids}
    for post, node_ in session.execute(
            select(Post, Node).join(Node, Node.id == Post.node_id)
            .where(among(session, Post.person_id, person_ids), Post.active, node_visible(client))
            .order_by(Post.kind, Post.created_at)):
        out[post.person_id].append((post, node_))
    return out


def units_of(session: Session, nodes: list[Node]) -> dict[uuid.UUID, Node | None]:
    """The nearest unit (使用单位) at or above each node, in one statement."""
    paths = {p for n in nodes for p in ancestor_paths(n.path)}
    if not paths:
        return {}
    units = {u.path: u for u in session.scalars(
        select(Node).where(among(session, Node.path, paths), Node.is_unit))}
    out: dict[uuid.UUID, Node | None] = {}
    for n in nodes:
        found = [units[p] for p in ancestor_paths(n.path) if p in units]
        out[n.id] = max(found, key=lambda u: u.level) if found else None
    return out
