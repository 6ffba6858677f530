"""OrgUnits: tree nodes written through ``directory.tree``, under the level rule of
``policies.delegation.may_change_structure``: a client scoped to a unit maintains level 4
and below inside its scope; levels 0–3 are central (000 §7, 001 §5), so only a client whose
scope holds the root changes them. A refusal is 403 (RFC 7644 §3.12)."""

from __future__ import annotations

from typing import Any

from directory import scim_commands as commands
from directory import scim_store as store
from directory import tree
from directory.models import Node
from directory.visibility import tokens
from policies.delegation import may_change_structure
from policies.delegation import may_move
from scim import errors
from scim.call import Call
from scim.call import as_text

FIELDS = {"name": "displayName", "short_name": "shortName", "type": "type",
          "is_unit": "unit", "hidden": "hidden", "external_id": "externalId"}


def _allowed(call: Call, verdict: Any) -> None:
    if not verdict.allowed:
        raise errors.ScimError(403, f"structure change refused ({verdict.rule}): levels 0-3 "
                                    "are maintained centrally")


def _parent(call: Call, doc: dict[str, Any]) -> Node:
    parent = store.node(call.session, call.client, str(doc.get("parent") or ""))
    if parent is None:
        raise errors.invalid_value("parent names an OrgUnit that does not exist")
    return parent


def _bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise errors.invalid_value(f"'{name}' is a boolean")


def _order(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise errors.invalid_value("'order' is an integer")


def _external_id(call: Call, value: str | None, node_id: Any) -> None:
    if value and store.external_id_taken(call.session, call.client, Node, value, node_id):
        raise errors.uniqueness("externalId is already used by this client")


def create(call: Call, doc: dict[str, Any]) -> Node:
    parent = _parent(call, doc)
    _allowed(call, may_change_structure(call.client.grant, tokens(parent.path) + ("new",)))
    _external_id(call, as_text(doc.get("externalId"), "externalId"), None)
    return tree.create(call.session, call.ctx, tree.NewNode(
        name=as_text(doc.get("displayName"), "displayName") or "",
        code=as_text(doc.get("code"), "code") or "", parent_id=parent.id,
        short_name=as_text(doc.get("shortName"), "shortName"),
        type=as_text(doc.get("type"), "type") or "internal",
        is_unit=bool(_bool(doc.get("unit"), "unit")),
        hidden=bool(_bool(doc.get("hidden"), "hidden")), sort_order=_order(doc.get("order")),
        external_id=as_text(doc.get("externalId"), "externalId")))


def replace(call: Call, node: Node, doc: dict[str, Any]) -> None:
    _allowed(call, may_change_structure(call.client.grant, tokens(node.path)))
    if doc.get("code") is not None and doc.get("code") != node.code:
        raise errors.mutability("code cannot change")
    changes: dict[str, Any] = {}
    for field, attr in FIELDS.items():
        value = doc.get(attr)
        value = _bool(value, attr) if field in ("is_unit", "hidden") else as_text(value, attr)
        if value is not None and value != getattr(node, field):
            changes[field] = value
    if "external_id" in changes:
        _external_id(call, changes["external_id"], node.id)
    if changes:
        tree.update_node(call.session, call.ctx, node.id, **changes)
    order = _order(doc.get("order"))
    if doc.get("parent") is not None and doc.get("parent") != str(node.parent_id):
        parent = _parent(call, doc)
        _allowed(call, may_move(call.client.grant, tokens(node.path), tokens(parent.path)))
        node = tree.move(call.session, call.ctx, node.id, parent.id, order)
    elif order is not None and order != node.sort_order:
        commands.set_node_order(call.session, call.ctx, node, order)


def delete(call: Call, node: Node) -> None:
    _allowed(call, may_change_structure(call.client.grant, tokens(node.path)))
    tree.abolish(call.session, call.ctx, node.id)
