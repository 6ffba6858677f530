"""Proxies (代理人员, DOMAIN.md §3): naming, revoking, and whether a proxy acts for a
principal now. Rules are ``policies.proxies``'; every write is audited and never commits."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import accounts
from directory import audit
from directory.db import utcnow
from directory.errors import DomainError
from directory.errors import ErrorKind
from directory.errors import not_found
from directory.models import Account
from directory.models import Proxy
from policies import proxies as policy

DEFAULTS = policy.ProxySettings()
_KINDS = {"directory.proxy.proxy_inactive": ErrorKind.CONFLICT}


def party(account: Account, now: dt.datetime | None = None) -> policy.Party:
    return policy.Party(str(account.id), account.type.value, accounts.usable(account, now))


def period(row: Proxy) -> policy.Period:
    return policy.Period(row.starts_at, row.ends_at, row.revoked_at is not None)


def _account(session: Session, account_id: uuid.UUID, field: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise not_found("directory.account.not_found", "no such account", field)
    return account


def name(session: Session, ctx: audit.Context, *, principal_id: uuid.UUID,
         proxy_id: uuid.UUID, starts_at: dt.datetime, ends_at: dt.datetime,
         settings: policy.ProxySettings = DEFAULTS) -> Proxy:
    """The principal names a proxy for a period (``proxy.named``)."""
    principal = _account(session, principal_id, "principal")
    proxy = _account(session, proxy_id, "proxy")
    now = utcnow()
    decision = policy.check_naming(party(principal, now), party(proxy, now),
                                   policy.Period(starts_at, ends_at), now, settings)
    if not decision.allowed:
        raise DomainError(_KINDS.get(decision.rule, ErrorKind.INVALID), decision.rule,
                          "this proxy may not be named", field="proxy")
    row = Proxy(principal_id=principal.id, proxy_id=proxy.id, starts_at=starts_at,
                ends_at=ends_at, created_by=ctx.actor)
    session.add(row)
    session.flush()
    audit.record(session, "proxy.named", ctx, target_type="account", target_id=principal.id,
                 summary={"proxy": str(proxy.id), "proxy_record": str(row.id),
                          "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    return row


def revoke(session: Session, ctx: audit.Context, *, principal_id: uuid.UUID,
           proxy_record_id: uuid.UUID) -> Proxy:
    """The principal ends a proxy at once (``proxy.revoked``); revoking twice is a no-op."""
    row = session.get(Proxy, proxy_record_id)
    if row is None or row.principal_id != principal_id:
        raise not_found("directory.proxy.not_found", "no such proxy", "id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, "proxy.revoked", ctx, target_type="account",
                     target_id=principal_id,
                     summary={"proxy": str(row.proxy_id), "proxy_record": str(row.id)})
    return row


def listed(session: Session, principal_id: uuid.UUID) -> list[Proxy]:
    """The principal's proxies, newest first (revoked and ended ones included)."""
    return list(session.scalars(select(Proxy).where(Proxy.principal_id == principal_id)
                                .order_by(Proxy.created_at.desc())))


def active_proxy(session: Session, principal_id: uuid.UUID, proxy_id: uuid.UUID,
                 at: dt.datetime | None = None, *, already_acting: bool = False,
                 ) -> tuple[Proxy | None, policy.Decision]:
    """The unrevoked proxy record under which ``proxy_id`` acts for ``principal_id`` at
    ``at``, with the decision (``policies.proxies.check_acting``)."""
    at = at or utcnow()
    principal, proxy = session.get(Account, principal_id), session.get(Account, proxy_id)
    if principal is None or proxy is None:
        return None, policy.Decision(False, "directory.proxy.none")
    rows = session.scalars(select(Proxy).where(
        Proxy.principal_id == principal_id, Proxy.proxy_id == proxy_id,
        Proxy.revoked_at.is_(None), Proxy.starts_at <= at, Proxy.ends_at > at)).all()
    row = rows[0] if rows else session.scalars(select(Proxy).where(
        Proxy.principal_id == principal_id, Proxy.proxy_id == proxy_id)
        .order_by(Proxy.created_at.desc()).limit(1)).first()
    decision = policy.check_acting(party(principal, at), party(proxy, at),
                                   period(row) if row else None, at,
                                   already_acting=already_acting)
    return (row if decision.allowed else None), decision
