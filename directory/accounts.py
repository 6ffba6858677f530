"""Commands on accounts (账号): create, set password, TOTP secret, freeze, unfreeze."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy import event
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory import audit
from directory import passwords
from directory import queries
from directory.db import rowcount
from directory.db import utcnow
from directory.errors import DomainError
from directory.errors import conflict
from directory.errors import invalid
from directory.errors import not_found
from directory.errors import precondition
from directory.identifiers import normalise_mobile
from directory.models import Account
from directory.models import AccountStatus
from directory.models import AccountType
from directory.models import BrowserSession
from directory.models import OAuthGrant
from directory.models import Person
from directory.models import PersonStatus
from directory.passwords import MAX_PASSWORD_LENGTH
from directory.passwords import MIN_PASSWORD_LENGTH
from directory.passwords import hash_password
from directory.passwords import verify_password
from directory.settings import DirectorySettings
from policies.accounts import check_new_account

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def _check_password_shape(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise invalid("directory.account.password_length",
                      f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} "
                      "characters", "password")


def get_account(session: Session, account_id: uuid.UUID) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise not_found("directory.account.not_found", "no such account", "account_id")
    return account


def create(session: Session, settings: DirectorySettings, ctx: audit.Context, *,
           username: str, account_type: str, person_id: uuid.UUID | None = None,
           password: str | None = None, expires_at: dt.datetime | None = None,
           must_change_password: bool = True, password_hash: str | None = None) -> Account:
    """Create an account; ``password_hash`` lets bulk tools reuse one argon2 hash."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise invalid("directory.account.username",
                      "username: 3–64 of a-z 0-9 . _ -, starting with a letter or digit",
                      "username")
    refusal = check_new_account(account_type, expires_at, utcnow(), settings.accounts)
    if refusal is not None:
        raise invalid(refusal.code, refusal.message, refusal.field)
    if queries.account_by_username(session, name) is not None:
        raise conflict("directory.account.username_taken", "username is taken", "username")
    if person_id is not None:
        person = session.get(Person, person_id)
        if person is None or person.status != PersonStatus.ACTIVE:
            raise not_found("directory.person.not_found", "no such active person", "person_id")
        if queries.account_of_person(session, person_id) is not None:
            raise conflict("directory.account.person_has_account",
                           "the person already has an account", "person_id")
    if password is not None:
        _check_password_shape(password)
        password_hash = hash_password(password, settings.passwords)
    account = Account(
        username=name, type=AccountType(account_type), person_id=person_id,
        password_hash=password_hash, expires_at=expires_at,
        password_changed_at=utcnow() if password_hash else None,
        must_change_password=must_change_password,
    )
    session.add(account)
    session.flush()
    audit.record(session, "account.created", ctx, target_type="account", target_id=account.id,
                 summary={"username": name, "type": account_type, "person_id": person_id,
                          "expires_at": expires_at, "password": bool(password_hash)})
    return account


def set_password(session: Session, settings: DirectorySettings, ctx: audit.Context,
                 account_id: uuid.UUID, password: str, *, must_change: bool = False) -> Account:
    account = get_account(session, account_id)
    _check_password_shape(password)
    account.password_hash = hash_password(password, settings.passwords)
    account.password_changed_at = utcnow()
    account.must_change_password = must_change
    session.flush()
    action = "account.password_reset" if must_change else "account.password_changed"
    audit.record(session, action, ctx, target_type="account", target_id=account.id,
                 summary={"password": True})
    return account


def change_own_password(session: Session, settings: DirectorySettings, ctx: audit.Context,
                        account_id: uuid.UUID, password: str) -> Account:
    """A person's own new password (003 §15: changed at first login and periodically): the
    sign-in page's forced change and SCIM ``/Me``. It passes ``passwords.refusal`` and is
    not the current one, else an INVALID error whose code names the rule; then no change
    is required any more. Every browser session and every OAuth grant of the account ends
    (``revoke_everything``, as an administrator's reset does): whoever knew the old
    password, or holds a refresh token obtained with it, is out, in every app (OWASP ASVS
    3.3.3; the apps are told by back-channel logout after the commit)."""
    account = get_account(session, account_id)
    code = passwords.refusal(account.username, password)
    if code is None and check_password(session, settings, account, password):
        code = "idp.password.reused"
    if code is not None:
        raise invalid(code, passwords.RULES[code], "password")
    set_password(session, settings, ctx, account.id, password)
    revoke_everything(session, account.id, "password_changed")
    return account


def set_totp_secret(session: Session, settings: DirectorySettings, ctx: audit.Context,
                    account_id: uuid.UUID, secret: str | None) -> Account:
    account = get_account(session, account_id)
    account.totp_secret_enc = (
        None if secret is None else settings.cipher.encrypt(secret, "accounts.totp_secret"))
    session.flush()
    audit.record(session, "account.totp_set" if secret else "account.totp_cleared", ctx,
                 target_type="account", target_id=account.id, summary={"totp_secret": secret})
    return account


def totp_secret(settings: DirectorySettings, account: Account) -> str | None:
    token = account.totp_secret_enc
    return None if token is None else settings.cipher.decrypt(token, "accounts.totp_secret")


