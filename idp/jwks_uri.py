"""A private_key_jwt client's keys fetched from its ``jwks_uri`` (RFC 7591 §2, as Keycloak
and node-oidc-provider support it), for ``idp.client_assertion``:

* the fetch: a GET with httpx, https only (plain http to a loopback host only,
  ``policies.transport``, the issuer's rule), ``TIMEOUT_SECONDS`` for the whole exchange,
  at most ``MAX_BYTES``, no content coding, no redirect followed, status 200, a JSON key
  set that passes the registration checks (``directory.apps.check_jwks``);
* the cache: in the database (``directory.jwks_cache``), shared by every worker. A set
  fetched less than ``TTL`` ago is used as it is; an older one, or one without the kid an
  assertion names (the client rotated its key), is fetched again, by one worker at most
  once per ``REFETCH_INTERVAL`` per client (the claim is an upsert in the database);
* while that refetch is another worker's, or failed, the set last fetched serves for
  ``STALE_GRACE`` past its ``TTL`` and no longer; without a usable set the assertion is
  ``invalid_client``. A failure is logged with the client, the host and a reason code:
  never a body, a query string or a key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory import apps
from directory import audit
from directory import jwks_cache
from directory.apps import AppRow
from directory.db import utcnow
from directory.errors import DomainError
from directory.models import App
from policies.transport import https_or_loopback

log = logging.getLogger("idp.jwks_uri")
TTL = dt.timedelta(minutes=5)
REFETCH_INTERVAL = dt.timedelta(seconds=60)
STALE_GRACE = REFETCH_INTERVAL  # a refetch's chance to land before a stale set is refused
TIMEOUT_SECONDS = 3.0
MAX_BYTES = 64 * 1024
ACCEPT = "application/jwk-set+json, application/json;q=0.9"


class FetchFailed(Exception):
    """The key set could not be had; ``reason`` is a short code fit for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _body(response: httpx.Response, deadline: float) -> Iterator[bytes]:
    """The raw body in chunks, within the deadline: a slow trickle is a timeout."""
    for chunk in response.iter_raw():
        if time.monotonic() > deadline:
            raise FetchFailed("timeout")
        yield chunk


def _read(response: httpx.Response, deadline: float) -> bytes:
    if response.is_redirect:
        raise FetchFailed("redirect")
    if response.status_code != 200:
        raise FetchFailed(f"status_{response.status_code}")
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        raise FetchFailed("content_encoding")  # asked for identity: no bomb to inflate
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise FetchFailed("too_large")
    body = bytearray()
    for chunk in _body(response, deadline):
        body += chunk
        if len(body) > MAX_BYTES:
            raise FetchFailed("too_large")
    return bytes(body)


def fetch(uri: str) -> str:
    """GET the client's key set; returns it checked, as stored (``apps.check_jwks``)."""
    if not https_or_loopback(uri):
        raise FetchFailed("insecure_uri")
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        # the system's trust store (and SSL_CERT_FILE), as for every other TLS peer
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False,
                          verify=ssl.create_default_context()) as http, http.stream(
                "GET", uri, headers={"Accept": ACCEPT, "Accept-Encoding": "identity"}
        ) as response:
            raw = _read(response, deadline)
    except httpx.TimeoutException as exc:
        raise FetchFailed("timeout") from exc
    except (httpx.HTTPError, OSError, ValueError) as exc:  # refused, TLS, DNS, bad URL
        raise FetchFailed(type(exc).__name__) from exc
    try:
        jwks = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one
        raise FetchFailed("not_json") from exc
    try:
        return apps.check_jwks(jwks)
    except DomainError as exc:
        raise FetchFailed(exc.code.rsplit(".", 1)[-1]) from exc


def _fresh(cached: jwks_cache.Cached | None, now: dt.datetime) -> bool:
    return cached is not None and cached.fetched_at is not None and now - cached.fetched_at < TTL


def _usable(cached: jwks_cache.Cached | None, now: dt.datetime) -> dict[str, Any] | None:
    if cached is None or cached.fetched_at is None or now - cached.fetched_at >= TTL + STALE_GRACE:
        return None
    return cached.jwks


def _wants_fetch(cached: jwks_cache.Cached | None, kid: Any, now: dt.datetime) -> bool:
    """No set, a set past its TTL, or a set without the assertion's kid."""
    if not _fresh(cached, now):
        return True
    assert cached is not None
    return isinstance(kid, str) and kid not in cached.kids


def _refetch(sessions: sessionmaker[Session], app: App | AppRow, ctx: audit.Context,
             now: dt.datetime) -> dict[str, Any] | None:
    """Claim the fetch, fetch and store, each write its own short transaction (no lock is
    held over the network); None if the claim went elsewhere or the fetch failed."""
    uri = app.jwks_uri
    assert uri is not None
    with sessions.begin() as session:
        if not jwks_cache.claim(session, app.id, uri, now, REFETCH_INTERVAL):
            return None
    try:
        jwks = fetch(uri)
    except Exception as exc:  # noqa: BLE001 - a failed fetch is invalid_client, never a 500
        reason = exc.reason if isinstance(exc, FetchFailed) else type(exc).__name__
        log.warning("oauth.jwks_uri_fetch_failed", extra={
            "client_id": app.client_id, "host": urlsplit(uri).hostname, "reason": reason,
            "request_id": ctx.request_id})
        with sessions.begin() as session:
            jwks_cache.failed(session, app.id, uri, reason)
        return None
    with sessions.begin() as session:
        jwks_cache.store(session, ctx, app.id, uri, jwks)
    log.info("oauth.jwks_uri_fetched", extra={"client_id": app.client_id,
                                              "request_id": ctx.request_id})
    loaded: dict[str, Any] = json.loads(jwks)
    return loaded


def key_set(session: Session, sessions: sessionmaker[Session], app: App | AppRow, kid: Any,
            ctx: audit.Context) -> KeySet | None:
    """The client's keys to verify an assertion naming ``kid``, or None (``invalid_client``).
    ``session`` is the request's: read from, and committed before a refetch so that its
    transaction (on SQLite, the database's write lock) is not held over the network."""
    assert app.jwks_uri is not None
    now = utcnow()
    cached = jwks_cache.get(session, app.id, app.jwks_uri)
    keys: Any = _usable(cached, now)
    if _wants_fetch(cached, kid, now):
        session.commit()
        keys = _refetch(sessions, app, ctx, now) or keys
    return None if keys is None else KeySet.import_key_set(keys)
