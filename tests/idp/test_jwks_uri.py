"""private_key_jwt with a ``jwks_uri`` (RFC 7591 §2): the client serves its public keys, the
server fetches them (plain http only because the host is loopback) and caches them in the
database for every worker; a rotation at the URI is picked up through the unknown kid, at
most one refetch a minute; a fetch that fails, is too large, redirects or is not a JWKS is
``invalid_client``, never a 500, and logs no secret. The key server is a real
``http.server`` on 127.0.0.1 in a thread."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey
from sqlalchemy import select

from directory import apps
from directory.errors import DomainError
from directory.models import App
from directory.models import AuditEvent
from directory.models import JwksUriCache
from idp import create_app
from idp import jwks_uri
from idp.app import runtime
from tests.idp.support import run
from tests.idp.test_oidc_flow import RP_REDIRECT
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import pkce
from tests.idp.test_oidc_flow import query
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_private_key_jwt import ASSERTION_TYPE
from tests.idp.test_private_key_jwt import assertion
from tests.idp.test_private_key_jwt import cc
from tests.idp.test_private_key_jwt import public_jwks

OLD = ECKey.generate_key("P-256", parameters={"kid": "old"})
NEW = RSAKey.generate_key(2048, parameters={"kid": "new"})
Reply = tuple[int, dict[str, str], bytes]


class KeyServer:
    """Answers GETs from a table of path → reply (or a function of the handler that
    writes the reply itself), counting the requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[BaseHTTPRequestHandler], None]] = {}
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                owner.hits[path] += 1
                route = owner.routes.get(path, (404, {}, b"not here"))
                if callable(route):
                    route(self)
                    return
                status, headers, body = route
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def url(self, path: str = "/jwks.json") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, *keys: Any, path: str = "/jwks.json") -> None:
        self.routes[path] = (200, {"Content-Type": "application/jwk-set+json"},
                             json.dumps(public_jwks(*keys)).encode())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def keys_at() -> Iterator[KeyServer]:
    server = KeyServer()
    server.serve(OLD)
    yield server
    server.close()


def register(sessions, ctx, uri: str) -> str:
    with sessions.begin() as s:
        app, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="统一门户", grant_types=("client_credentials", "authorization_code"),
            scope=("directory", "openid"), redirect_uris=(RP_REDIRECT,),
            auth_method="private_key_jwt", jwks_uri=uri))
        assert secret is None
        for step in ("approved", "testing", "online"):
            apps.set_status(s, ctx, app, step, reason="test")
        return app.client_id


@pytest.fixture
def client(world, sessions, ctx, keys_at) -> str:
    return register(sessions, ctx, keys_at.url())


def outcome(http, client_id: str, key: Any = OLD) -> str:
    """"ok", or the token endpoint's error code (a 500 would fail the test here)."""
    r = cc(http, assertion(client_id, key, "ES256" if key is OLD else "RS256"))
    assert r.status_code in (200, 400, 401), r.status_code
    return "ok" if r.status_code == 200 else r.get_json()["error"]


def age(sessions, client_id: str, seconds: float) -> None:
    """Move the cache's clock back: as if it had been fetched (and tried) that long ago."""
    back = dt.timedelta(seconds=seconds)
    with sessions.begin() as s:
        app_id = s.scalar(select(App.id).where(App.client_id == client_id))
        for row in s.scalars(select(JwksUriCache).where(JwksUriCache.app_id == app_id)):
            row.attempted_at -= back
            if row.fetched_at is not None:
                row.fetched_at -= back


def cache_row(sessions, client_id: str) -> JwksUriCache | None:
    with sessions() as s:
        app_id = s.scalar(select(App.id).where(App.client_id == client_id))
        return s.scalar(select(JwksUriCache).where(JwksUriCache.app_id == app_id))


# -- sign-in -------------------------------------------------------------------------


def test_client_credentials_with_keys_fetched_once(world, client, keys_at, sessions) -> None:
    app, _ = world
    http = app.test_client()
    assert outcome(http, client) == "ok"
    assert outcome(http, client) == "ok"
    assert keys_at.hits["/jwks.json"] == 1  # the second used the cache
    row = cache_row(sessions, client)
    assert row is not None and row.failure is None and json.loads(row.jwks) == public_jwks(OLD)


def test_code_flow_with_an_assertion(world, client, keys_at) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    verifier, challenge = pkce()
    rp = {"client_id": client, "redirect_uri": RP_REDIRECT, "public": False}
    code = query(authorize(http, rp, challenge=challenge, scope="openid"))["code"]
    r = http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": RP_REDIRECT,
        "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(client, OLD)})
    assert r.status_code == 200 and "id_token" in r.get_json(), r.get_json()


