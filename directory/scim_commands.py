"""The writes of the SCIM adapter (#5) that no domain command covers: a tag's name and
external id, one node's sort order, a person's SCIM userName and enterprise fields, and the
bearer tokens administrators issue for SCIM clients. Each checks, writes, records its
audit event in the caller's transaction, and never commits."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import accounts
from directory import apps
from directory import audit
from directory.db import insert_rows
from directory.db import utcnow
from directory.errors import DomainError
from directory.errors import conflict
from directory.errors import invalid
from directory.errors import not_found
from directory.models import Account
from directory.models import AccountType
from directory.models import Node
from directory.models import ScimIdentity
from directory.models import ScimToken
from directory.models import Tag
from directory.scim_store import TOKEN_PREFIX
from directory.scim_store import token_digest
from directory.settings import DirectorySettings
from policies.accounts import check_new_account

MAX_TOKEN_DAYS = 366


def rename_tag(session: Session, ctx: audit.Context, tag_: Tag, name: str) -> None:
    """A tag's new name (``tags`` has no rename; SCIM Groups need one: Okta renames)."""
    text = name.strip()
    if not text or len(text) > 100:
        raise invalid("directory.tag.name", "a tag name has 1 to 100 characters", "name")
    taken = session.scalar(select(Tag.id).where(Tag.owner_node_id == tag_.owner_node_id,
                                                Tag.name == text, Tag.id != tag_.id))
    if taken is not None:
        raise conflict("directory.tag.name_taken", "the owner already has a tag of that name",
                       "name")
    before, tag_.name = tag_.name, text
    session.flush()
    audit.record(session, "tag.renamed", ctx, target_type="tag", target_id=tag_.id,
                 summary={"before": before, "after": text})


def set_tag_external_id(session: Session, ctx: audit.Context, tag_: Tag,
                        external_id: str | None) -> None:
    tag_.external_id = external_id
    session.flush()
    audit.record(session, "tag.updated", ctx, target_type="tag", target_id=tag_.id,
                 summary={"external_id": external_id})


def set_node_order(session: Session, ctx: audit.Context, node_: Node, order: int) -> None:
    """排序: one node's sort order among its siblings, as given (``tree.reorder`` renumbers
    a whole list; a SCIM client sets one value)."""
    before, node_.sort_order = node_.sort_order, order
    session.flush()
    audit.record(session, "node.reordered", ctx, target_type="node", target_id=node_.id,
                 summary={"before": before, "after": order})


def _identity(session: Session, person_id: uuid.UUID, new: bool = False) -> ScimIdentity:
    """The person's SCIM identity row; ``new``: the person was added in this transaction
    and this is its first SCIM write, so there is none to read."""
    row = None if new else session.get(ScimIdentity, person_id)
    if row is None:
        row = ScimIdentity(person_id=person_id)
        session.add(row)
    return row


def set_user_name(session: Session, ctx: audit.Context, person_id: uuid.UUID,
                  user_name: str, *, new: bool = False) -> ScimIdentity:
    """Record the SCIM userName of a person (the unique key catches a concurrent twin)."""
    row = _identity(session, person_id, new)
    row.user_name, row.user_name_key = user_name.strip(), user_name.strip().lower()
    session.flush()
    audit.record(session, "person.scim_user_name_set", ctx, target_type="person",
                 target_id=person_id, summary={"user_name": user_name.strip()})
    return row


def set_enterprise(session: Session, ctx: audit.Context, person_id: uuid.UUID,
                   employee_number: str | None, manager_id: uuid.UUID | None) -> None:
    """RFC 7643 §4.3: employeeNumber and manager of a person."""
    row = _identity(session, person_id)
    row.employee_number, row.manager_id = employee_number, manager_id
    session.flush()
    audit.record(session, "person.enterprise_set", ctx, target_type="person",
                 target_id=person_id, summary={"employee_number": employee_number,
                                               "manager_id": manager_id})


