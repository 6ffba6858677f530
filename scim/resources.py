"""The three resource types behind one interface, so views handle Users, Groups and
OrgUnits with the same code paths (list, get, create, replace, delete, version claim)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from directory import scim_store as store
from directory.models import Node
from directory.models import Person
from directory.models import Tag
from scim import batch
from scim import document as d
from scim import errors
from scim import groups
from scim import mapping
from scim import nodes
from scim import patch as patch_op
from scim import schemas as s
from scim import users
from scim.call import Call


@dataclass(frozen=True)
class Kind:
    rtype: s.ResourceType
    model: type[Person] | type[Node] | type[Tag]
    get: Callable[[Any, store.Client, str], Any]
    search: Callable[..., store.Page]
    render: Callable[[Call, str, list[Any]], list[dict[str, Any]]]
    create: Callable[[Call, dict[str, Any]], Any]
    replace: Callable[[Call, Any, dict[str, Any]], None]
    delete: Callable[[Call, Any], None]


def _render_users(call: Call, base: str, rows: list[Any]) -> list[dict[str, Any]]:
    return mapping.users(call.session, call.client, call.settings, base, rows, call.made,
                         call.identities)


def _render_nodes(call: Call, base: str, rows: list[Any]) -> list[dict[str, Any]]:
    return [mapping.org_unit(base, n) for n in rows]


def _render_groups(call: Call, base: str, rows: list[Any]) -> list[dict[str, Any]]:
    return mapping.groups(call.session, call.client, base, rows)


KINDS = {
    "Users": Kind(s.USERS, Person, store.person, store.list_people, _render_users,
                  batch.create_one, users.replace, users.delete),
    "OrgUnits": Kind(s.ORG_UNITS, Node, store.node, store.list_nodes, _render_nodes,
                     nodes.create, nodes.replace, nodes.delete),
    "Groups": Kind(s.GROUPS, Tag, store.tag, store.list_tags, _render_groups,
                   groups.create, groups.replace, groups.delete),
}


def found(kind: Kind, call: Call, resource_id: str) -> Any:
    row = kind.get(call.session, call.client, resource_id)
    if row is None:
        raise errors.not_found()
    return row


def render_one(kind: Kind, call: Call, base: str, row: Any, *, created: bool = False) -> dict[
        str, Any]:
    """A row just created holds every column already (all defaults are made in Python):
    no re-read; a changed one is re-read after the flush."""
    call.session.flush()
    if not created:
        call.session.refresh(row)
    return kind.render(call, base, [row])[0]


def create(kind: Kind, call: Call, body: Any) -> Any:
    if kind.model is not Person:  # a Group's members, an OrgUnit: the Users made change
        call.made.clear()
    return kind.create(call, d.canonical(body, kind.rtype))


def replace(kind: Kind, call: Call, resource_id: str, body: Any,
            version: int | None) -> Any:
    call.made.clear()  # what a created User shows is read back once anything changes
    doc = d.canonical(body, kind.rtype)
    row = found(kind, call, resource_id)
    store.claim(call.session, kind.model, row.id, version)
    kind.replace(call, row, doc)
    return row


def patch(kind: Kind, call: Call, resource_id: str, body: Any, version: int | None,
          base: str) -> Any:
    call.made.clear()
    row = found(kind, call, resource_id)
    store.claim(call.session, kind.model, row.id, version)
    current = kind.render(call, base, [row])[0]
    kind.replace(call, row, patch_op.apply(current, body, kind.rtype))
    return row


def delete(kind: Kind, call: Call, resource_id: str, version: int | None) -> None:
    call.made.clear()
    row = found(kind, call, resource_id)
    store.claim(call.session, kind.model, row.id, version)
    kind.delete(call, row)
