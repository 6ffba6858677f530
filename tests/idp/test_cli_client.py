"""`idp client create|list|set-state`: the operator registers an app, gets its secret once,
and moves it along its life; the app then obtains a token with that secret."""

from __future__ import annotations

import base64
import json

from sqlalchemy import select

from directory.models import App
from directory.models import AuditEvent
from idp import config
from idp import create_app
from idp.app import runtime
from tests.idp.support import run


def test_create_then_token(cli_env, sessions, monkeypatch) -> None:
    assert run(cli_env, "init").exit_code == 0
    assert run(cli_env, "demo").exit_code == 0
    r = run(cli_env, "client", "create", "--name", "人事系统", "--scope", "directory",
            "--state", "online", "--node", "QP-ZJD-XY", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["status"] == "online" and out["grant_types"] == ["client_credentials"]
    with sessions() as s:
        app = s.scalar(select(App).where(App.client_id == out["client_id"]))
        assert app is not None and app.client_secret_hash != out["client_secret"]
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "app.registered")
                        ).startswith("cli:")
    listed = run(cli_env, "client", "list")
    assert out["client_id"] in listed.output and "online" in listed.output
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    web = create_app(config.load())
    try:
        _token_then_offline(cli_env, web, out)
    finally:
        runtime(web).engine.dispose()


def _token_then_offline(cli_env, web, out) -> None:
    raw = base64.b64encode(f"{out['client_id']}:{out['client_secret']}".encode()).decode()
    token = web.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                   headers={"Authorization": f"Basic {raw}"})
    assert token.status_code == 200, token.get_json()
    me = web.test_client().get("/api/v1/me", headers={
        "Authorization": f"Bearer {token.get_json()['access_token']}"}).get_json()
    assert [n["code"] for n in me["nodes"]] == ["QP-ZJD-XY"]
    assert run(cli_env, "client", "set-state", out["client_id"], "offline",
               "--reason", "升级维护").exit_code == 0
    refused = web.test_client().post("/oauth/token",
                                     data={"grant_type": "client_credentials"},
                                     headers={"Authorization": f"Basic {raw}"})
    assert refused.status_code == 401
    bad = run(cli_env, "client", "set-state", out["client_id"], "testing")
    assert bad.exit_code != 0 and "cannot go from offline to testing" in bad.output


def test_create_refusals(cli_env) -> None:
    assert run(cli_env, "init").exit_code == 0
    r = run(cli_env, "client", "create", "--name", "x", "--grant-type", "password")
    assert r.exit_code != 0 and "grant_types" in r.output
    r = run(cli_env, "client", "create", "--name", "x", "--public")
    assert r.exit_code != 0 and "public clients" in r.output
    r = run(cli_env, "client", "create", "--name", "x", "--node", "NOPE")
    assert r.exit_code != 0 and "--node" in r.output


def test_private_key_jwt_client_from_a_jwks_file(cli_env, tmp_path, monkeypatch) -> None:
    """`--auth-method private_key_jwt --jwks-file`: no secret, the keys are the credential;
    `--id-token-alg RS256` is kept for the client's ID tokens."""
    import time
    import uuid

    from joserfc import jwt
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [dict(key.as_dict(private=False))]}))
    assert run(cli_env, "init").exit_code == 0
    r = run(cli_env, "client", "create", "--name", "票据系统", "--scope", "directory",
            "--state", "online", "--auth-method", "private_key_jwt", "--jwks-file",
            str(path), "--id-token-alg", "RS256", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert "client_secret" not in out and out["token_endpoint_auth_method"] == "private_key_jwt"
    assert out["id_token_signed_response_alg"] == "RS256"
    assert out["jwks"]["keys"][0]["kid"] == "k1"
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    web = create_app(config.load())
    try:
        now = int(time.time())
        assertion = jwt.encode({"alg": "ES256", "kid": "k1"}, {
            "iss": out["client_id"], "sub": out["client_id"], "jti": str(uuid.uuid4()),
            "aud": runtime(web).settings.issuer, "exp": now + 60}, key)
        token = web.test_client().post("/oauth/token", data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion})
        assert token.status_code == 200, token.get_json()
    finally:
        runtime(web).engine.dispose()


