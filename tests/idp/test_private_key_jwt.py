"""Client authentication by private_key_jwt (OIDC Core §9, RFC 7523 §2.2, §3) at the token,
introspection and revocation endpoints: a JWT signed with a key the client registered
(ES256, RS256, PS256), iss = sub = the client, aud the token endpoint or the issuer, a
short exp, a jti used once across every worker. Every refusal is ``invalid_client``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey
from sqlalchemy import func
from sqlalchemy import select

from directory import apps
from directory.errors import DomainError
from directory.models import SeenOnce
from idp import create_app
from idp.app import runtime
from tests.idp.test_oidc_flow import ISSUER
from tests.idp.test_oidc_flow import RP_REDIRECT
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import pkce
from tests.idp.test_oidc_flow import query
from tests.idp.test_oidc_flow import signed_in

TOKEN_URL = ISSUER + "/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
OTHER_EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})  # same kid, other key


def public_jwks(*keys) -> dict:
    return {"keys": [dict(k.as_dict(private=False)) for k in keys]}


BOTH_KEYS = public_jwks(EC_KEY, RSA_KEY)


def register(sessions, ctx, jwks: dict | None = BOTH_KEYS,
             auth_method: str = "private_key_jwt") -> dict:
    """An online client with the client credentials and code grants."""
    with sessions.begin() as s:
        app, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="财务系统", grant_types=("client_credentials", "authorization_code"),
            scope=("directory", "openid", "profile"), redirect_uris=(RP_REDIRECT,),
            auth_method=auth_method, jwks=jwks))
        for step in ("approved", "testing", "online"):
            apps.set_status(s, ctx, app, step, reason="test")
        return {"client_id": app.client_id, "secret": secret, "redirect_uri": RP_REDIRECT,
                "public": False}


@pytest.fixture
def client(world, sessions, ctx) -> dict:
    return register(sessions, ctx)


def claims_for(client_id: str, **changes) -> dict:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "iat": now,
              "exp": now + 60, "jti": str(uuid.uuid4())}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def assertion(client_id: str, key=EC_KEY, alg: str = "ES256", header: dict | None = None,
              **changes) -> str:
    head = {"alg": alg, "kid": key.kid, **(header or {})}
    return jwt.encode(head, claims_for(client_id, **changes), key, algorithms=[alg])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(client_id: str) -> str:
    head = _b64(json.dumps({"alg": "none", "kid": EC_KEY.kid}).encode())
    return f"{head}.{_b64(json.dumps(claims_for(client_id)).encode())}."


def hs256_with_public_key(client_id: str) -> str:
    """The classic confusion: an HMAC keyed with the client's public key (PEM bytes)."""
    head = _b64(json.dumps({"alg": "HS256", "kid": RSA_KEY.kid}).encode())
    body = _b64(json.dumps(claims_for(client_id)).encode())
    secret = RSA_KEY.as_pem(private=False)
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def cc(http, token: str, **extra):
    return http.post("/oauth/token", data={
        "grant_type": "client_credentials", "scope": "directory",
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": token, **extra})


# -- success ---------------------------------------------------------------------------


@pytest.mark.parametrize("key,alg", [(EC_KEY, "ES256"), (RSA_KEY, "RS256"), (RSA_KEY, "PS256")],
                         ids=["ES256", "RS256", "PS256"])
def test_client_credentials_with_an_assertion(world, client, key, alg) -> None:
    app, _ = world
    http = app.test_client()
    r = cc(http, assertion(client["client_id"], key, alg))
    assert r.status_code == 200, r.get_json()
    keys = KeySet.import_key_set(http.get("/jwks.json").get_json())
    assert jwt.decode(r.get_json()["access_token"], keys).claims["sub"] == client["client_id"]


@pytest.mark.parametrize("aud", [TOKEN_URL, ISSUER, [ISSUER, "https://else.example"]],
                         ids=["token-endpoint", "issuer", "list"])
def test_audiences(world, client, aud) -> None:
    app, _ = world
    r = cc(app.test_client(), assertion(client["client_id"], aud=aud))
    assert r.status_code == 200, r.get_json()


def test_one_key_without_kid(world, sessions, ctx) -> None:
    app, _ = world
    key = ECKey.generate_key("P-256")
    c = register(sessions, ctx, jwks={"keys": [dict(key.as_dict(private=False))]})
    token = jwt.encode({"alg": "ES256"}, claims_for(c["client_id"]), key)
    assert cc(app.test_client(), token).status_code == 200


def test_code_flow_introspection_and_revocation(world, client) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    verifier, challenge = pkce()
    code = query(authorize(http, client, challenge=challenge, scope="openid"))["code"]
    r = http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": RP_REDIRECT,
        "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(client["client_id"])})
    assert r.status_code == 200, r.get_json()
    access = r.get_json()["access_token"]
    seen = http.post("/oauth/introspect", data={
        "token": access, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(client["client_id"], key=RSA_KEY, alg="RS256")})
    assert seen.status_code == 200 and seen.get_json()["active"] is True
    gone = http.post("/oauth/revoke", data={
        "token": access, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(client["client_id"])})
    assert gone.status_code == 200
    again = http.post("/oauth/introspect", data={
        "token": access, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(client["client_id"])})
    assert again.get_json() == {"active": False}


# -- refusals --------------------------------------------------------------------------

NOW = int(time.time())
BAD = {
    "wrong-signature": lambda cid: assertion(cid, key=OTHER_EC),
    "unknown-kid": lambda cid: assertion(cid, header={"kid": "nobody"}),
    "alg-none": unsigned,
    "hs256-with-public-key": hs256_with_public_key,
    "alg-not-the-key-type": lambda cid: jwt.encode(
        {"alg": "RS256", "kid": EC_KEY.kid}, claims_for(cid), RSA_KEY),
    "no-exp": lambda cid: assertion(cid, exp=None),
    "expired": lambda cid: assertion(cid, iat=int(time.time()) - 600,
                                     exp=int(time.time()) - 300),
    "exp-too-far": lambda cid: assertion(cid, exp=int(time.time()) + 3600),
    "wrong-aud": lambda cid: assertion(cid, aud="https://elsewhere.example/oauth/token"),
    "no-aud": lambda cid: assertion(cid, aud=None),
    "iss-not-the-client": lambda cid: assertion(cid, iss="someone-else"),
    "sub-not-the-client": lambda cid: assertion(cid, sub="someone-else"),
    "no-jti": lambda cid: assertion(cid, jti=None),
    "garbage": lambda cid: "not.a.jwt",
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_assertions_are_invalid_client(world, client, case) -> None:
    app, _ = world
    r = cc(app.test_client(), BAD[case](client["client_id"]))
    assert r.status_code in (400, 401) and r.get_json()["error"] == "invalid_client"


def test_client_id_parameter_must_be_the_subject(world, client, sessions, ctx) -> None:
    app, _ = world
    http = app.test_client()
    same = cc(http, assertion(client["client_id"]), client_id=client["client_id"])
    assert same.status_code == 200
    other = register(sessions, ctx)
    r = cc(http, assertion(client["client_id"]), client_id=other["client_id"])
    assert r.get_json()["error"] == "invalid_client"


def test_wrong_assertion_type(world, client) -> None:
    app, _ = world
    r = cc(app.test_client(), assertion(client["client_id"]),
           client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
    assert r.get_json()["error"] == "invalid_client"


def test_replayed_jti_is_refused(world, client, sessions) -> None:
    app, _ = world
    token = assertion(client["client_id"])
    assert cc(app.test_client(), token).status_code == 200
    r = cc(app.test_client(), token)
    assert r.get_json()["error"] == "invalid_client"
    # the same jti in a new assertion is the same replay
    jti = jwt.decode(token, EC_KEY).claims["jti"]
    assert cc(app.test_client(), assertion(client["client_id"], jti=jti)).get_json()[
        "error"] == "invalid_client"


def test_replay_on_another_worker_is_refused(world, client, settings) -> None:
    """Two application instances (two workers) share only the database."""
    app, _ = world
    other = create_app(settings)
    try:
        token = assertion(client["client_id"])
        assert cc(app.test_client(), token).status_code == 200
        assert cc(other.test_client(), token).get_json()["error"] == "invalid_client"
    finally:
        runtime(other).engine.dispose()


def test_parallel_replays_succeed_once(world, client, settings) -> None:
    """The same assertion sent at once by six threads over two instances: one token."""
    app, _ = world
    other = create_app(settings)
    token = assertion(client["client_id"])
    barrier = threading.Barrier(6)

    def attempt(i: int) -> int:
        http = (app if i % 2 else other).test_client()
        barrier.wait()
        return cc(http, token).status_code

    try:
        with ThreadPoolExecutor(6) as pool:
            codes = sorted(pool.map(attempt, range(6)))
    finally:
        runtime(other).engine.dispose()
    assert codes[0] == 200 and all(c != 200 for c in codes[1:]), codes


def test_a_failed_request_still_spends_its_jti(world, client) -> None:
    app, _ = world
    token = assertion(client["client_id"])
    r = cc(app.test_client(), token, scope="directory scim")
    assert r.get_json()["error"] == "invalid_scope"
    assert cc(app.test_client(), token).get_json()["error"] == "invalid_client"


def test_same_jti_for_two_clients_is_two_uses(world, client, sessions, ctx) -> None:
    app, _ = world
    second = register(sessions, ctx)
    jti = str(uuid.uuid4())
    assert cc(app.test_client(), assertion(client["client_id"], jti=jti)).status_code == 200
    assert cc(app.test_client(), assertion(second["client_id"], jti=jti)).status_code == 200


def test_a_jti_is_kept_only_while_its_assertion_could_live(world, client, sessions) -> None:
    """An expired row (not yet purged by ``idp.purge``) no longer blocks its jti."""
    app, _ = world
    jti = str(uuid.uuid4())
    assert cc(app.test_client(), assertion(client["client_id"], jti=jti)).status_code == 200
    with sessions.begin() as s:
        (row,) = s.scalars(select(SeenOnce))
        assert row.key.startswith(f"jti:{client['client_id']}:") and jti not in row.key
        row.expires_at = apps.utcnow() - dt.timedelta(seconds=1)
    assert cc(app.test_client(), assertion(client["client_id"], jti=jti)).status_code == 200
    again = cc(app.test_client(), assertion(client["client_id"], jti=jti))
    assert again.get_json()["error"] == "invalid_client"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(SeenOnce)) == 1


# -- each client its own method ----------------------------------------------------------


def test_secret_client_cannot_use_an_assertion(world, sessions, ctx) -> None:
    app, _ = world
    basic = register(sessions, ctx, jwks=None, auth_method="client_secret_basic")
    r = cc(app.test_client(), assertion(basic["client_id"]))
    assert r.get_json()["error"] == "invalid_client"


def test_key_client_cannot_use_a_secret(world, client, sessions, ctx) -> None:
    app, _ = world
    assert client["secret"] is None  # no secret is ever made for it
    raw = base64.b64encode(f"{client['client_id']}:anything".encode()).decode()
    http = app.test_client()
    r = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                  headers={"Authorization": f"Basic {raw}"})
    assert r.get_json()["error"] == "invalid_client"
    r = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                        "client_id": client["client_id"],
                                        "client_secret": "anything"})
    assert r.get_json()["error"] == "invalid_client"
    r = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                        "client_id": client["client_id"]})
    assert r.get_json()["error"] == "invalid_client"  # nor as a public client


