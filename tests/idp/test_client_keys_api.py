"""How a client authenticates, through the admin API (GET/PUT /api/v1/admin/apps/{id}):
its token endpoint auth method, its private_key_jwt keys (inline ``jwks`` or a
``jwks_uri``) and its ID token algorithm. Checked as ``idp client set-keys`` checks them
(``directory.client_auth``); public keys only ever shown; every change audited by kid;
a bad field is a 400 naming it, and nothing is written; a graded admin outside the app's
unit gets the 404 of an unknown app."""

from __future__ import annotations

import json

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select

from directory import accounts
from directory import apps
from directory import rules
from directory.models import App
from directory.models import AuditEvent
from tests.idp.support import bearer
from tests.idp.support import without_request_id
from tests.idp.test_private_key_jwt import ASSERTION_TYPE
from tests.idp.test_private_key_jwt import RSA_1024
from tests.idp.test_private_key_jwt import assertion
from tests.idp.test_private_key_jwt import cc
from tests.idp.test_private_key_jwt import public_jwks

OLD = ECKey.generate_key("P-256", parameters={"kid": "old"})
NEW = ECKey.generate_key("P-256", parameters={"kid": "new"})


@pytest.fixture
def admins(world, sessions, dsettings, ctx) -> dict:
    _, w = world
    with sessions.begin() as s:
        boss = accounts.create(s, dsettings, ctx, username="boss", account_type="system_admin")
        town = accounts.create(s, dsettings, ctx, username="town-admin",
                               account_type="graded_admin")
        rules.grant(s, ctx, town.id, [w["town"]], ["apps"])
    app, _ = world
    return {"boss": bearer(app, boss.id), "town": bearer(app, town.id)}


def _client(sessions, ctx, unit, jwks: dict | None = None,
            auth_method: str = "private_key_jwt") -> str:
    with sessions.begin() as s:
        app, _ = apps.create_client(s, ctx, apps.ClientSpec(
            name="档案系统", scope=("directory",), auth_method=auth_method, jwks=jwks,
            unit_node_id=unit))
        for step in ("approved", "testing", "online"):
            apps.set_status(s, ctx, app, step, reason="test")
        return app.client_id


@pytest.fixture
def town_client(world, sessions, ctx) -> str:
    _, w = world
    return _client(sessions, ctx, w["town"], public_jwks(OLD))


def url(client_id: str) -> str:
    return f"/api/v1/admin/apps/{client_id}"


def events(sessions, action: str) -> list[dict]:
    with sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                         .order_by(AuditEvent.seq)).all()
        return [json.loads(e.summary) for e in rows]


def stored(sessions, client_id: str) -> App:
    with sessions() as s:
        return s.scalar(select(App).where(App.client_id == client_id))


def test_get_shows_the_method_public_keys_and_algorithm(world, admins, town_client) -> None:
    app, _ = world
    body = app.test_client().get(url(town_client), headers=admins["town"]).get_json()
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks"] == public_jwks(OLD) and body["jwks_uri"] is None
    assert body["id_token_signed_response_alg"] == "ES256"
    assert body["jwks_uri_fetch"] is None and "client_secret" not in body


def test_only_public_members_are_ever_shown(world, admins, town_client, sessions) -> None:
    """Registration refuses private keys; a row written around it still shows none."""
    app, _ = world
    private = dict(OLD.as_dict(private=True))
    with sessions.begin() as s:
        row = s.scalar(select(App).where(App.client_id == town_client))
        row.jwks = json.dumps({"keys": [private]})
    body = app.test_client().get(url(town_client), headers=admins["boss"]).get_json()
    assert body["jwks"] == public_jwks(OLD) and private["d"] not in json.dumps(body)


def test_rotation_old_and_new_then_new_alone(world, admins, town_client, sessions) -> None:
    app, _ = world
    http = app.test_client()

    def token_with(key) -> str:
        r = cc(http, assertion(town_client, key))
        return "ok" if r.status_code == 200 else r.get_json()["error"]

    assert token_with(OLD) == "ok" and token_with(NEW) == "invalid_client"
    r = http.put(url(town_client), headers=admins["town"], json={"jwks": public_jwks(OLD, NEW)})
    assert r.status_code == 200, r.get_json()
    assert [k["kid"] for k in r.get_json()["jwks"]["keys"]] == ["old", "new"]
    assert token_with(OLD) == "ok" and token_with(NEW) == "ok"
    r = http.put(url(town_client), headers=admins["town"],
                 json={"jwks": public_jwks(NEW), "id_token_signed_response_alg": "RS256"})
    assert r.status_code == 200 and r.get_json()["id_token_signed_response_alg"] == "RS256"
    assert token_with(OLD) == "invalid_client" and token_with(NEW) == "ok"
    done = events(sessions, "app.client_keys_set")
    assert [e.get("kids") for e in done] == [["old", "new"], ["new"]]
    assert done[1]["id_token_signed_response_alg"] == "RS256"
    assert "x" not in json.dumps(done)  # kids, never key material


