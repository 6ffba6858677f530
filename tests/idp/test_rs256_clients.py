"""ID tokens per client (OIDC Registration §2 ``id_token_signed_response_alg``): ES256 by
default, RS256 for a client that registered it, each signed with the key of that algorithm
that signs now and verifiable with the JWKS key of its ``kid``."""

from __future__ import annotations

import base64
import hashlib

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import import_key

from directory import apps
from directory import audit
from directory.errors import DomainError
from idp import store
from idp.app import runtime
from idp.tokens import LEEWAY_SECONDS
from tests.idp.test_oidc_flow import ISSUER
from tests.idp.test_oidc_flow import RP_REDIRECT
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for


def client_with(sessions, ctx, alg: str | None) -> dict:
    extra = {} if alg is None else {"id_token_alg": alg}
    with sessions.begin() as s:
        app, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="档案系统", grant_types=("authorization_code", "refresh_token"),
            scope=("openid", "profile", "offline_access"), redirect_uris=(RP_REDIRECT,),
            **extra))
        for step in ("approved", "testing", "online"):
            apps.set_status(s, ctx, app, step, reason="test")
        return {"client_id": app.client_id, "secret": secret, "redirect_uri": RP_REDIRECT,
                "public": False}


def id_token_of(app, w, client: dict) -> tuple[dict, dict, dict]:
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, client)
    jwks = http.get("/jwks.json").get_json()
    header = jwt.decode(body["id_token"], KeySet.import_key_set(jwks)).header
    return body, header, jwks


@pytest.mark.parametrize("registered,expected", [(None, "ES256"), ("ES256", "ES256"),
                                                 ("RS256", "RS256")],
                         ids=["default", "ES256", "RS256"])
def test_id_token_is_signed_with_the_clients_algorithm(world, sessions, ctx, registered,
                                                       expected) -> None:
    app, w = world
    client = client_with(sessions, ctx, registered)
    body, header, jwks = id_token_of(app, w, client)
    assert header["alg"] == expected and header["typ"] == "JWT"
    published = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert published["alg"] == expected and "d" not in published
    claims = jwt.decode(body["id_token"], import_key(published),
                        algorithms=[expected]).claims
    assert claims["iss"] == ISSUER and claims["aud"] == client["client_id"]
    assert claims["sub"] == str(w["clerk_account"])
    digest = hashlib.sha256(body["access_token"].encode()).digest()  # RS256 and ES256 alike
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    with pytest.raises(JoseError):  # never verifiable with the other algorithm's key
        other = next(k for k in jwks["keys"] if k["alg"] != expected)
        jwt.decode(body["id_token"], import_key(other), algorithms=[expected])


def test_access_tokens_stay_es256(world, sessions, ctx) -> None:
    app, w = world
    body, _, jwks = id_token_of(app, w, client_with(sessions, ctx, "RS256"))
    assert jwt.decode(body["access_token"], KeySet.import_key_set(jwks)).header["alg"] == "ES256"


def test_rs256_id_token_is_a_logout_hint(world, sessions, ctx) -> None:
    app, w = world
    client = client_with(sessions, ctx, "RS256")
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, client)
    r = http.get("/logout/end-session", query_string={
        "id_token_hint": body["id_token"], "post_logout_redirect_uri": RP_REDIRECT})
    assert r.status_code == 302 and r.headers["Location"] == RP_REDIRECT


def test_rotation_moves_rs256_id_tokens_to_the_new_key(world, sessions, ctx) -> None:
    app, w = world
    client = client_with(sessions, ctx, "RS256")
    rt = runtime(app)
    with sessions.begin() as s:
        rotation = store.rotate_signing_key(
            s, rt.directory.cipher, audit.Context(actor="test"), "RS256", grace_seconds=0,
            token_seconds=rt.settings.access_token_seconds, leeway_seconds=LEEWAY_SECONDS)
    _, header, jwks = id_token_of(app, w, client)
    assert header["alg"] == "RS256" and header["kid"] == rotation.kid
    assert {k["kid"] for k in jwks["keys"]} >= {rotation.kid, *rotation.retiring}


@pytest.mark.parametrize("alg", ["HS256", "none", "PS256", "rs256"])
def test_other_algorithms_are_refused_at_registration(world, sessions, ctx, alg) -> None:
    with pytest.raises(DomainError) as err, sessions.begin() as s:
        apps.create_client(s, ctx, apps.ClientSpec(name="x", id_token_alg=alg))
    assert err.value.code == "directory.app.id_token_alg"
