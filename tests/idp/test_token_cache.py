"""The token endpoint's fast path (#4 benchmark), with workers kept stateless:

* signing keys are decrypted and imported once per process and ``kid``; a key made by
  another process is found at once (an unknown ``kid`` re-reads the keys);
* a client-credentials token costs at most one read (the client, which a worker keeps on
  PostgreSQL: ``directory.app_cache``) and writes nothing: it is in the structured log
  with the request id and client id, not in the audit chain;
* a refresh costs one read (the client with the presented token's family), one UPDATE and
  one INSERT, committed once — on PostgreSQL the UPDATE and the INSERT are one statement
  that commits by itself; the security events (reuse, revocation) are still audited.
"""

from __future__ import annotations

import base64
import logging

import pytest
from joserfc import jwt
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from directory import apps
from directory.models import AuditEvent
from directory.models import SigningKey
from idp import keys
from idp import tokens
from idp.app import runtime
from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import refresh
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp = flow.rp
OFFLINE = "openid profile offline_access"
CC = {"grant_type": "client_credentials", "scope": "directory"}


@pytest.fixture
def cc_client(world, sessions, ctx) -> dict:
    with sessions.begin() as s:
        app, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="基准应用", scope=("directory",), status="online"))
        raw = base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()
        return {"client_id": app.client_id, "headers": {"Authorization": f"Basic {raw}"}}


class Statements:
    """The SQL statements an app runs (BEGIN, COMMIT and SQLite pragmas aside), on its
    engine and, on PostgreSQL, the token lane's own."""

    def __init__(self, app) -> None:
        lane = app.extensions.get("idp.oauth.lane")
        self.engines = [runtime(app).engine, *([lane.kw["bind"]] if lane else [])]
        self.seen: list[str] = []
        self.texts: list[str] = []

    def __enter__(self) -> Statements:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._add)

    def _add(self, _conn, _cursor, statement: str, *_args) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            self.seen.append(verb)
            self.texts.append(statement)

    def reading(self, table: str) -> int:
        """How many of them read ``table``."""
        return sum(f"FROM {table}" in text for text in self.texts)


def _audit_count(sessions, action: str | None = None) -> int:
    with sessions() as s:
        q = select(func.count()).select_from(AuditEvent)
        if action:
            q = q.where(AuditEvent.action == action)
        return s.scalar(q)


def test_client_credentials_reads_at_most_the_client_and_writes_nothing(
        world, cc_client, sessions, caplog) -> None:
    app, _ = world
    http = app.test_client()
    assert http.post("/oauth/token", data=CC, headers=cc_client["headers"]).status_code == 200
    before = _audit_count(sessions)
    caplog.clear()
    with Statements(app) as sql, caplog.at_level(logging.INFO, "idp.oauth"):
        r = http.post("/oauth/token", data=CC, headers={**cc_client["headers"],
                                                        "X-Request-ID": "bench-request-0001"})
    assert r.status_code == 200, r.get_json()
    # the key comes from the ring; the client from the worker's copy on PostgreSQL
    # (directory.app_cache, tests/idp/test_app_cache.py), from the file on SQLite
    postgresql = runtime(app).engine.dialect.name == "postgresql"
    assert sql.seen == ([] if postgresql else ["SELECT"])
    assert _audit_count(sessions) == before
    issued = [rec for rec in caplog.records if rec.getMessage() == "oauth.token_issued"]
    assert len(issued) == 1
    assert issued[0].request_id == "bench-request-0001"
    assert issued[0].client_id == cc_client["client_id"]
    assert issued[0].grant_type == "client_credentials"
    assert r.get_json()["access_token"] not in caplog.text


def test_signing_key_is_decrypted_once_per_process(world, cc_client, monkeypatch) -> None:
    app, _ = world
    cipher = runtime(app).directory.cipher
    calls = []
    real = type(cipher).decrypt
    monkeypatch.setattr(type(cipher), "decrypt",
                        lambda self, *a, **kw: calls.append(a[1]) or real(self, *a, **kw))
    keys.RING._private.clear()
    http = app.test_client()
    for _ in range(5):
        assert http.post("/oauth/token", data=CC,
                         headers=cc_client["headers"]).status_code == 200
    assert calls.count("signing_keys.private") == 1