def test_a_get_body_round_trips_without_a_change(world, admins, town_client, sessions) -> None:
    app, _ = world
    http = app.test_client()
    body = http.get(url(town_client), headers=admins["boss"]).get_json()
    r = http.put(url(town_client), headers=admins["boss"], json=body)
    assert r.status_code == 200, r.get_json()
    assert events(sessions, "app.client_keys_set") == []
    assert events(sessions, "app.client_auth_method_changed") == []


def test_graded_admin_outside_the_unit_gets_the_404_of_an_unknown_app(
        world, admins, sessions, ctx) -> None:
    app, w = world
    edu_client = _client(sessions, ctx, w["edu"], public_jwks(OLD))
    http = app.test_client()
    unknown = http.put(url("no-such-app"), headers=admins["town"], json={"jwks": public_jwks(NEW)})
    for r in (http.get(url(edu_client), headers=admins["town"]),
              http.put(url(edu_client), headers=admins["town"], json={"jwks": public_jwks(NEW)})):
        assert r.status_code == 404
        assert without_request_id(r.get_json()) == without_request_id(unknown.get_json())
    assert stored(sessions, edu_client).jwks == json.dumps(
        public_jwks(OLD), separators=(",", ":"), sort_keys=True)
    assert http.get(url(edu_client), headers=admins["boss"]).status_code == 200