def test_private_key_jwt_refusals(cli_env) -> None:
    assert run(cli_env, "init").exit_code == 0
    r = run(cli_env, "client", "create", "--name", "x", "--auth-method", "private_key_jwt")
    assert r.exit_code != 0 and "jwks" in r.output
    r = run(cli_env, "client", "create", "--name", "x", "--auth-method", "private_key_jwt",
            "--jwks", "{not json")
    assert r.exit_code != 0 and "--jwks" in r.output
    r = run(cli_env, "client", "create", "--name", "x", "--auth-method", "private_key_jwt",
            "--jwks", json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    assert r.exit_code != 0 and "private members" in r.output
    r = run(cli_env, "client", "create", "--name", "x", "--id-token-alg", "HS256")
    assert r.exit_code != 0


def test_set_keys_rotates_a_private_key_jwt_clients_key(cli_env, monkeypatch) -> None:
    """`idp client set-keys`: the client registers old and new keys, then the new alone;
    an assertion signed with the dropped key is refused from then on. Audited by kid."""
    import time
    import uuid

    from joserfc import jwt
    from joserfc.jwk import ECKey

    old = ECKey.generate_key("P-256", parameters={"kid": "old"})
    new = ECKey.generate_key("P-256", parameters={"kid": "new"})

    def jwks(*keys) -> str:
        return json.dumps({"keys": [dict(k.as_dict(private=False)) for k in keys]})

    assert run(cli_env, "init").exit_code == 0
    made = run(cli_env, "client", "create", "--name", "档案系统", "--scope", "directory",
               "--state", "online", "--auth-method", "private_key_jwt", "--jwks", jwks(old),
               "--json")
    client_id = json.loads(made.output)["client_id"]
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    web = create_app(config.load())

    def token_with(key) -> str:
        """"ok" or the token endpoint's error code."""
        now = int(time.time())
        assertion = jwt.encode({"alg": "ES256", "kid": key.kid}, {
            "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
            "aud": runtime(web).settings.issuer, "exp": now + 60}, key)
        r = web.test_client().post("/oauth/token", data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion})
        return "ok" if r.status_code == 200 else r.get_json()["error"]

    try:
        assert token_with(old) == "ok" and token_with(new) == "invalid_client"
        both = run(cli_env, "client", "set-keys", client_id, "--jwks", jwks(old, new))
        assert both.exit_code == 0, both.output
        assert token_with(old) == "ok" and token_with(new) == "ok"
        only_new = run(cli_env, "client", "set-keys", client_id, "--jwks", jwks(new),
                       "--id-token-alg", "RS256")
        assert only_new.exit_code == 0, only_new.output
        assert token_with(old) == "invalid_client" and token_with(new) == "ok"
        with runtime(web).sessions() as s:
            app = s.scalar(select(App).where(App.client_id == client_id))
            assert app.id_token_signed_response_alg == "RS256"
            events = s.scalars(select(AuditEvent).where(
                AuditEvent.action == "app.client_keys_set").order_by(AuditEvent.seq)).all()
        assert [json.loads(e.summary).get("kids") for e in events] == [["old", "new"], ["new"]]
        assert all(e.actor.startswith("cli:") for e in events)
    finally:
        runtime(web).engine.dispose()


def test_set_keys_refusals(cli_env) -> None:
    assert run(cli_env, "init").exit_code == 0
    made = run(cli_env, "client", "create", "--name", "x", "--scope", "directory",
               "--grant-type", "client_credentials", "--json")
    client_id = json.loads(made.output)["client_id"]
    key = {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}
    r = run(cli_env, "client", "set-keys", client_id, "--jwks", json.dumps(key))
    assert r.exit_code != 0 and "private_key_jwt" in r.output  # a secret client has no keys
    r = run(cli_env, "client", "set-keys", client_id)
    assert r.exit_code != 0 and "give keys" in r.output
    r = run(cli_env, "client", "set-keys", "no-such-client", "--id-token-alg", "RS256")
    assert r.exit_code != 0


def test_client_ids_never_start_with_a_dash(monkeypatch) -> None:
    """A leading dash made `idp client set-state -Xy… offline` read the id as an option."""
    from directory import apps

    draws = iter(["-starts-with-dash-abcdefg", "_fine_as_an_argument_abc"])
    monkeypatch.setattr(apps.secrets, "token_urlsafe", lambda _n: next(draws))
    assert apps.new_client_id() == "_fine_as_an_argument_abc"
    monkeypatch.undo()
    assert not any(apps.new_client_id().startswith("-") for _ in range(2000))
