"""Groups are tags (标签, 001 组织人员规范 §11): members are Users and OrgUnits, written
through ``directory.tags``. A client sees and changes only members it can see: the members
it cannot see are neither listed nor removed."""

from __future__ import annotations

import uuid
from typing import Any

from directory import scim_commands as commands
from directory import scim_queries as related
from directory import scim_store as store
from directory import tags
from directory.models import Tag
from scim import errors
from scim import schemas as s
from scim.call import Call
from scim.call import as_text


def _members(call: Call, doc: dict[str, Any]) -> set[tuple[str, uuid.UUID]]:
    items = doc.get("members") or []
    ids: dict[uuid.UUID, str | None] = {}
    for item in items:
        try:
            ids[uuid.UUID(str(item.get("value")))] = item.get("type")
        except ValueError as exc:
            raise errors.invalid_value("a member's value is a User or OrgUnit id") from exc
    people = store.visible_person_ids(call.session, call.client, set(ids))
    nodes = store.visible_node_ids(call.session, call.client, set(ids) - people)
    out = set()
    for member_id, kind in ids.items():
        found = "User" if member_id in people else "OrgUnit" if member_id in nodes else None
        if found is None or (kind is not None and kind != found):
            raise errors.invalid_value("a member names a User or OrgUnit that does not exist")
        out.add((found, member_id))
    return out


def _shares(call: Call, doc: dict[str, Any]) -> list[uuid.UUID] | None:
    values = doc.get(s.GOV_GROUP, {}).get("sharedWith")
    if values is None:
        return None
    wanted = []
    for value in values:
        node = store.node(call.session, call.client, str(value))
        if node is None:
            raise errors.invalid_value("sharedWith names an OrgUnit that does not exist")
        wanted.append(node.id)
    return wanted


def create(call: Call, doc: dict[str, Any]) -> Tag:
    owner_id = doc.get(s.GOV_GROUP, {}).get("ownerNode")
    owner = store.node(call.session, call.client, str(owner_id)) if owner_id else call.client.home
    if owner is None:
        raise errors.invalid_value("ownerNode names an OrgUnit that does not exist")
    external_id = as_text(doc.get("externalId"), "externalId")
    if external_id and store.external_id_taken(call.session, call.client, Tag, external_id,
                                               None):
        raise errors.uniqueness("externalId is already used by this client")
    members = _members(call, doc)
    tag = tags.create(call.session, call.ctx, name=as_text(doc.get("displayName"), "displayName")
                      or "", owner_node_id=owner.id, shared_with=_shares(call, doc),
                      external_id=external_id)
    for kind, member_id in sorted(members, key=str):
        _add(call, tag.id, kind, member_id)
    return tag


def _add(call: Call, tag_id: uuid.UUID, kind: str, member_id: uuid.UUID) -> None:
    if kind == "User":
        tags.add_member(call.session, call.ctx, tag_id, person_id=member_id)
    else:
        tags.add_member(call.session, call.ctx, tag_id, node_id=member_id)


def replace(call: Call, tag: Tag, doc: dict[str, Any]) -> None:
    name = as_text(doc.get("displayName"), "displayName")
    if name is not None and name != tag.name:
        commands.rename_tag(call.session, call.ctx, tag, name)
    external_id = as_text(doc.get("externalId"), "externalId")
    if external_id != tag.external_id:
        if external_id and store.external_id_taken(call.session, call.client, Tag,
                                                   external_id, tag.id):
            raise errors.uniqueness("externalId is already used by this client")
        commands.set_tag_external_id(call.session, call.ctx, tag, external_id)
    shares = _shares(call, doc)
    if shares is not None and sorted(shares) != related.shares_of(call.session, tag.id):
        tags.set_shares(call.session, call.ctx, tag.id, shares)
    wanted = _members(call, doc)
    have = {(kind, mid) for kind, mid, _ in related.members_of(
        call.session, call.client, [tag.id])[tag.id]}
    for kind, member_id in sorted(have - wanted, key=str):
        if kind == "User":
            tags.remove_member(call.session, call.ctx, tag.id, person_id=member_id)
        else:
            tags.remove_member(call.session, call.ctx, tag.id, node_id=member_id)
    for kind, member_id in sorted(wanted - have, key=str):
        _add(call, tag.id, kind, member_id)


def delete(call: Call, tag: Tag) -> None:
    tags.delete_tag(call.session, call.ctx, tag.id)
