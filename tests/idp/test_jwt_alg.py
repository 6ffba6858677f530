"""Algorithm confusion (RFC 8725 §2.1, §3.1): every place that accepts a JWT of ours —
userinfo, the contacts API, introspection, the logout hint — refuses ``alg: none`` and
HS256 signed with our public key as the HMAC secret, and one kind of token for another
(``typ`` at+jwt for access tokens, JWT for ID tokens)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from joserfc.jwk import import_key

from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import bearer
from tests.idp.test_oidc_flow import introspect
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp, spa = flow.rp, flow.spa  # the fixtures, shared
KINDS = ["none", "hs256-pem", "hs256-jwk"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict]:
    head, body, _sig = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(head))),
            json.loads(base64.urlsafe_b64decode(pad(body))))


def unsigned(token: str) -> str:
    header, claims = _parts(token)
    header["alg"] = "none"
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def hs256_with_public_key(token: str, jwks: dict, form: str) -> str:
    """The classic confusion: the verifier's public key (PEM or JWK JSON) as HMAC key."""
    header, claims = _parts(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    secret = (import_key(key).as_pem(private=False) if form == "pem"
              else json.dumps(key).encode())
    header["alg"] = "HS256"
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


def forged(kind: str, token: str, jwks: dict) -> str:
    if kind == "none":
        return unsigned(token)
    return hs256_with_public_key(token, jwks, kind.removeprefix("hs256-"))


@pytest.fixture
def issued(world, rp) -> tuple:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope="openid profile offline_access")
    return app, http, body, http.get("/jwks.json").get_json()


@pytest.mark.parametrize("kind", KINDS)
def test_userinfo_refuses_forged_tokens(issued, kind) -> None:
    _app, http, body, jwks = issued
    assert http.get("/userinfo", headers=bearer(body["access_token"])).status_code == 200
    r = http.get("/userinfo", headers=bearer(forged(kind, body["access_token"], jwks)))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"


@pytest.mark.parametrize("kind", KINDS)
def test_contacts_api_refuses_forged_tokens(issued, kind) -> None:
    _app, http, body, jwks = issued
    token = forged(kind, body["access_token"], jwks)
    r = http.get("/api/v1/me", headers=bearer(token))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"


@pytest.mark.parametrize("kind", KINDS)
def test_introspection_says_inactive_for_forged_tokens(issued, rp, kind) -> None:
    _app, http, body, jwks = issued
    got = introspect(http, rp, forged(kind, body["access_token"], jwks)).get_json()
    assert got == {"active": False}


@pytest.mark.parametrize("kind", KINDS)
def test_logout_refuses_forged_hints(issued, kind) -> None:
    _app, http, body, jwks = issued
    r = http.get("/logout/end-session",
                 query_string={"id_token_hint": forged(kind, body["id_token"], jwks)})
    assert r.status_code == 400


def test_id_token_is_not_a_bearer_token(issued) -> None:
    _app, http, body, _jwks = issued
    assert http.get("/userinfo", headers=bearer(body["id_token"])).status_code == 401
    assert http.get("/api/v1/me", headers=bearer(body["id_token"])).status_code == 401


def test_tampered_claims_are_refused(issued) -> None:
    _app, http, body, _jwks = issued
    head, payload, sig = body["access_token"].split(".")
    _h, claims = _parts(body["access_token"])
    claims["sub"] = "00000000-0000-0000-0000-000000000000"
    token = f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"
    assert http.get("/userinfo", headers=bearer(token)).status_code == 401
