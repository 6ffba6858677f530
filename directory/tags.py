"""Commands on tags (标签, 001 组织人员规范 §11): create, members, sharing, delete."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import audit
from directory import tree
from directory.db import rowcount
from directory.errors import conflict
from directory.errors import invalid
from directory.errors import not_found
from directory.models import Tag
from directory.models import TagMember
from directory.models import TagShare
from directory.people import get_person


def get_tag(session: Session, tag_id: uuid.UUID) -> Tag:
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise not_found("directory.tag.not_found", "no such tag", "tag_id")
    return tag


def create(session: Session, ctx: audit.Context, *, name: str, owner_node_id: uuid.UUID,
           shared_with: list[uuid.UUID] | None = None, description: str | None = None,
           external_id: str | None = None) -> Tag:
    text = name.strip()
    if not text or len(text) > 100:
        raise invalid("directory.tag.name", "a tag name has 1 to 100 characters", "name")
    tree.get_active(session, owner_node_id, "owner_node_id")
    if session.scalar(select(Tag.id).where(Tag.owner_node_id == owner_node_id, Tag.name == text)):
        raise conflict("directory.tag.name_taken", "the owner already has a tag of that name",
                       "name")
    shares = list(dict.fromkeys(shared_with or []))
    for node_id in shares:  # checked before the tag is written
        tree.get_active(session, node_id, "shared_with")
    tag = Tag(name=text, owner_node_id=owner_node_id, description=description,
              external_id=external_id)
    session.add(tag)
    session.flush()
    for node_id in shares:
        session.add(TagShare(tag_id=tag.id, node_id=node_id))
    session.flush()
    audit.record(session, "tag.created", ctx, target_type="tag", target_id=tag.id,
                 summary={"name": text, "owner": owner_node_id,
                          "shared_with": [str(n) for n in shared_with or []]})
    return tag


def add_member(session: Session, ctx: audit.Context, tag_id: uuid.UUID, *,
               person_id: uuid.UUID | None = None, node_id: uuid.UUID | None = None) -> TagMember:
    tag = get_tag(session, tag_id)
    if (person_id is None) == (node_id is None):
        raise invalid("directory.tag.member", "a member is one person or one node", "member")
    if person_id is not None:
        get_person(session, person_id)
    else:
        tree.get_active(session, node_id, "node_id")  # type: ignore[arg-type]
    column = TagMember.person_id if person_id is not None else TagMember.node_id
    exists = session.scalar(select(TagMember.id).where(
        TagMember.tag_id == tag.id, column == (person_id or node_id)))
    if exists is not None:
        raise conflict("directory.tag.member_exists", "already a member", "member")
    member = TagMember(tag_id=tag.id, person_id=person_id, node_id=node_id)
    session.add(member)
    session.flush()
    audit.record(session, "tag.member_added", ctx, target_type="tag", target_id=tag.id,
                 summary={"person_id": person_id, "node_id": node_id})
    return member


def remove_member(session: Session, ctx: audit.Context, tag_id: uuid.UUID, *,
                  person_id: uuid.UUID | None = None, node_id: uuid.UUID | None = None) -> None:
    tag = get_tag(session, tag_id)
    if (person_id is None) == (node_id is None):
        raise invalid("directory.tag.member", "a member is one person or one node", "member")
    column = TagMember.person_id if person_id is not None else TagMember.node_id
    removed = rowcount(session.execute(delete(TagMember).where(
        TagMember.tag_id == tag.id, column == (person_id or node_id))))
    if not removed:
        raise not_found("directory.tag.not_member", "not a member", "member")
    audit.record(session, "tag.member_removed", ctx, target_type="tag", target_id=tag.id,
                 summary={"person_id": person_id, "node_id": node_id})


def set_shares(session: Session, ctx: audit.Context, tag_id: uuid.UUID,
               node_ids: list[uuid.UUID]) -> None:
    """Replace the set of nodes the tag is shared with (共享范围)."""
    tag = get_tag(session, tag_id)
    for node_id in node_ids:
        tree.get_active(session, node_id, "shared_with")
    session.execute(delete(TagShare).where(TagShare.tag_id == tag.id))
    for node_id in dict.fromkeys(node_ids):
        session.add(TagShare(tag_id=tag.id, node_id=node_id))
    session.flush()
    audit.record(session, "tag.shared", ctx, target_type="tag", target_id=tag.id,
                 summary={"shared_with": [str(n) for n in node_ids]})


def delete_tag(session: Session, ctx: audit.Context, tag_id: uuid.UUID) -> None:
    tag = get_tag(session, tag_id)
    session.execute(delete(TagMember).where(TagMember.tag_id == tag.id))
    session.execute(delete(TagShare).where(TagShare.tag_id == tag.id))
    name = tag.name
    session.delete(tag)
    session.flush()
    audit.record(session, "tag.deleted", ctx, target_type="tag", target_id=tag_id,
                 summary={"name": name})