def test_rotation_at_the_uri_is_picked_up_by_the_unknown_kid(world, client, keys_at,
                                                             sessions) -> None:
    app, _ = world
    http = app.test_client()
    assert outcome(http, client, OLD) == "ok"
    keys_at.serve(NEW)  # the client rotates: its URI now serves the new key alone
    assert outcome(http, client, OLD) == "ok"  # cached, fresh: no refetch for a known kid
    assert keys_at.hits["/jwks.json"] == 1
    age(sessions, client, jwks_uri.REFETCH_INTERVAL.total_seconds())  # past the rate limit
    assert outcome(http, client, NEW) == "ok"  # "new" is unknown: fetched again
    assert keys_at.hits["/jwks.json"] == 2
    assert outcome(http, client, OLD) == "invalid_client"  # gone, and no refetch yet
    assert keys_at.hits["/jwks.json"] == 2
    with sessions() as s:
        fetched = s.scalars(select(AuditEvent.summary).where(
            AuditEvent.action == "app.client_keys_fetched").order_by(AuditEvent.seq)).all()
    assert [json.loads(f)["kids"] for f in fetched] == [["old"], ["new"]]


def test_unknown_kids_refetch_at_most_once_a_minute(world, client, keys_at, sessions) -> None:
    app, _ = world
    http = app.test_client()
    assert outcome(http, client, OLD) == "ok"
    age(sessions, client, 30)
    assert outcome(http, client, NEW) == "invalid_client"
    assert keys_at.hits["/jwks.json"] == 1  # the first fetch was 30 s ago: none yet
    age(sessions, client, 30)
    for _ in range(3):
        assert outcome(http, client, NEW) == "invalid_client"
    assert keys_at.hits["/jwks.json"] == 2  # one refetch for the unknown kid, then none
    age(sessions, client, jwks_uri.REFETCH_INTERVAL.total_seconds())
    keys_at.serve(OLD, NEW)
    assert outcome(http, client, NEW) == "ok"
    assert keys_at.hits["/jwks.json"] == 3


def test_a_set_past_its_ttl_is_fetched_again(world, client, keys_at, sessions) -> None:
    app, _ = world
    http = app.test_client()
    assert outcome(http, client) == "ok"
    age(sessions, client, jwks_uri.TTL.total_seconds() - 5)
    assert outcome(http, client) == "ok" and keys_at.hits["/jwks.json"] == 1
    age(sessions, client, 10)
    assert outcome(http, client) == "ok" and keys_at.hits["/jwks.json"] == 2


def test_stale_keys_serve_for_a_grace_while_the_uri_fails(world, client, keys_at,
                                                          sessions) -> None:
    app, _ = world
    http = app.test_client()
    assert outcome(http, client) == "ok"
    keys_at.routes["/jwks.json"] = (503, {}, b"down")
    age(sessions, client, jwks_uri.TTL.total_seconds() + 5)
    assert outcome(http, client) == "ok"  # refetch failed; the set is 5 s past its TTL
    assert keys_at.hits["/jwks.json"] == 2 and cache_row(sessions, client).failure == "status_503"
    age(sessions, client, jwks_uri.STALE_GRACE.total_seconds())
    assert outcome(http, client) == "invalid_client"
    assert keys_at.hits["/jwks.json"] == 3


def test_cache_is_shared_by_two_app_instances(world, client, keys_at, settings,
                                              sessions) -> None:
    """Two workers share only the database: the second fetches nothing."""
    app, _ = world
    other = create_app(settings)
    try:
        assert outcome(app.test_client(), client) == "ok"
        assert outcome(other.test_client(), client) == "ok"
        assert keys_at.hits["/jwks.json"] == 1
        keys_at.serve(NEW)
        age(sessions, client, jwks_uri.REFETCH_INTERVAL.total_seconds())
        assert outcome(other.test_client(), client, NEW) == "ok"  # the second refetches
        assert outcome(app.test_client(), client, NEW) == "ok"  # the first reads its fetch
        assert keys_at.hits["/jwks.json"] == 2
    finally:
        runtime(other).engine.dispose()


def test_concurrent_first_use_fetches_once(world, client, keys_at, settings) -> None:
    """Six requests at once over two instances: one fetch (the claim is in the database);
    a request that loses the claim before any set is cached is refused, not blocked."""
    app, _ = world
    other = create_app(settings)
    barrier = threading.Barrier(6)

    def attempt(i: int) -> str:
        http = (app if i % 2 else other).test_client()
        token = assertion(client, OLD)
        barrier.wait()
        r = cc(http, token)
        return "ok" if r.status_code == 200 else r.get_json()["error"]

    try:
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(attempt, range(6)))
    finally:
        runtime(other).engine.dispose()
    assert keys_at.hits["/jwks.json"] == 1
    assert "ok" in results and set(results) <= {"ok", "invalid_client"}, results