def claim_totp_step(session: Session, account_id: uuid.UUID, step: int) -> bool:
    """Accept TOTP time step ``step`` once (#4): one conditional UPDATE, so two requests
    racing with the same code, on any worker, cannot both win; an older step than the
    last accepted one is refused too."""
    return rowcount(session.execute(
        update(Account).where(Account.id == account_id, or_(
            Account.totp_last_step.is_(None), Account.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))) == 1


def revoke_everything(session: Session, account_id: uuid.UUID,
                      reason: str) -> list[tuple[str, str]]:
    """End every browser session and revoke every OAuth grant of the account, in the
    caller's transaction: its refresh tokens and unredeemed codes die with the grant and
    its access tokens introspect inactive. Returns (client_id, session id) of each grant
    that had a session, for back-channel logout after the commit."""
    now = _end_browser_sessions(session, account_id, reason)
    live = session.execute(select(OAuthGrant.client_id, OAuthGrant.session_id).where(
        OAuthGrant.account_id == account_id, OAuthGrant.revoked_at.is_(None))).all()
    session.execute(update(OAuthGrant).where(
        OAuthGrant.account_id == account_id, OAuthGrant.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
        .execution_options(synchronize_session=False))
    pairs = sorted({(c, sid) for c, sid in live if sid is not None})
    session.info.setdefault(REVOKED_SESSIONS, []).append((account_id, pairs))
    return pairs


def _end_browser_sessions(session: Session, account_id: uuid.UUID,
                          reason: str) -> dt.datetime:
    now = utcnow()
    session.execute(update(BrowserSession).where(
        BrowserSession.account_id == account_id, BrowserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason).execution_options(synchronize_session=False))
    return now


REVOKED_SESSIONS = "revoked_sessions"
Revoked = list[tuple[uuid.UUID, list[tuple[str, str]]]]


def after_commit_revocations(session: Session, callback: Callable[[Revoked], object]) -> None:
    """Call ``callback`` with (account id, [(client id, session id)]) after each commit of
    ``session`` that revoked an account's sessions (freeze, deactivation): the caller tells
    the apps then (back-channel logout), never before the change is durable."""
    @event.listens_for(session, "after_commit")
    def _committed(committed: Session) -> None:
        pending = committed.info.pop(REVOKED_SESSIONS, None)
        if pending:
            callback(pending)

    @event.listens_for(session, "after_rollback")
    def _rolled_back(rolled: Session) -> None:
        rolled.info.pop(REVOKED_SESSIONS, None)


def freeze(session: Session, ctx: audit.Context, account_id: uuid.UUID) -> Account:
    """Freeze (冻结, 000 §17): in the same transaction every session, grant, refresh token
    and unredeemed code of the account dies (``revoke_everything``)."""
    account = get_account(session, account_id)
    if account.status != AccountStatus.ACTIVE:
        raise precondition("directory.account.not_active", "only an active account freezes",
                           "account_id")
    account.status = AccountStatus.FROZEN
    session.flush()
    revoke_everything(session, account.id, "frozen")
    audit.record(session, "account.frozen", ctx, target_type="account", target_id=account.id)
    return account


def unfreeze(session: Session, ctx: audit.Context, account_id: uuid.UUID) -> Account:
    account = get_account(session, account_id)
    if account.status != AccountStatus.FROZEN:
        raise precondition("directory.account.not_frozen", "the account is not frozen",
                           "account_id")
    account.status = AccountStatus.ACTIVE
    session.flush()
    audit.record(session, "account.unfrozen", ctx, target_type="account", target_id=account.id)
    return account


def find_for_login(session: Session, settings: DirectorySettings, login: str) -> Account | None:
    """The account for a username or a mobile number (004 §二.2), or None."""
    text = login.strip()
    account = queries.account_by_username(session, text.lower())
    if account is not None:
        return account
    try:
        mobile = normalise_mobile(text)
    except DomainError:  # not a mobile number: no such account
        return None
    digest = settings.cipher.lookup_hash(mobile, "mobile")
    return session.scalar(
        select(Account).join(Person, Person.id == Account.person_id)
        .where(Person.mobile_hash == digest))


def check_password(session: Session, settings: DirectorySettings, account: Account,
                   password: str) -> bool:
    """True when the password matches; rehashes in place when the parameters changed."""
    if account.password_hash is None:
        return False
    ok, stale = verify_password(account.password_hash, password, settings.passwords)
    if ok and stale:
        account.password_hash = hash_password(password, settings.passwords)
        session.flush()
    return ok


class AccountRow(NamedTuple):
    """What the token endpoint reads of an account (``usable``, ``apps.account_may_use``)
    as a plain row, named as ``Account``'s columns."""

    id: uuid.UUID
    type: AccountType
    status: AccountStatus
    expires_at: dt.datetime | None


def usable(account: Account | AccountRow, now: dt.datetime | None = None) -> bool:
    """Active and, for temporary accounts, not past expiry."""
    now = now or utcnow()
    if account.status != AccountStatus.ACTIVE:
        return False
    return account.expires_at is None or account.expires_at > now


def expire_overdue(session: Session, ctx: audit.Context, now: dt.datetime | None = None) -> int:
    """Mark active accounts past their expiry as expired (one audit record each)."""
    now = now or utcnow()
    overdue = session.scalars(select(Account).where(
        Account.status == AccountStatus.ACTIVE, Account.expires_at.is_not(None),
        Account.expires_at <= now)).all()
    for account in overdue:
        account.status = AccountStatus.EXPIRED
        session.flush()
        audit.record(session, "account.expired", ctx, target_type="account",
                     target_id=account.id, summary={"expires_at": account.expires_at})
    return len(overdue)