def test_a_key_made_by_another_process_verifies_at_once(world, sessions) -> None:
    """The ring's snapshot is cached; a token signed with a kid it has not seen makes it
    re-read the keys, so another worker's new key is never refused."""
    app, _ = world
    rt = runtime(app)
    with rt.sessions() as s:
        tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer, subject="a",
                                 client_id="a", scope="")  # the snapshot is now cached
    new = keys.generate("ES256")
    with sessions.begin() as s:  # as another process would: this ring is not told
        s.add(SigningKey(kid=new.kid, alg="ES256", public_jwk=new.public_jwk,
                         private_enc=rt.directory.cipher.encrypt(new.private_pem,
                                                                 "signing_keys.private")))
    from joserfc.jwk import import_key

    token = jwt.encode({"alg": "ES256", "kid": new.kid, "typ": "at+jwt"},
                       {"iss": rt.settings.issuer, "sub": "a", "client_id": "a",
                        "exp": 2**31, "iat": 1}, import_key(new.private_pem, "EC"))
    with rt.sessions() as s:
        assert tokens.verify_access_token(s, rt.settings.issuer, token).subject == "a"


def test_unknown_kid_is_refused(world) -> None:
    app, _ = world
    rt = runtime(app)
    other = keys.generate("ES256")
    from joserfc.jwk import import_key

    token = jwt.encode({"alg": "ES256", "kid": other.kid, "typ": "at+jwt"},
                       {"iss": rt.settings.issuer, "sub": "a", "exp": 2**31},
                       import_key(other.private_pem, "EC"))
    with rt.sessions() as s, pytest.raises(tokens.InvalidToken):
        tokens.verify_access_token(s, rt.settings.issuer, token)


def test_refresh_is_one_read_then_the_rotation(world, rp, sessions, engine) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, rp, scope=OFFLINE)
    before = _audit_count(sessions)
    with Statements(app) as sql:
        r = refresh(http, rp, first["refresh_token"])
    assert r.status_code == 200, r.get_json()
    if engine.dialect.name == "postgresql":  # WITH used AS (UPDATE …) INSERT …
        assert sql.seen == ["SELECT", "WITH"]  # the client with the family, the rotation
    else:
        assert sql.seen == ["SELECT", "UPDATE", "INSERT"]
    assert refresh(http, rp, r.get_json()["refresh_token"]).status_code == 200
    assert _audit_count(sessions) == before  # rotation is not a security event


def test_refresh_reuse_and_revocation_are_audited(world, rp, sessions) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, rp, scope=OFFLINE)
    second = refresh(http, rp, first["refresh_token"]).get_json()
    assert refresh(http, rp, first["refresh_token"]).status_code == 400
    assert _audit_count(sessions, "oauth.grant_revoked") == 1
    other = tokens_for(http, rp, scope=OFFLINE)
    r = http.post("/oauth/revoke", data={"token": other["refresh_token"]},
                  headers=flow.auth_headers(rp))
    assert r.status_code == 200
    assert _audit_count(sessions, "oauth.grant_revoked") == 2
    assert refresh(http, rp, second["refresh_token"]).status_code == 400


def test_code_redemption_is_still_audited(world, rp, sessions) -> None:
    app, w = world
    tokens_for(signed_in(app, w["clerk_account"]), rp)
    assert _audit_count(sessions, "oauth.token_issued") == 1


def test_the_lane_pool_goes_with_the_app_engine(world, cc_client, engine) -> None:
    """PostgreSQL: the lane's own pool of autocommit connections is disposed with the
    app's engine (no connection left behind by a server or a test that stops)."""
    app, _ = world
    if engine.dialect.name != "postgresql":  # SQLite: one file, one pool, transactions
        assert "idp.oauth.lane" not in app.extensions
        return
    lane = app.extensions["idp.oauth.lane"].kw["bind"]
    assert lane.dialect.name == "postgresql" and lane is not runtime(app).engine
    http = app.test_client()
    assert http.post("/oauth/token", data=CC, headers=cc_client["headers"]).status_code == 200
    assert lane.pool.checkedin() == 1
    with lane.connect() as conn:
        assert conn.connection.dbapi_connection.autocommit is True
    runtime(app).engine.dispose()
    assert lane.pool.checkedin() == 0