# -- refusals --------------------------------------------------------------------------


def _slow(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then the body a byte every 50 ms: each read is quick, the whole
    is not."""
    body = json.dumps(public_jwks(OLD)).encode()
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)
    except OSError:
        pass  # the server gave up on us: that is the point


def _unsized(size: int) -> Callable[[BaseHTTPRequestHandler], None]:
    """An HTTP/1.0 answer without Content-Length: the body ends when the socket closes."""
    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.protocol_version = "HTTP/1.0"
        handler.send_response(200)
        handler.end_headers()
        try:
            handler.wfile.write(b" " * size + json.dumps(public_jwks(OLD)).encode())
        except OSError:
            pass
    return reply


BIG = json.dumps({"keys": [dict(OLD.as_dict(private=False))],
                  "padding": "x" * jwks_uri.MAX_BYTES}).encode()
FAILURES: dict[str, tuple[Any, str]] = {
    "server-error": ((500, {}, b"oops"), "status_500"),
    "not-found": ((404, {}, b""), "status_404"),
    "not-json": ((200, {"Content-Type": "text/html"}, b"<html>keys</html>"), "not_json"),
    "not-utf8": ((200, {}, b"\xff\xfe{}"), "not_json"),
    "oversize": ((200, {}, BIG), "too_large"),
    "oversize-unsized": (_unsized(jwks_uri.MAX_BYTES + 1), "too_large"),
    "gzip": ((200, {"Content-Encoding": "gzip"}, b"\x1f\x8b"), "content_encoding"),
    "private-key": ((200, {}, json.dumps({"keys": [dict(OLD.as_dict(private=True))]}).encode()),
                    "jwk_private"),
    "no-keys": ((200, {}, b'{"keys": []}'), "jwks_empty"),
    "redirect": ((302, {"Location": "/elsewhere.json"}, b""), "redirect"),
    "slow": (_slow, "timeout"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failed_fetch_is_invalid_client_and_logs_no_secret(
        world, sessions, ctx, keys_at, monkeypatch, caplog, case) -> None:
    app, _ = world
    monkeypatch.setattr(jwks_uri, "TIMEOUT_SECONDS", 0.5)
    route, reason = FAILURES[case]
    keys_at.routes["/jwks.json"] = route
    keys_at.serve(OLD, path="/elsewhere.json")
    client_id = register(sessions, ctx, keys_at.url("/jwks.json?access=s3cret-in-query"))
    with caplog.at_level(logging.DEBUG):
        assert outcome(app.test_client(), client_id) == "invalid_client"
    assert keys_at.hits["/elsewhere.json"] == 0  # a redirect is never followed
    assert cache_row(sessions, client_id).failure == reason
    failed = [r for r in caplog.records if r.getMessage() == "oauth.jwks_uri_fetch_failed"]
    assert [(r.client_id, r.host, r.reason) for r in failed] == [
        (client_id, "127.0.0.1", reason)]
    logged = json.dumps([vars(r) for r in caplog.records], default=str)
    assert "s3cret" not in logged and OLD.as_dict(private=True)["d"] not in logged


def test_a_closed_port_is_invalid_client(world, sessions, ctx) -> None:
    app, _ = world
    gone = KeyServer()
    uri = gone.url()
    gone.close()
    client_id = register(sessions, ctx, uri)
    assert outcome(app.test_client(), client_id) == "invalid_client"
    assert cache_row(sessions, client_id).failure == "ConnectError"


@pytest.mark.parametrize("uri", ["http://rp.example.gov.cn/jwks.json", "ftp://127.0.0.1/jwks",
                                 "file:///etc/passwd"])
def test_fetch_refuses_plain_http_off_loopback_before_connecting(uri) -> None:
    with pytest.raises(jwks_uri.FetchFailed) as refused:
        jwks_uri.fetch(uri)
    assert refused.value.reason == "insecure_uri"


# -- registration: CLI, domain, admin API ----------------------------------------------


@pytest.mark.parametrize("uri,code", [
    ("http://rp.example.gov.cn/jwks.json", "jwks_uri_invalid"),
    ("https://user:pw@rp.example.gov.cn/jwks.json", "jwks_uri_invalid"),
    ("https://rp.example.gov.cn/jwks.json#k", "jwks_uri_invalid"),
    ("https://rp.example.gov.cn/" + "a" * 500, "jwks_uri_invalid"),
    ("/jwks.json", "jwks_uri_invalid"),
], ids=["plain-http", "credentials", "fragment", "too-long", "relative"])
def test_registration_refuses_bad_uris(world, sessions, ctx, uri, code) -> None:
    with sessions.begin() as s, pytest.raises(DomainError) as refused:
        apps.create_client(s, ctx, apps.ClientSpec(
            name="x", auth_method="private_key_jwt", jwks_uri=uri))
    assert refused.value.code == f"directory.app.{code}" and refused.value.field == "jwks_uri"


@pytest.mark.parametrize("spec,code", [
    ({"auth_method": "private_key_jwt", "jwks": public_jwks(OLD),
      "jwks_uri": "https://rp.example.gov.cn/jwks.json"}, "jwks_and_jwks_uri"),
    ({"auth_method": "client_secret_basic", "jwks_uri": "https://rp.example.gov.cn/jwks.json"},
     "jwks_uri_without_private_key_jwt"),
], ids=["both", "secret-client"])
def test_registration_refuses_a_uri_with_keys_or_without_private_key_jwt(
        world, sessions, ctx, spec, code) -> None:
    with sessions.begin() as s, pytest.raises(DomainError) as refused:
        apps.create_client(s, ctx, apps.ClientSpec(name="x", **spec))
    assert refused.value.code == f"directory.app.{code}"


def test_cli_create_and_set_keys_with_a_jwks_uri(cli_env, sessions) -> None:
    assert run(cli_env, "init").exit_code == 0
    made = run(cli_env, "client", "create", "--name", "统一门户", "--scope", "directory",
               "--auth-method", "private_key_jwt", "--jwks-uri",
               "https://rp.example.gov.cn/jwks.json", "--json")
    assert made.exit_code == 0, made.output
    out = json.loads(made.output)
    assert out["jwks_uri"] == "https://rp.example.gov.cn/jwks.json" and "jwks" not in out
    assert "client_secret" not in out
    client_id = out["client_id"]
    moved = run(cli_env, "client", "set-keys", client_id, "--jwks-uri",
                "https://keys.example.gov.cn/rp.json")
    assert moved.exit_code == 0, moved.output
    inline = run(cli_env, "client", "set-keys", client_id, "--jwks",
                 json.dumps(public_jwks(OLD)))
    assert inline.exit_code == 0, inline.output
    with sessions() as s:
        app = s.scalar(select(App).where(App.client_id == client_id))
        assert app.jwks_uri is None and json.loads(app.jwks) == public_jwks(OLD)
        summaries = [json.loads(e) for e in s.scalars(select(AuditEvent.summary).where(
            AuditEvent.action == "app.client_keys_set").order_by(AuditEvent.seq))]
    assert summaries == [{"jwks_uri": "https://keys.example.gov.cn/rp.json"},
                         {"jwks_uri": None, "kids": ["old"]}]
    for args, word in ((("--jwks-uri", "http://rp.example.gov.cn/jwks.json"), "https"),
                       (("--jwks-uri", "https://rp.example.gov.cn/k",
                         "--jwks", json.dumps(public_jwks(OLD))), "never both")):
        r = run(cli_env, "client", "set-keys", client_id, *args)
        assert r.exit_code != 0 and word in r.output, r.output
    r = run(cli_env, "client", "create", "--name", "x", "--scope", "directory",
            "--auth-method", "private_key_jwt", "--jwks-uri", "http://rp.example.gov.cn/k")
    assert r.exit_code != 0 and "jwks_uri" in r.output


def test_admin_api_shows_what_was_fetched(world, client, keys_at, dsettings, sessions,
                                          ctx) -> None:
    from directory import accounts
    from tests.idp.support import bearer

    app, _ = world
    with sessions.begin() as s:
        boss = accounts.create(s, dsettings, ctx, username="boss", account_type="system_admin")
    headers = bearer(app, boss.id)
    http = app.test_client()
    before = http.get(f"/api/v1/admin/apps/{client}", headers=headers).get_json()
    assert before["jwks_uri"] == keys_at.url() and before["jwks"] is None
    assert before["jwks_uri_fetch"] is None
    assert outcome(http, client) == "ok"
    body = http.get(f"/api/v1/admin/apps/{client}", headers=headers).get_json()
    assert body["jwks_uri_fetch"]["kids"] == ["old"] and body["jwks_uri_fetch"]["failure"] is None
    assert body["jwks_uri_fetch"]["fetched_at"] is not None
    # a new URI: the cache of the old one is dropped, the next assertion fetches the new one
    keys_at.serve(NEW, path="/v2.json")
    r = http.put(f"/api/v1/admin/apps/{client}", headers=headers,
                 json={**body, "jwks_uri": keys_at.url("/v2.json")})
    assert r.status_code == 200 and r.get_json()["jwks_uri_fetch"] is None, r.get_json()
    assert outcome(http, client, NEW) == "ok" and keys_at.hits["/v2.json"] == 1
