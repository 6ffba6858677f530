"""RP-Initiated Logout 1.0 at the advertised ``end_session_endpoint``: a valid
``id_token_hint`` of ours, ``post_logout_redirect_uri`` exactly one registered for the
hint's client (its redirect URIs), ``state`` passed back; the browser session ends and
every grant born of it is revoked; without a hint the user confirms (POST)."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import _client
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import refresh
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp, spa = flow.rp, flow.spa  # the fixtures, shared
PATH = "/logout/end-session"
OFFLINE = "openid offline_access"


def is_signed_in(http, client) -> bool:
    return "code" in parse_qs(urlsplit(authorize(http, client).headers["Location"]).query)


def test_discovery_names_the_endpoint(world) -> None:
    app, _ = world
    doc = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert doc["end_session_endpoint"] == flow.ISSUER + PATH


def test_logout_with_hint_redirects_ends_session_and_revokes(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    raw = http.get_cookie("idp_session").value
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.get(PATH, query_string={"id_token_hint": body["id_token"],
                                     "post_logout_redirect_uri": rp["redirect_uri"],
                                     "state": "bye"})
    assert r.status_code == 302
    assert r.headers["Location"] == rp["redirect_uri"] + "?state=bye"
    assert "idp_session=;" in r.headers["Set-Cookie"]
    assert refresh(http, rp, body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert http.get("/userinfo", headers=flow.bearer(body["access_token"])).status_code == 401
    assert not is_signed_in(http, rp)
    http.set_cookie("idp_session", raw)  # the old cookie is dead on the server too
    assert not is_signed_in(http, rp)


def test_logout_with_hint_without_redirect_shows_page(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.post(PATH, data={"id_token_hint": body["id_token"], "lang": "en"})
    assert r.status_code == 200 and "You are signed out" in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"
    assert refresh(http, rp, body["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_grants_of_other_sessions_survive(world, rp) -> None:
    app, w = world
    phone, laptop = signed_in(app, w["clerk_account"]), signed_in(app, w["clerk_account"])
    on_phone, on_laptop = tokens_for(phone, rp, scope=OFFLINE), tokens_for(laptop, rp,
                                                                            scope=OFFLINE)
    assert phone.get(PATH, query_string={"id_token_hint": on_phone["id_token"]}).status_code == 200
    assert refresh(phone, rp, on_phone["refresh_token"]).status_code == 400
    assert refresh(laptop, rp, on_laptop["refresh_token"]).status_code == 200
    assert is_signed_in(laptop, rp)


@pytest.mark.parametrize("uri", [flow.RP_REDIRECT + "/", "https://evil.example/",
                                 flow.RP_REDIRECT + "?x=1"])
def test_unregistered_post_logout_uri_is_refused_and_nothing_happens(world, rp, uri) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.get(PATH, query_string={"id_token_hint": body["id_token"],
                                     "post_logout_redirect_uri": uri})
    assert r.status_code == 400 and "Location" not in r.headers
    assert 'data-error="invalid_post_logout_redirect_uri"' in r.get_data(as_text=True)
    assert refresh(http, rp, body["refresh_token"]).status_code == 200


def test_post_logout_uri_needs_a_hint(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    r = http.get(PATH, query_string={"client_id": rp["client_id"],
                                     "post_logout_redirect_uri": rp["redirect_uri"]})
    assert r.status_code == 400 and "Location" not in r.headers


def test_uri_of_another_client_is_refused(world, rp, sessions, ctx) -> None:
    app, w = world
    other = _client(sessions, ctx, public=False, redirect_uris=("https://other.example/cb",))
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.get(PATH, query_string={"id_token_hint": body["id_token"],
                                     "post_logout_redirect_uri": other["redirect_uri"]})
    assert r.status_code == 400 and "Location" not in r.headers
    r = http.get(PATH, query_string={"id_token_hint": body["id_token"],
                                     "client_id": other["client_id"]})
    assert r.status_code == 400 and 'data-error="invalid_request"' in r.get_data(as_text=True)


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "access-token", "alg-none"])
def test_invalid_hint_is_refused(world, rp, hint) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    if hint == "access-token":
        hint = body["access_token"]
    elif hint == "alg-none":
        from tests.idp.test_jwt_alg import unsigned

        hint = unsigned(body["id_token"])
    r = http.get(PATH, query_string={"id_token_hint": hint})
    assert r.status_code == 400 and 'data-error="invalid_id_token_hint"' in r.get_data(
        as_text=True)
    assert refresh(http, rp, body["refresh_token"]).status_code == 200


def test_without_hint_the_user_confirms(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.get(PATH)
    assert r.status_code == 200 and '<form method="post">' in r.get_data(as_text=True)
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert refresh(http, rp, body["refresh_token"]).status_code == 200  # nothing yet
    r = http.post(PATH)
    assert r.status_code == 200 and "您已退出登录" in r.get_data(as_text=True)
    assert not is_signed_in(http, rp)


def test_logout_without_session_is_harmless(world, rp) -> None:
    app, _ = world
    r = app.test_client().get(PATH)
    assert r.status_code == 200 and "您已退出登录" in r.get_data(as_text=True)
