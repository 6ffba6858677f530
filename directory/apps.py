"""Apps in the directory (DOMAIN.md §6, #3): registering one, its directory access (the
subtrees it may read with its own token, hidden nodes granted to it by name, whether it is
the higher-level directory), the apps listed on a temporary account, and each unit's
开放共享范围 (what it shares into the higher-level directory, 001 组织人员规范 §14).

Callers have checked the admin's grant (``policies.delegation``); these functions check the
data and write it in the caller's transaction, with an audit record each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from directory import accounts
from directory import audit
from directory import tree
from directory.db import Fast
from directory.db import utcnow
from directory.errors import conflict
from directory.errors import invalid
from directory.errors import not_found
from directory.models import Account
from directory.models import AccountApp
from directory.models import App
from directory.models import AppDirectoryScope
from directory.models import AppHiddenGrant
from directory.models import AppStatus
from directory.models import Node
from directory.models import NodeStatus
from directory.models import SeenOnce
from directory.queries import path_in_subtree
from policies import apps as app_policy
from policies.accounts import limited_to_listed_apps
from policies.accounts import may_use_app

CLIENT_ID = re.compile(r"^[A-Za-z0-9._~-]{2,64}$")


def register(session: Session, ctx: audit.Context, *, client_id: str, name: str,
             unit_node_id: uuid.UUID | None = None, status: str = "applied") -> App:
    if not CLIENT_ID.match(client_id):
        raise invalid("directory.app.client_id",
                      "client_id is 2 to 64 of A-Z a-z 0-9 . _ ~ -", "client_id")
    if not name.strip() or len(name) > 200:
        raise invalid("directory.app.name", "name is 1 to 200 characters", "name")
    if status not in {s.value for s in AppStatus}:
        raise invalid("directory.app.status", "unknown status", "status")
    if session.scalar(select(App.id).where(App.client_id == client_id)) is not None:
        raise conflict("directory.app.client_id_taken", "client_id is taken", "client_id")
    if unit_node_id is not None:
        tree.get_active(session, unit_node_id, "unit_node_id")
    app = App(client_id=client_id, name=name.strip(), unit_node_id=unit_node_id,
              status=AppStatus(status), directory_upward=False)
    session.add(app)
    session.flush()
    audit.record(session, "app.registered", ctx, target_type="app", target_id=app.id,
                 summary={"client_id": client_id, "name": app.name, "status": status})
    return app


@dataclass(frozen=True)
class ClientSpec:
    """An OAuth client to register: what it may do at the token endpoint."""

    name: str
    grant_types: tuple[str, ...] = ("client_credentials",)
    scope: tuple[str, ...] = ()
    redirect_uris: tuple[str, ...] = ()
    auth_method: str = "client_secret_basic"
    unit_node_id: uuid.UUID | None = None
    status: str = "applied"
    jwks: Any = None  # private_key_jwt: the client's public keys (a JWKS object)
    jwks_uri: str | None = None  # ... or where to fetch them (never both)
    id_token_alg: str = app_policy.DEFAULT_ID_TOKEN_ALG


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(app: App) -> str:
    """A new client secret for ``app``, 256 random bits: kept as its digest, returned to be
    shown once."""
    secret = secrets.token_urlsafe(32)
    app.client_secret_hash = secret_digest(secret)
    return secret


def secret_matches(app: App | AppRow, secret: str) -> bool:
    """Constant-time check of a presented client secret against the stored digest."""
    if app.client_secret_hash is None:
        return False
    return hmac.compare_digest(app.client_secret_hash, secret_digest(secret))


REFUSALS = {
    "public_client_credentials": "a public client cannot use the client credentials grant",
    "public_token_exchange": "a public client cannot use the token exchange grant",
    "redirect_uri_required": "the authorization code grant needs a redirect URI",
    "refresh_without_code": "the refresh token grant needs the authorization code grant",
    "no_grant_type": "a client needs at least one grant type",
    "jwks_required": "a private_key_jwt client registers its public keys (jwks or jwks_uri)",
    "jwks_without_private_key_jwt": "keys are registered only for private_key_jwt",
    "jwks_uri_without_private_key_jwt": "a jwks_uri is registered only for private_key_jwt",
    "jwks_and_jwks_uri": "register jwks or a jwks_uri, never both (RFC 7591 §2)",
    "jwks_uri_invalid": "jwks_uri is an absolute https URL (plain http only to a loopback "
                        "host) of at most 500 characters, without credentials or fragment",
    "auth_method": "token_endpoint_auth_method is client_secret_basic, client_secret_post, "
                   "private_key_jwt or none",
    "auth_method_public": "a public client (none) stays public and a confidential client "
                          "confidential: register a new client instead",
    "jwks_empty": "jwks is an object whose keys list holds at least one key",
    "jwk_not_object": "each key is a JWK object",
    "jwk_private": "register public keys only: a key has private members",
    "jwk_not_for_signing": "each key is for signatures (use sig)",
    "jwk_unsupported": "each key is EC P-256 (ES256) or RSA (RS256, PS256)",
    "jwk_rsa_too_short": f"RSA keys have at least {app_policy.MIN_RSA_BITS} bits",
    "jwks_kid": "with several keys, each has its own kid",
    "jwks_unreadable": "a key does not import",
}


def check_redirect_uri(uri: str) -> None:
    """RFC 6749 §3.1.2: an absolute URI without a fragment; matched later as an exact
    string, so it is stored exactly as given (no normalisation)."""
    parts = urlsplit(uri)
    if (not parts.scheme or parts.fragment or "#" in uri or any(c.isspace() for c in uri)
            or (parts.scheme in ("http", "https") and not parts.hostname)):
        raise invalid("directory.app.redirect_uri",
                      f"redirect URI {uri!r} must be absolute, without a fragment",
                      "redirect_uris")


def check_jwks(jwks: Any) -> str:
    """A private_key_jwt client's keys (``policies.apps.jwks_problem``), proven to import;
    returned as the JSON stored on the app."""
    problem = app_policy.jwks_problem(jwks)
    if problem is None:
        try:
            KeySet.import_key_set(jwks)
        except (JoseError, ValueError, TypeError, KeyError):
            problem = "jwks_unreadable"
    if problem is not None:
        raise invalid(f"directory.app.{problem}", REFUSALS[problem], "jwks")
    return json.dumps(jwks, separators=(",", ":"), sort_keys=True)


def check_jwks_uri(uri: Any) -> str:
    """A private_key_jwt client's ``jwks_uri`` (``policies.apps.jwks_uri_problem``); the keys
    fetched from it pass ``check_jwks`` at each fetch (``idp.jwks_uri``)."""
    problem = app_policy.jwks_uri_problem(uri)
    if problem is not None:
        raise invalid(f"directory.app.{problem}", REFUSALS[problem], "jwks_uri")
    return str(uri)


def check_key_source(auth_method: str, jwks: Any, jwks_uri: Any) -> None:
    problem = app_policy.key_registration_problem(auth_method, jwks is not None,
                                                  jwks_uri is not None)
    if problem is not None:
        field = "jwks_uri" if "uri" in problem else "jwks"
        raise invalid(f"directory.app.{problem}", REFUSALS[problem], field)


def check_id_token_alg(alg: Any) -> str:
    if not isinstance(alg, str) or alg not in app_policy.ID_TOKEN_ALGS:
        raise invalid("directory.app.id_token_alg",
                      f"id_token_signed_response_alg is one of {app_policy.ID_TOKEN_ALGS}",
                      "id_token_signed_response_alg")
    return alg


def _check_client_keys(spec: ClientSpec) -> tuple[str | None, str | None]:
    """(the checked JWKS as stored, the checked jwks_uri)."""
    check_key_source(spec.auth_method, spec.jwks, spec.jwks_uri)
    check_id_token_alg(spec.id_token_alg)
    return (None if spec.jwks is None else check_jwks(spec.jwks),
            None if spec.jwks_uri is None else check_jwks_uri(spec.jwks_uri))


def new_client_id() -> str:
    """144 random bits, URL-safe, never starting with "-" (a client id is an argument of
    `idp client …` commands and of shell scripts, where a leading dash reads as an
    option)."""
    while True:
        client_id = secrets.token_urlsafe(18)
        if not client_id.startswith("-"):
            return client_id


def create_client(session: Session, ctx: audit.Context,
                  spec: ClientSpec) -> tuple[App, str | None]:
    """Register an app as an OAuth client: a random client id and, for a client of a
    secret method, a 256-bit secret returned once and stored only as its digest. A public
    client (auth method ``none``) has no secret and must use PKCE (always required here);
    a private_key_jwt client has no secret either, only its registered public keys."""
    for grant in spec.grant_types:
        if grant not in app_policy.GRANT_TYPES:
            raise invalid("directory.app.grant_type", f"unsupported grant type {grant!r}",
                          "grant_types")
    if spec.auth_method not in app_policy.AUTH_METHODS:
        raise invalid("directory.app.auth_method",
                      f"unsupported token endpoint auth method {spec.auth_method!r}",
                      "token_endpoint_auth_method")
    for word in spec.scope:
        if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", word):  # RFC 6749 §3.3
            raise invalid("directory.app.scope", f"bad scope {word!r}", "scope")
    for uri in spec.redirect_uris:
        check_redirect_uri(uri)
    problem = app_policy.client_problem(frozenset(spec.grant_types), spec.auth_method,
                                        len(spec.redirect_uris))
    if problem is not None:
        raise invalid(f"directory.app.{problem}", REFUSALS[problem], "grant_types")
    jwks, jwks_uri = _check_client_keys(spec)
    app = register(session, ctx, client_id=new_client_id(), name=spec.name,
                   unit_node_id=spec.unit_node_id, status=spec.status)
    secret = new_secret(app) if spec.auth_method in app_policy.SECRET_METHODS else None
    app.token_endpoint_auth_method = spec.auth_method
    app.jwks = jwks
    app.jwks_uri = jwks_uri
    app.id_token_signed_response_alg = spec.id_token_alg
    app.grant_types = " ".join(dict.fromkeys(spec.grant_types))
    app.scope = " ".join(dict.fromkeys(spec.scope))
    app.redirect_uris = "\n".join(dict.fromkeys(spec.redirect_uris))
    session.flush()
    return app, secret


def first_use_of_assertion(session: Session, client_id: str, jti: str,
                           expires_at: dt.datetime) -> bool:
    """RFC 7523 §3 (7): a client assertion's ``jti`` is accepted once, on every worker,
    while an assertion carrying it could be accepted (``expires_at``). One upsert of
    (client, digest of the jti) in the caller's transaction: it inserts the row, or takes
    over a row whose time is past, and otherwise returns nothing (a concurrent insert
    waits for the first to commit, then returns nothing). ``idp.purge`` deletes rows past
    their time."""
    digest = hashlib.sha256(jti.encode()).hexdigest()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = insert(SeenOnce).values(key=f"jti:{client_id}:{digest}", expires_at=expires_at)
    upsert = row.on_conflict_do_update(
        index_elements=[SeenOnce.key], set_={"expires_at": row.excluded.expires_at},
        where=SeenOnce.expires_at < utcnow())
    return session.execute(upsert.returning(SeenOnce.key)).first() is not None


def set_status(session: Session, ctx: audit.Context, app: App, status: str,
               reason: str | None = None) -> App:
    """Move an app along its life; every transition is audited with who and why."""
    if status not in {s.value for s in AppStatus}:
        raise invalid("directory.app.status", "unknown status", "status")
    if not app_policy.may_transition(app.status.value, status):
        raise invalid("directory.app.transition",
                      f"an app cannot go from {app.status.value} to {status}", "status")
    old = app.status.value
    app.status = AppStatus(status)
    session.flush()
    audit.record(session, "app.status", ctx, target_type="app", target_id=app.id,
                 summary={"from": old, "to": status, "reason": reason})
    return app


def by_client_id(session: Session, client_id: str) -> App | None:
    return session.scalar(select(App).where(App.client_id == client_id))


# What the OAuth endpoints read of an app, as a read-only row rather than an entity: an
# ORM load of every column was a third of a client-credentials token's time (#4); run on
# the driver's cursor (``db.Fast``), it is one statement's bare cost.
class AppRow(NamedTuple):
    """An app's OAuth columns, named as ``App``'s (the status an ``AppStatus``)."""

    id: uuid.UUID
    client_id: str
    status: AppStatus
    client_secret_hash: str | None
    token_endpoint_auth_method: str
    grant_types: str
    scope: str
    redirect_uris: str
    jwks: str | None
    jwks_uri: str | None
    id_token_signed_response_alg: str


_CLIENT_ROW = Fast(select(*(getattr(App, name) for name in AppRow._fields)).where(
    App.client_id == bindparam("client_id")))


def client_row(session: Session, client_id: str) -> AppRow | None:
    """The OAuth columns of an app by client id."""
    row = _CLIENT_ROW.first(session, {"client_id": client_id})
    return None if row is None else AppRow(*row)


def get_app(session: Session, client_id: str) -> App:
    app = by_client_id(session, client_id)
    if app is None:
        raise not_found("directory.app.not_found", "no such app")
    return app


def directory_access(session: Session, app: App) -> tuple[list[Node], list[Node]]:
    """(scope nodes, hidden nodes granted by name), each in path order."""
    scopes = session.scalars(select(Node).join(
        AppDirectoryScope, AppDirectoryScope.node_id == Node.id).where(
        AppDirectoryScope.app_id == app.id).order_by(Node.path))
    grants = session.scalars(select(Node).join(
        AppHiddenGrant, AppHiddenGrant.node_id == Node.id).where(
        AppHiddenGrant.app_id == app.id).order_by(Node.path))
    return list(scopes), list(grants)


def set_directory_access(session: Session, ctx: audit.Context, app: App, *,
                         scope_node_ids: list[uuid.UUID], hidden_node_ids: list[uuid.UUID],
                         upward: bool) -> None:
    """Replace the app's directory access. A hidden grant must name a node flagged hidden
    inside or above one of the scopes: a grant elsewhere would be a grant of nothing."""
    scopes = [tree.get_active(session, n, "scope_node_ids") for n in dict.fromkeys(scope_node_ids)]
    grants = [tree.get_active(session, n, "hidden_node_ids")
              for n in dict.fromkeys(hidden_node_ids)]
    for node in grants:
        if not node.hidden:
            raise invalid("directory.app.grant_not_hidden",
                          f"node {node.id} is not hidden", "hidden_node_ids")
        if not any(node.path.startswith(s.path) or s.path.startswith(node.path)
                   for s in scopes):
            raise invalid("directory.app.grant_outside_scope",
                          f"node {node.id} is outside the app's scope", "hidden_node_ids")
    session.execute(delete(AppDirectoryScope).where(AppDirectoryScope.app_id == app.id))
    session.execute(delete(AppHiddenGrant).where(AppHiddenGrant.app_id == app.id))
    session.add_all([AppDirectoryScope(app_id=app.id, node_id=n.id) for n in scopes])
    session.add_all([AppHiddenGrant(app_id=app.id, node_id=n.id) for n in grants])
    app.directory_upward = upward
    session.flush()
    audit.record(session, "app.directory_access", ctx, target_type="app", target_id=app.id,
                 summary={"scopes": [str(n.id) for n in scopes],
                          "hidden_grants": [str(n.id) for n in grants], "upward": upward})


def listed_apps(session: Session, account_id: uuid.UUID) -> list[App]:
    return list(session.scalars(select(App).join(AccountApp, AccountApp.app_id == App.id)
                                .where(AccountApp.account_id == account_id)
                                .order_by(App.client_id)))


def account_may_use(session: Session, account: Account | accounts.AccountRow,
                    client_id: str) -> bool:
    """``policies.accounts.may_use_app`` for a stored account; the listed apps are read only
    for the account types limited to them."""
    listed: frozenset[str] = frozenset()
    if limited_to_listed_apps(account.type.value):
        listed = frozenset(a.client_id for a in listed_apps(session, account.id))
    return may_use_app(account.type.value, listed, client_id)


def set_account_apps(session: Session, ctx: audit.Context, account: Account,
                     client_ids: list[str]) -> list[App]:
    """The apps a temporary account (临时账号) may use: only those."""
    if not limited_to_listed_apps(account.type.value):
        raise invalid("directory.account.apps_not_temporary",
                      "only temporary accounts are limited to listed apps", "client_ids")
    found = []
    for client_id in dict.fromkeys(client_ids):
        app = by_client_id(session, client_id)
        if app is None:
            raise invalid("directory.account.unknown_app", f"no app {client_id!r}",
                          "client_ids")
        found.append(app)
    session.execute(delete(AccountApp).where(AccountApp.account_id == account.id))
    session.add_all([AccountApp(account_id=account.id, app_id=a.id) for a in found])
    session.flush()
    audit.record(session, "account.apps", ctx, target_type="account", target_id=account.id,
                 summary={"client_ids": [a.client_id for a in found]})
    return found


def set_share_upward(session: Session, ctx: audit.Context, node_id: uuid.UUID,
                     share: bool | None) -> Node:
    """开放共享范围: share the node's subtree upward, withhold it, or inherit (None)."""
    node = tree.get_active(session, node_id, "node_id")
    node.share_upward = share
    session.flush()
    audit.record(session, "node.share_upward", ctx, target_type="node", target_id=node.id,
                 summary={"share": share})
    return node


def shared_nodes(session: Session, under: str | None = None) -> list[Node]:
    """Active nodes with an explicit upward-sharing setting, optionally inside a subtree."""
    stmt = select(Node).where(Node.share_upward.is_not(None), Node.status == NodeStatus.ACTIVE)
    if under is not None:
        stmt = stmt.where(path_in_subtree(Node.path, under))
    return list(session.scalars(stmt.order_by(Node.path)))
