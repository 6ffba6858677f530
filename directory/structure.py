"""Structure changes as data (#3): one dispatch for create / rename / move / abolish, so a
change a graded administrator may not make directly can be filed as a change request and
applied unchanged when a system administrator approves it (000 §7, 001 §5)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from directory import audit
from directory import tree
from directory.db import utcnow
from directory.errors import invalid
from directory.errors import not_found
from directory.errors import precondition
from directory.models import ChangeRequest
from directory.models import Node

ACTIONS = ("create", "rename", "move", "abolish")


def _uuid(payload: dict[str, Any], field: str, required: bool = True) -> uuid.UUID | None:
    value = payload.get(field)
    if value is None and not required:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise invalid("directory.change.field", f"{field} must be a node id", field) from exc


def check_action(action: str) -> None:
    if action not in ACTIONS:
        raise invalid("directory.change.action", "action is create, rename, move or abolish",
                      "action")


def node_for(session: Session, payload: dict[str, Any], field: str = "node_id") -> Node:
    node = session.get(Node, _uuid(payload, field))
    if node is None:
        raise not_found("directory.node.not_found", "no such node", field)
    return node


def apply(session: Session, ctx: audit.Context, action: str, payload: dict[str, Any]) -> Node:
    """Carry out a structure change through the tree commands (validated and audited)."""
    check_action(action)
    if action == "create":
        return tree.create(session, ctx, tree.NewNode(
            name=str(payload.get("name") or ""), code=str(payload.get("code") or ""),
            parent_id=_uuid(payload, "parent_id"), short_name=payload.get("short_name"),
            type=str(payload.get("type") or "internal"),
            is_unit=bool(payload.get("is_unit", False))))
    node = node_for(session, payload)
    if action == "rename":
        changes = {k: payload[k] for k in ("name", "short_name") if k in payload}
        return tree.update_node(session, ctx, node.id, **changes)
    if action == "move":
        return tree.move(session, ctx, node.id, _uuid(payload, "parent_id"))  # type: ignore[arg-type]
    return tree.abolish(session, ctx, node.id, _uuid(payload, "move_content_to", False))


def file_request(session: Session, ctx: audit.Context, account_id: uuid.UUID, action: str,
         payload: dict[str, Any]) -> ChangeRequest:
    check_action(action)
    request = ChangeRequest(action=action, payload=json.dumps(payload, ensure_ascii=False),
                            requested_by=account_id)
    session.add(request)
    session.flush()
    audit.record(session, "change_request.filed", ctx, target_type="change_request",
                 target_id=request.id, summary={"action": action, "payload": payload})
    return request


def decide_request(session: Session, ctx: audit.Context, request_id: uuid.UUID,
           approver_id: uuid.UUID, approve: bool, reason: str | None = None) -> ChangeRequest:
    """Approve (the change is applied in the same transaction) or reject a request."""
    request = session.get(ChangeRequest, request_id)
    if request is None:
        raise not_found("directory.change.not_found", "no such change request", "id")
    if request.status != "pending":
        raise precondition("directory.change.decided", "the request is already decided", "id")
    if approve:
        apply(session, ctx, request.action, json.loads(request.payload))
    request.status = "approved" if approve else "rejected"
    request.decided_by, request.decided_at, request.reason = approver_id, utcnow(), reason
    session.flush()
    audit.record(session, f"change_request.{request.status}", ctx,
                 target_type="change_request", target_id=request.id, summary={"reason": reason})
    return request
