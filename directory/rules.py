"""Commands on visibility settings (#3): matrix cells and unit overrides, hidden-node
allow-lists, contact requests, admin grants. Each validates, writes, audits; none commits."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import audit
from directory import tree
from directory import versions
from directory.db import utcnow
from directory.errors import conflict
from directory.errors import invalid
from directory.errors import not_found
from directory.errors import precondition
from directory.models import Account
from directory.models import AccountType
from directory.models import AdminGrant
from directory.models import AdminGrantScope
from directory.models import ContactLink
from directory.models import HiddenAllow
from directory.models import VisibilityClass
from directory.models import VisibilityRule
from directory.people import get_person
from policies.delegation import Permission
from policies.visibility import Mode

_CLASSES = {c.value for c in VisibilityClass}


def set_rule(session: Session, ctx: audit.Context, viewer_class: str, target_class: str,
             mode: str | None, scope_node_id: uuid.UUID | None = None) -> None:
    """Set one cell of the deployment matrix (scope None) or of a unit override;
    ``mode`` None removes the cell (back to the next rule in precedence)."""
    for field, value in (("viewer_class", viewer_class), ("target_class", target_class)):
        if value not in _CLASSES:
            raise invalid("directory.rule.class", "class is Q1, Q2, Q3 or Q4", field)
    if mode is not None and mode not in {m.value for m in Mode}:
        raise invalid("directory.rule.mode", "mode is direct, searchable or none", "mode")
    if scope_node_id is not None:
        tree.get_active(session, scope_node_id, "scope_node_id")
    scope = (VisibilityRule.scope_node_id.is_(None) if scope_node_id is None
             else VisibilityRule.scope_node_id == scope_node_id)
    session.execute(delete(VisibilityRule).where(
        scope, VisibilityRule.viewer_class == VisibilityClass(viewer_class),
        VisibilityRule.target_class == VisibilityClass(target_class)))
    if mode is not None:
        session.add(VisibilityRule(scope_node_id=scope_node_id,
                                   viewer_class=VisibilityClass(viewer_class),
                                   target_class=VisibilityClass(target_class), mode=mode))
    session.flush()
    versions.bump(session, versions.RULES)  # every worker reloads the rules
    audit.record(session, "visibility.rule_set", ctx, target_type="node",
                 target_id=scope_node_id, summary={"cell": f"{viewer_class}->{target_class}",
                                                   "mode": mode})


def allow_hidden(session: Session, ctx: audit.Context, hidden_node_id: uuid.UUID, *,
                 person_id: uuid.UUID | None = None, node_id: uuid.UUID | None = None,
                 tag_id: uuid.UUID | None = None) -> HiddenAllow:
    """Add a person, a node (its subtree) or a tag to a hidden node's allow-list."""
    node = tree.get_active(session, hidden_node_id, "hidden_node_id")
    if not node.hidden:
        raise precondition("directory.node.not_hidden", "the node is not hidden",
                           "hidden_node_id")
    if sum(x is not None for x in (person_id, node_id, tag_id)) != 1:
        raise invalid("directory.hidden.subject", "one person, node or tag", "subject")
    versions.bump(session, versions.HIDDEN)
    entry = HiddenAllow(hidden_node_id=node.id, person_id=person_id, node_id=node_id,
                        tag_id=tag_id)
    session.add(entry)
    session.flush()
    audit.record(session, "visibility.allow_added", ctx, target_type="node", target_id=node.id,
                 summary={"person_id": person_id, "node_id": node_id, "tag_id": tag_id})
    return entry


def request_contact(session: Session, ctx: audit.Context, requester_id: uuid.UUID,
                    target_id: uuid.UUID) -> ContactLink:
    get_person(session, requester_id)
    get_person(session, target_id, active=True)
    if requester_id == target_id:
        raise invalid("directory.contact.self", "cannot add oneself", "target_id")
    if session.scalar(select(ContactLink.id).where(ContactLink.requester_id == requester_id,
                                                   ContactLink.target_id == target_id)):
        raise conflict("directory.contact.exists", "already requested", "target_id")
    link = ContactLink(requester_id=requester_id, target_id=target_id)
    session.add(link)
    session.flush()
    audit.record(session, "contact.requested", ctx, target_type="person", target_id=target_id,
                 summary={"requester": requester_id})
    return link


def accept_contact(session: Session, ctx: audit.Context, link_id: uuid.UUID,
                   by_person_id: uuid.UUID) -> ContactLink:
    """Only the target accepts; the requester then sees them as direct."""
    link = session.get(ContactLink, link_id)
    if link is None or link.target_id != by_person_id:
        raise not_found("directory.contact.not_found", "no such request", "id")
    if link.status != "pending":
        raise precondition("directory.contact.decided", "already decided", "id")
    link.status, link.decided_at = "accepted", utcnow()
    session.flush()
    audit.record(session, "contact.accepted", ctx, target_type="person",
                 target_id=link.requester_id, summary={"by": by_person_id})
    return link


def grant(session: Session, ctx: audit.Context, account_id: uuid.UUID,
          scope_node_ids: list[uuid.UUID], permissions: list[str],
          granted_by: uuid.UUID | None = None) -> AdminGrant:
    """Record a grant; the caller has checked ``policies.delegation.may_delegate``."""
    known = {p.value for p in Permission}
    for perm in permissions:
        if perm not in known:
            raise invalid("directory.grant.permission", f"unknown permission {perm}",
                          "permissions")
    if not scope_node_ids:
        raise invalid("directory.grant.scope", "a grant needs at least one subtree", "scopes")
    account = session.get(Account, account_id)
    if account is None:
        raise invalid("directory.grant.account", "no such account", "account_id")
    if account.type == AccountType.TEMPORARY:
        raise invalid("directory.grant.temporary",
                      "a temporary account is never an administrator", "account_id")
    for node_id in scope_node_ids:
        tree.get_active(session, node_id, "scopes")
    row = AdminGrant(account_id=account_id, permissions=" ".join(sorted(set(permissions))),
                     granted_by=granted_by)
    session.add(row)
    session.flush()
    for node_id in dict.fromkeys(scope_node_ids):
        session.add(AdminGrantScope(grant_id=row.id, node_id=node_id))
    session.flush()
    audit.record(session, "grant.created", ctx, target_type="account", target_id=account_id,
                 summary={"scopes": [str(n) for n in scope_node_ids],
                          "permissions": sorted(set(permissions))})
    return row