# -- registration ------------------------------------------------------------------------

EC_PUBLIC = dict(EC_KEY.as_dict(private=False))
_short = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
RSA_1024 = {"kty": "RSA", "n": _b64(_short.n.to_bytes(128, "big")), "e": "AQAB"}
P384 = dict(ECKey.generate_key("P-384", private=False).as_dict(private=False))
REGISTRATIONS = {
    "private-member": ({"keys": [dict(EC_KEY.as_dict(private=True))]}, "jwk_private"),
    "rsa-1024": ({"keys": [RSA_1024]}, "jwk_rsa_too_short"),
    "p-384": ({"keys": [P384]}, "jwk_unsupported"),
    "symmetric": ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "jwk_private"),
    "hs256-alg": ({"keys": [{**EC_PUBLIC, "alg": "HS256"}]}, "jwk_unsupported"),
    "for-encryption": ({"keys": [{**EC_PUBLIC, "use": "enc"}]}, "jwk_not_for_signing"),
    "duplicate-kid": ({"keys": [EC_PUBLIC, dict(RSA_KEY.as_dict(private=False), kid="ec-1")]},
                      "jwks_kid"),
    "missing-kid": ({"keys": [EC_PUBLIC, {k: v for k, v in RSA_KEY.as_dict(private=False)
                                           .items() if k != "kid"}]}, "jwks_kid"),
    "empty": ({"keys": []}, "jwks_empty"),
    "not-a-jwks": ([EC_PUBLIC], "jwks_empty"),
    "bad-point": ({"keys": [{**EC_PUBLIC, "x": EC_PUBLIC["y"]}]}, "jwks_unreadable"),
    "no-keys": (None, "jwks_required"),
}


@pytest.mark.parametrize("case", list(REGISTRATIONS))
def test_registration_refusals(world, sessions, ctx, case) -> None:
    jwks, code = REGISTRATIONS[case]
    with pytest.raises(DomainError) as err, sessions.begin() as s:
        apps.create_client(s, ctx, apps.ClientSpec(
            name="x", auth_method="private_key_jwt", jwks=jwks))
    assert err.value.code == f"directory.app.{code}"


def test_keys_only_with_private_key_jwt(world, sessions, ctx) -> None:
    with pytest.raises(DomainError) as err, sessions.begin() as s:
        apps.create_client(s, ctx, apps.ClientSpec(name="x", jwks=public_jwks(EC_KEY)))
    assert err.value.code == "directory.app.jwks_without_private_key_jwt"
