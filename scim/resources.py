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
from scim import groups
from scim import mapping
from scim import nodes
from scim import schemas as s
from scim import users


@dataclass(frozen=True)
class Kind:
    rtype: s.ResourceType
    model: type[Person] | type[Node] | type[Tag]
    get: Callable[[Any, store.Client, str], Any]
    search: Callable[..., store.Page]
    render: Callable[[users.Call, str, list[Any]], list[dict[str, Any]]]
    create: Callable[[users.Call, dict[str, Any]], Any]
    replace: Callable[[users.Call, Any, dict[str, Any]], None]
    delete: Callable[[users.Call, Any], None]


def _render_users(call: users.Call, base: str, rows: list[Any]) -> list[dict[str, Any]]:
    return mapping.users(call.session, call.client, call.settings, base, rows)


def _render_nodes(call: users.Call, base: str, rows: list[Any]) -> list[dict[str, Any]]:
    return [mapping.org_unit(base, n) for n in rows]


def _render_groups(call: users.Call, base: str, rows: list[Any]) -> list[dict[str, Any]]:
    return mapping.groups(call.session, call.client, base, rows)


KINDS = {
    "Users": Kind(s.USERS, Person, store.person, store.list_people, _render_users,
                  users.create, users.replace, users.delete),
    "OrgUnits": Kind(s.ORG_UNITS, Node, store.node, store.list_nodes, _render_nodes,
                     nodes.create, nodes.replace, nodes.delete),
    "Groups": Kind(s.GROUPS, Tag, store.tag, store.list_tags, _render_groups,
                   groups.create, groups.replace, groups.delete),
}