def issue_token(session: Session, ctx: audit.Context, client_id: str,
                days: int) -> tuple[ScimToken, str]:
    """An administrator's bearer token for a SCIM client: shown once, stored hashed."""
    app = apps.get_app(session, client_id)
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise invalid("scim.token.days", f"a token lives 1 to {MAX_TOKEN_DAYS} days", "days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(app_id=app.id, token_hash=token_digest(token), created_by=ctx.actor,
                    expires_at=utcnow() + dt.timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record(session, "scim.token_issued", ctx, target_type="app", target_id=app.id,
                 summary={"token_id": row.id, "expires_at": row.expires_at})
    return row, token


def revoke_token(session: Session, ctx: audit.Context, token_id: uuid.UUID) -> None:
    row = session.get(ScimToken, token_id)
    if row is None:
        raise not_found("scim.token.not_found", "no such token", "token_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.record(session, "scim.token_revoked", ctx, target_type="app",
                     target_id=row.app_id, summary={"token_id": row.id})


def add_identities(session: Session, ctx: audit.Context,
                   rows: list[tuple[uuid.UUID, str, str | None]]) -> None:
    """``set_user_name`` (and ``set_enterprise`` with an employeeNumber and no manager) for
    people added in this transaction, as one batch (SCIM Bulk, #5): one flush, the same
    audit records. ``rows``: (person id, userName, employeeNumber)."""
    if rows:  # one statement (see add_accounts)
        insert_rows(session, ScimIdentity.__table__, [
            {"person_id": pid, "user_name": name.strip(), "user_name_key": name.strip().lower(),
             "employee_number": number, "manager_id": None} for pid, name, number in rows])
    for pid, name, number in rows:
        audit.record(session, "person.scim_user_name_set", ctx, target_type="person",
                     target_id=pid, summary={"user_name": name.strip()})
        if number is not None:
            audit.record(session, "person.enterprise_set", ctx, target_type="person",
                         target_id=pid, summary={"employee_number": number,
                                                 "manager_id": None})


def add_accounts(session: Session, settings: DirectorySettings, ctx: audit.Context,
                 wanted: list[tuple[uuid.UUID, list[str]]], taken: set[str]
                 ) -> list[tuple[uuid.UUID, str] | DomainError]:
    """``accounts.create`` of a user account without a password for each person added in
    this transaction (so active, and without an account), as one batch (SCIM Bulk, #5):
    each gets the first of its candidate names that no account has and no earlier item
    took, else the DomainError ``accounts.create`` raises. ``taken``: the account names
    that exist among at least each item's first candidate, found by the caller in this
    transaction with its other checks (``scim_store.taken``; the unique index catches a
    concurrent twin). The rows go in by ``db.insert_rows`` (the ORM would send one
    statement of all rows with RETURNING, whose text the driver parses slowly); returns
    the new accounts' (id, username)."""
    refusal = check_new_account("user", None, utcnow(), settings.accounts)
    if refusal is not None:
        raise invalid(refusal.code, refusal.message, refusal.field)
    taken = set(taken)
    out: list[tuple[uuid.UUID, str] | DomainError] = []
    rows: list[dict[str, object]] = []
    for pid, candidates in wanted:
        free = next((n for n in (c.strip().lower() for c in candidates)
                     if n not in taken and accounts.USERNAME.match(n)), None)
        if free is None:
            out.append(conflict("directory.account.username_taken", "username is taken",
                                "username"))
            continue
        taken.add(free)
        account_id = uuid.uuid4()
        out.append((account_id, free))
        rows.append({"id": account_id, "username": free, "type": AccountType.USER,
                     "person_id": pid, "must_change_password": True})
    if rows:
        insert_rows(session, Account.__table__, rows)
    for row in rows:
        audit.record(session, "account.created", ctx, target_type="account",
                     target_id=row["id"], summary={
                         "username": row["username"], "type": "user",
                         "person_id": row["person_id"], "expires_at": None, "password": False})
    return out
