"""Authorization code and refresh token grants (authlib does the protocol) over our
storage: a grant family (``OAuthGrant``) per authorization, its single-use code and its
rotating refresh tokens, each stored as a SHA-256 only.

* RFC 7636 with ``S256`` only, required for every client (``plain`` refused, a missing
  ``code_challenge`` refused, a ``code_verifier`` for a code with no challenge refused).
* RFC 6749 §4.1.2: a code is redeemed once, by ``UPDATE … WHERE redeemed_at IS NULL``
  (one row or none, on every worker); a second redemption revokes the grant, so the tokens
  of the first die (refresh refused, access tokens introspect inactive).
* RFC 9700 §4.14.2: refresh tokens rotate; presenting a used one again revokes the grant.
* A grant is alive while not revoked, not past ``expires_at`` (``refresh_token_days``
  after sign-in) and its account is usable (freeze and deactivation revoke it anyway).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple
from typing import cast

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request as flask_request
from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory import accounts
from directory import apps
from directory import audit
from directory.db import Fast
from directory.db import rowcount
from directory.db import utcnow
from directory.models import Account
from directory.models import App
from directory.models import AuthorizationCode
from directory.models import BrowserSession
from directory.models import OAuthGrant
from directory.models import RefreshToken
from idp.config import Settings
from idp.runtime import runtime
from idp.tokens import AccessToken
from policies import apps as app_policy

ALL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def db() -> Session:
    """The request's one unit of work (closed by ``idp.oauth`` at teardown)."""
    if "oauth_session" not in g:  # the lane's own sessions on PostgreSQL, else the app's
        g.oauth_session = (g.get("oauth_sessions") or runtime(current_app).sessions)()
    return g.oauth_session


def settings() -> Settings:
    return runtime(current_app).settings


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def public_sid(session_id: str) -> str:
    """The ``sid`` claim: derived from the session row's id, which is itself the digest
    of the cookie, so neither the cookie nor the row key appears in any token."""
    return hashlib.sha256(f"oidc-sid:{session_id}".encode()).hexdigest()[:32]


@dataclass
class SignIn:
    """Who is signed in at the authorization endpoint (authlib's ``grant_user``)."""

    account: Account
    browser: BrowserSession


class GrantRow(NamedTuple):
    """What the refresh grant reads of a grant family, named as ``OAuthGrant``'s columns."""

    id: uuid.UUID
    client_id: str
    account_id: uuid.UUID
    session_id: str | None
    scope: str
    auth_time: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


Grant = OAuthGrant | GrantRow


@dataclass
class User:
    """authlib's "user": the account and the grant family a token belongs to; after a
    refresh, the refresh token that replaced the one presented (stored already)."""

    account: Account | accounts.AccountRow
    grant: Grant
    amr: tuple[str, ...] = ()
    refresh_token: str | None = None

    def get_user_id(self) -> str:
        return str(self.account.id)


@dataclass
class CodeRecord:
    """An authorization code as authlib sees it (``AuthorizationCodeMixin``)."""

    row: AuthorizationCode
    grant: OAuthGrant

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.grant.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str] | None:
        browser = db().get(BrowserSession, self.grant.session_id or "")
        return browser.amr.split() if browser is not None else None


@dataclass
class RefreshRecord:
    """A presented refresh token with its family, as ``refresh_family`` reads them."""

    token_hash: str
    used_at: dt.datetime | None
    expires_at: dt.datetime
    grant: GrantRow
    account: accounts.AccountRow
    amr: tuple[str, ...] = ()

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.grant.client_id)

    def get_scope(self) -> str:
        return self.grant.scope


# -- storage -------------------------------------------------------------------------


def create_grant(session: Session, config: Settings, *, client_id: str, browser: BrowserSession,
                 scope: str) -> OAuthGrant:
    now = utcnow()
    grant = OAuthGrant(id=uuid.uuid4(), client_id=client_id, account_id=browser.account_id,
                       session_id=browser.id, scope=scope, auth_time=browser.auth_time,
                       created_at=now,
                       expires_at=now + dt.timedelta(days=config.refresh_token_days))
    session.add(grant)
    session.flush()
    return grant


def save_code(session: Session, config: Settings, grant: OAuthGrant, code: str, *,
              redirect_uri: str, nonce: str | None, challenge: str, method: str) -> None:
    session.add(AuthorizationCode(
        code_hash=digest(code), grant_id=grant.id, client_id=grant.client_id,
        redirect_uri=redirect_uri, scope=grant.scope, nonce=nonce, code_challenge=challenge,
        code_challenge_method=method,
        expires_at=utcnow() + dt.timedelta(seconds=config.code_seconds)))
    session.flush()