BAD = {
    "private-key": ({"jwks": {"keys": [dict(NEW.as_dict(private=True))]}},
                    "jwks", "directory.app.jwk_private"),
    "short-rsa": ({"jwks": {"keys": [RSA_1024]}}, "jwks", "directory.app.jwk_rsa_too_short"),
    "duplicate-kids": ({"jwks": {"keys": [dict(OLD.as_dict(private=False)),
                                          {**NEW.as_dict(private=False), "kid": "old"}]}},
                       "jwks", "directory.app.jwks_kid"),
    "no-keys": ({"jwks": {"keys": []}}, "jwks", "directory.app.jwks_empty"),
    "keys-cleared": ({"jwks": None}, "jwks", "directory.app.jwks_required"),
    "jwks-and-uri": ({"jwks": public_jwks(NEW), "jwks_uri": "https://rp.example/jwks"},
                     "jwks_uri", "directory.app.jwks_and_jwks_uri"),
    "uri-plain-http": ({"jwks_uri": "http://rp.example/jwks"}, "jwks_uri",
                       "directory.app.jwks_uri_invalid"),
    "uri-credentials": ({"jwks_uri": "https://u:p@rp.example/jwks"}, "jwks_uri",
                        "directory.app.jwks_uri_invalid"),
    "uri-not-a-string": ({"jwks_uri": 42}, "jwks_uri", "directory.app.jwks_uri_invalid"),
    "alg-hs256": ({"id_token_signed_response_alg": "HS256"}, "id_token_signed_response_alg",
                  "directory.app.id_token_alg"),
    "alg-null": ({"id_token_signed_response_alg": None}, "id_token_signed_response_alg",
                 "directory.app.id_token_alg"),
    "method-unknown": ({"token_endpoint_auth_method": "tls_client_auth"},
                       "token_endpoint_auth_method", "directory.app.auth_method"),
    "method-list": ({"token_endpoint_auth_method": ["private_key_jwt"]},
                    "token_endpoint_auth_method", "directory.app.auth_method"),
    "method-public": ({"token_endpoint_auth_method": "none"}, "token_endpoint_auth_method",
                      "directory.app.auth_method_public"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(
        world, admins, town_client, sessions, case) -> None:
    app, _ = world
    change, field, code = BAD[case]
    before = stored(sessions, town_client)
    r = app.test_client().put(url(town_client), headers=admins["town"],
                              json={"name": "改了名", **change})
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["field"] == field and r.get_json()["error"] == code
    after = stored(sessions, town_client)
    assert (after.name, after.jwks, after.jwks_uri, after.token_endpoint_auth_method,
            after.id_token_signed_response_alg, after.version) == (
        before.name, before.jwks, before.jwks_uri, before.token_endpoint_auth_method,
        before.id_token_signed_response_alg, before.version)
    assert events(sessions, "app.client_keys_set") == []
    assert events(sessions, "app.profile_changed") == []


def test_keys_on_a_secret_client_are_refused(world, admins, sessions, ctx) -> None:
    app, w = world
    secret_client = _client(sessions, ctx, w["town"], auth_method="client_secret_basic")
    r = app.test_client().put(url(secret_client), headers=admins["town"],
                              json={"jwks": public_jwks(NEW)})
    assert r.status_code == 400
    assert r.get_json()["error"] == "directory.app.jwks_without_private_key_jwt"


def test_method_changes_between_secret_and_key(world, admins, town_client, sessions) -> None:
    """private_key_jwt → client_secret_basic: a new secret, shown once; back to
    private_key_jwt: keys are required and the secret is gone."""
    app, _ = world
    http = app.test_client()
    r = http.put(url(town_client), headers=admins["town"],
                 json={"token_endpoint_auth_method": "client_secret_basic"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    secret = body["client_secret"]
    assert body["jwks"] is None and body["token_endpoint_auth_method"] == "client_secret_basic"
    assert "client_secret" not in http.get(url(town_client), headers=admins["town"]).get_json()
    ok = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                   auth=(town_client, secret))
    assert ok.status_code == 200, ok.get_json()
    assert cc(http, assertion(town_client, OLD)).get_json()["error"] == "invalid_client"
    # client_secret_post keeps the secret
    r = http.put(url(town_client), headers=admins["town"],
                 json={"token_endpoint_auth_method": "client_secret_post"})
    assert "client_secret" not in r.get_json()
    ok = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                         "client_id": town_client, "client_secret": secret})
    assert ok.status_code == 200
    r = http.put(url(town_client), headers=admins["town"],
                 json={"token_endpoint_auth_method": "private_key_jwt"})
    assert r.status_code == 400 and r.get_json()["error"] == "directory.app.jwks_required"
    r = http.put(url(town_client), headers=admins["town"],
                 json={"token_endpoint_auth_method": "private_key_jwt", "jwks": public_jwks(NEW)})
    assert r.status_code == 200
    assert stored(sessions, town_client).client_secret_hash is None
    refused = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": town_client, "client_secret": secret})
    assert refused.get_json()["error"] == "invalid_client"
    assert cc(http, assertion(town_client, NEW)).status_code == 200
    moves = events(sessions, "app.client_auth_method_changed")
    assert [(e["from"], e["to"], e["secret_issued"]) for e in moves] == [
        ("private_key_jwt", "client_secret_basic", True),
        ("client_secret_basic", "client_secret_post", False),
        ("client_secret_post", "private_key_jwt", False)]
    assert secret not in json.dumps(moves)


def test_inline_keys_give_way_to_a_jwks_uri(world, admins, town_client, sessions) -> None:
    app, _ = world
    http = app.test_client()
    r = http.put(url(town_client), headers=admins["town"],
                 json={"jwks_uri": "https://rp.example.gov.cn/jwks.json"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["jwks"] is None
    assert r.get_json()["jwks_uri"] == "https://rp.example.gov.cn/jwks.json"
    r = http.put(url(town_client), headers=admins["town"], json={"jwks": public_jwks(NEW)})
    assert r.get_json()["jwks_uri"] is None and r.get_json()["jwks"] == public_jwks(NEW)
    assert [e.get("jwks_uri", "-") for e in events(sessions, "app.client_keys_set")] == [
        "https://rp.example.gov.cn/jwks.json", None]


def test_introspection_with_the_rotated_key(world, admins, town_client) -> None:
    """The keys set through the API serve every endpoint that takes an assertion."""
    app, _ = world
    http = app.test_client()
    http.put(url(town_client), headers=admins["boss"], json={"jwks": public_jwks(NEW)})
    token = cc(http, assertion(town_client, NEW)).get_json()["access_token"]
    seen = http.post("/oauth/introspect", data={
        "token": token, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(town_client, NEW)})
    assert seen.get_json()["active"] is True