def revoke_grant(session: Session, grant_id: uuid.UUID, reason: str) -> bool:
    return rowcount(session.execute(
        update(OAuthGrant).where(OAuthGrant.id == grant_id, OAuthGrant.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
        .execution_options(synchronize_session=False))) > 0


def revoke_session_grants(session: Session, session_id: str, reason: str) -> list[str]:
    """Revoke every live grant born of one browser session; returns their client ids."""
    clients = list(session.scalars(select(OAuthGrant.client_id).where(
        OAuthGrant.session_id == session_id, OAuthGrant.revoked_at.is_(None))))
    session.execute(update(OAuthGrant).where(
        OAuthGrant.session_id == session_id, OAuthGrant.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
        .execution_options(synchronize_session=False))
    return sorted(set(clients))


def grant_alive(session: Session, grant: Grant,
                account: Account | accounts.AccountRow | None) -> bool:
    """Not revoked, not expired, its account usable and still allowed this app (a
    temporary account whose listed apps changed loses it at once)."""
    if grant.revoked_at is not None or grant.expires_at <= utcnow():
        return False
    return account is not None and accounts.usable(account) and apps.account_may_use(
        session, account, grant.client_id)


def live_grant(session: Session, grant_id: str | uuid.UUID | None) -> OAuthGrant | None:
    """The grant if it is alive (``grant_alive``)."""
    try:
        key = grant_id if isinstance(grant_id, uuid.UUID) else uuid.UUID(str(grant_id))
    except ValueError:
        return None
    grant = session.get(OAuthGrant, key, populate_existing=True)
    if grant is None:
        return None
    return grant if grant_alive(session, grant, session.get(Account, grant.account_id)) else None


def token_grant(session: Session, token: AccessToken) -> OAuthGrant | None:
    """The live grant behind a user's access token (``grant`` claim), of the same
    account and client, while the client is online; None for anything else."""
    grant = live_grant(session, token.claims.get("grant"))
    if grant is None or str(grant.account_id) != token.subject or (
            grant.client_id != token.client_id):
        return None
    app = apps.by_client_id(session, token.client_id)
    return grant if app is not None and app_policy.may_issue_tokens(app.status.value) else None


def access_token_alive(session: Session, token: AccessToken) -> bool:
    """Introspection's ``active``: a user's token while its grant lives; an app's own
    token (client credentials, no grant) while the app is online."""
    if "grant" in token.claims:
        return token_grant(session, token) is not None
    app = apps.by_client_id(session, token.client_id)
    return (app is not None and app_policy.may_use_client_credentials(app.status.value)
            and token.subject == token.client_id)


# The refresh grant's statements, built once and run on the driver's cursor (``db.Fast``):
# building and keying them, then SQLAlchemy's execution machinery, were most of a
# refresh's CPU (#4).
_TOKENS = cast(Table, RefreshToken.__table__)
_NEW_REFRESH_TOKEN = Fast(insert(_TOKENS).values(
    token_hash=bindparam("new_hash"), grant_id=bindparam("grant_id"),
    created_at=bindparam("now"), expires_at=bindparam("expires_at")))
_FAMILY = (
    select(RefreshToken.used_at, RefreshToken.expires_at,
           *(getattr(OAuthGrant, name) for name in GrantRow._fields),
           *(getattr(Account, name) for name in accounts.AccountRow._fields),
           BrowserSession.amr)
    .join(OAuthGrant, OAuthGrant.id == RefreshToken.grant_id)
    .join(Account, Account.id == OAuthGrant.account_id)
    .outerjoin(BrowserSession, BrowserSession.id == OAuthGrant.session_id)
    .where(RefreshToken.token_hash == bindparam("token_hash")))
_REFRESH_FAMILY = Fast(_FAMILY)
# The token lane's refresh: the client's row and the presented token's family in one
# statement (the family outer-joined, all NULL when there is no such token). The family
# is only looked at after the client authenticated, as ``refresh_family``'s would be.
_FAMILY_ROW = _FAMILY.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL).subquery("family")
_CLIENT_AND_FAMILY = Fast(
    select(*(getattr(App, name) for name in apps.AppRow._fields), *_FAMILY_ROW.c)
    .outerjoin(_FAMILY_ROW, true()).where(App.client_id == bindparam("client_id")))
_GRANT_COLUMNS = slice(2, 2 + len(GrantRow._fields))
_ACCOUNT_COLUMNS = slice(_GRANT_COLUMNS.stop, _GRANT_COLUMNS.stop + len(accounts.AccountRow._fields))
_MARK_USED = (update(_TOKENS)
              .where(_TOKENS.c.token_hash == bindparam("hash"), _TOKENS.c.used_at.is_(None))
              .values(used_at=bindparam("now")))
_USE_REFRESH_TOKEN = Fast(_MARK_USED)
# PostgreSQL: mark the presented token used and store its successor in one statement,
# which autocommits on the token lane's connection (no BEGIN, no COMMIT round trip): the
# successor exists exactly when the UPDATE changed a row.
_USED = _MARK_USED.returning(_TOKENS.c.grant_id).cte("used")
_ROTATE = Fast(insert(_TOKENS).from_select(
    ["token_hash", "grant_id", "created_at", "expires_at"],
    select(bindparam("new_hash", type_=_TOKENS.c.token_hash.type), _USED.c.grant_id,
           bindparam("now", type_=_TOKENS.c.created_at.type),
           bindparam("expires_at", type_=_TOKENS.c.expires_at.type))).add_cte(_USED))


def _refresh_expiry(config: Settings, grant: Grant, now: dt.datetime) -> dt.datetime:
    return min(now + dt.timedelta(days=config.refresh_token_days), grant.expires_at)


def issue_refresh_token(session: Session, config: Settings, grant: Grant) -> str:
    raw, now = secrets.token_urlsafe(32), utcnow()  # 256 bits
    _NEW_REFRESH_TOKEN.run(session, {"new_hash": digest(raw), "grant_id": grant.id,
                                     "now": now, "expires_at": _refresh_expiry(config, grant, now)})
    return raw


def rotate_refresh_token(session: Session, config: Settings, record: RefreshRecord,
                         ) -> str | None:
    """Mark the presented token used, atomically, once, and store its successor; None when
    it was used meanwhile (a parallel use changes no row and stores nothing)."""
    raw, now = secrets.token_urlsafe(32), utcnow()
    params = {"hash": record.token_hash, "now": now, "new_hash": digest(raw),
              "grant_id": record.grant.id, "expires_at": _refresh_expiry(config, record.grant, now)}
    if session.get_bind().dialect.name == "postgresql":
        return raw if _ROTATE.run(session, params) == 1 else None
    if _USE_REFRESH_TOKEN.run(session, params) != 1:
        return None
    _NEW_REFRESH_TOKEN.run(session, params)
    return raw


def _presentable(raw: str) -> bool:
    return 20 <= len(raw) <= 100


def find_refresh_token(session: Session, raw: str) -> RefreshToken | None:
    return session.get(RefreshToken, digest(raw)) if _presentable(raw) else None


def _family(token_hash: str, row: tuple[Any, ...]) -> RefreshRecord:
    amr = row[-1]
    return RefreshRecord(token_hash, row[0], row[1], GrantRow(*row[_GRANT_COLUMNS]),
                         accounts.AccountRow(*row[_ACCOUNT_COLUMNS]),
                         tuple(amr.split()) if amr else ())


def refresh_family(session: Session, raw: str) -> RefreshRecord | None:
    """A refresh token with its grant, account and the browser session's ``amr``, in one
    statement (the refresh grant's only read besides the client)."""
    prefetched = g.pop("refresh_prefetched", None)
    if prefetched is not None and prefetched[0] == raw:
        return cast(RefreshRecord | None, prefetched[1])
    if not _presentable(raw):
        return None
    token_hash = digest(raw)
    row = _REFRESH_FAMILY.first(session, {"token_hash": token_hash})
    return None if row is None else _family(token_hash, row)


def client_prefetching_family(session: Session, client_id: str, raw: str) -> apps.AppRow | None:
    """The client's row (``apps.client_row``), read in one statement with the family of
    the refresh token ``raw`` presented with it, which ``refresh_family`` then returns for
    that token instead of reading it (#4: one statement less a refresh)."""
    if not _presentable(raw):
        return apps.client_row(session, client_id)
    token_hash = digest(raw)
    row = _CLIENT_AND_FAMILY.first(session, {"client_id": client_id, "token_hash": token_hash})
    if row is None:
        return None
    width = len(apps.AppRow._fields)
    family = row[width:]
    found = family[_GRANT_COLUMNS.start] is not None  # the grant's id: NULL, no such token
    g.refresh_prefetched = (raw, _family(token_hash, family) if found else None)
    return apps.AppRow(*row[:width])


def audit_context(client_id: str) -> audit.Context:
    """The client as actor; its address from Flask's request, or from ``g`` where
    ``idp.oauth.TokenLane`` serves the request outside Flask's request context."""
    source_ip = flask_request.remote_addr if has_request_context() else g.get("remote_addr")
    return audit.Context(actor=f"app:{client_id}", source_ip=source_ip,
                         request_id=g.get("request_id"))


def revoke_audited(session: Session, grant_id: uuid.UUID, client_id: str, reason: str) -> None:
    """Revoke a grant family as a security event: code replay, refresh reuse, revocation
    by the client (``oauth.grant_revoked``, hash-chained audit log)."""
    if revoke_grant(session, grant_id, reason):
        audit.record(session, "oauth.grant_revoked", audit_context(client_id),
                     target_type="grant", target_id=grant_id, summary={"reason": reason})


def _replayed(session: Session, grant_id: uuid.UUID, client_id: str,
              reason: str) -> InvalidGrantError:
    """Revoke the family and make that durable even though the request fails: in the
    request's transaction, or in one of its own where the request's session autocommits
    (the token lane's on PostgreSQL; the audit chain's lock needs a transaction)."""
    if session.info.get("autocommit"):
        with runtime(current_app).sessions.begin() as own:
            revoke_audited(own, grant_id, client_id, reason)
    else:
        revoke_audited(session, grant_id, client_id, reason)
        session.commit()
    return InvalidGrantError("The grant was used twice; every token of it is revoked.")


# -- authlib grants ---------------------------------------------------------------------


class S256Challenge(CodeChallenge):
    """RFC 7636 with S256 only, for every client (RFC 9700 §2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required)")
        if data.get("code_challenge_method") != "S256":  # absent means plain (§4.3)
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        code = grant.request.authorization_code
        if not code.code_challenge:  # RFC 9700 §4.8.2: no challenge, no redemption
            raise InvalidRequestError("The code was issued without a 'code_challenge'")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    issued_code: str | None = None

    def generate_authorization_code(self) -> str:
        self.issued_code = str(super().generate_authorization_code())
        return self.issued_code

    def save_authorization_code(self, code: str, request: Any) -> None:
        signin: SignIn = request.user
        data = request.payload.data
        grant = create_grant(db(), settings(), client_id=request.client.get_client_id(),
                             browser=signin.browser, scope=request.scope)
        save_code(db(), settings(), grant, code,
                  redirect_uri=request.payload.redirect_uri, nonce=data.get("nonce"),
                  challenge=data["code_challenge"], method=data["code_challenge_method"])

    def query_authorization_code(self, code: str, client: Any) -> CodeRecord | None:
        session = db()
        row = session.get(AuthorizationCode, digest(code)) if len(code) <= 200 else None
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.redeemed_at is not None:
            raise _replayed(session, row.grant_id, row.client_id, "code_replayed")
        if row.expires_at <= utcnow():
            return None
        grant = session.get(OAuthGrant, row.grant_id)
        return CodeRecord(row, grant) if grant is not None else None

    def authenticate_user(self, authorization_code: CodeRecord) -> User:
        """After every check (client, redirect URI, PKCE): redeem, atomically, once."""
        session, row = db(), authorization_code.row
        redeemed = rowcount(session.execute(
            update(AuthorizationCode).where(AuthorizationCode.code_hash == row.code_hash,
                                            AuthorizationCode.redeemed_at.is_(None))
            .values(redeemed_at=utcnow()).execution_options(synchronize_session=False)))
        if redeemed != 1:
            raise _replayed(session, row.grant_id, row.client_id, "code_replayed")
        grant = live_grant(session, row.grant_id)
        if grant is None:
            raise InvalidGrantError("The grant is no longer valid.")
        account = session.get(Account, grant.account_id)
        assert account is not None  # live_grant checked it
        return User(account, grant, tuple(authorization_code.get_amr() or ()))

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Kept, redeemed, so that a replay is recognised and revokes the grant."""


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
        """One joined read (``refresh_family``); a used token revokes its family."""
        session = db()
        found = refresh_family(session, refresh_token)
        if found is None:
            return None
        if found.used_at is not None:
            raise _replayed(session, found.grant.id, found.grant.client_id, "refresh_reused")
        if found.expires_at <= utcnow() or not grant_alive(session, found.grant,
                                                            found.account):
            return None
        return found

    def authenticate_user(self, refresh_token: RefreshRecord) -> User:
        """Rotate: the token used, atomically, once, and its successor stored
        (``rotate_refresh_token``); a parallel use gets nothing and revokes the family."""
        session, grant = db(), refresh_token.grant
        successor = rotate_refresh_token(session, settings(), refresh_token)
        if successor is None:
            raise _replayed(session, grant.id, grant.client_id, "refresh_reused")
        return User(refresh_token.account, grant, refresh_token.amr, successor)

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        """Already marked used by ``authenticate_user`` (the reuse detector)."""
