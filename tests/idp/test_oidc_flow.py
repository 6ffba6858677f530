"""The authorization code flow end to end (OIDC Core §3.1): a signed-in browser, a code,
tokens, an ID token checked against the JWKS, userinfo. The fixtures and helpers here are
imported by the other OIDC protocol tests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from directory import apps
from directory.models import Account
from directory.models import BrowserSession
from idp import sessions
from idp import sessions as sessions_module
from idp.app import runtime

ISSUER = "http://127.0.0.1:8000"
RP_REDIRECT = "https://rp.example.gov.cn/callback"
SPA_REDIRECT = "https://spa.example.gov.cn/cb"
LOOPBACK_REDIRECT = "http://127.0.0.1/callback"
OIDC_SCOPES = ("openid", "profile", "phone", "email", "org", "offline_access")


def _client(sessions_, ctx, *, public: bool, redirect_uris: tuple[str, ...],
            scope: tuple[str, ...] = OIDC_SCOPES,
            grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
            status: str = "online") -> dict:
    with sessions_.begin() as s:
        app, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="公文系统" if not public else "移动办公", grant_types=grant_types, scope=scope,
            redirect_uris=redirect_uris,
            auth_method="none" if public else "client_secret_basic"))
        for step in ("approved", "testing", "online", "offline"):
            apps.set_status(s, ctx, app, step, reason="test")
            if step == status:
                break
        return {"client_id": app.client_id, "secret": secret,
                "redirect_uri": redirect_uris[0], "public": public}


@pytest.fixture
def rp(world, sessions, ctx) -> dict:
    """An online confidential client (client_secret_basic) with the OIDC scopes."""
    return _client(sessions, ctx, public=False, redirect_uris=(RP_REDIRECT,))


@pytest.fixture
def spa(world, sessions, ctx) -> dict:
    """An online public client (auth method none) with a loopback URI registered too."""
    return _client(sessions, ctx, public=True, redirect_uris=(SPA_REDIRECT, LOOPBACK_REDIRECT))


def signed_in(app, account_id, amr: str = "pwd"):
    """A test client holding a live browser session of the account."""
    rt = runtime(app)
    with rt.sessions.begin() as s:
        _row, raw = sessions.start(s, rt.settings, s.get(Account, account_id), amr=amr)
    http = app.test_client()
    http.set_cookie(sessions.cookie_name(rt.settings), raw)
    return http


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(http, client: dict, *, challenge: str | None = None, drop=(), **extra):
    params = {"response_type": "code", "client_id": client["client_id"],
              "redirect_uri": client["redirect_uri"], "scope": "openid profile",
              "state": "st-123", "nonce": "n-456", "code_challenge": challenge or pkce()[1],
              "code_challenge_method": "S256", **extra}
    for name in drop:
        params.pop(name, None)
    return http.get("/authorize", query_string=params)


def query(response) -> dict[str, str]:
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def auth_headers(client: dict) -> dict:
    if client["public"]:
        return {}
    raw = base64.b64encode(f"{client['client_id']}:{client['secret']}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def client_form(client: dict) -> dict:
    return {"client_id": client["client_id"]} if client["public"] else {}


def exchange(http, client: dict, code: str, verifier: str | None, **extra):
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": client["redirect_uri"], **client_form(client), **extra}
    if verifier is not None:
        form["code_verifier"] = verifier
    return http.post("/oauth/token", data=form, headers=auth_headers(client))


def get_code(http, client: dict, **extra) -> tuple[str, str]:
    verifier, challenge = pkce()
    got = query(authorize(http, client, challenge=challenge, **extra))
    return got["code"], verifier


def tokens_for(http, client: dict, **extra) -> dict:
    code, verifier = get_code(http, client, **extra)
    r = exchange(http, client, code, verifier)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def refresh(http, client: dict, token: str, **extra):
    return http.post("/oauth/token", data={"grant_type": "refresh_token",
                                           "refresh_token": token, **client_form(client),
                                           **extra}, headers=auth_headers(client))


def introspect(http, client: dict, token: str):
    return http.post("/oauth/introspect", data={"token": token}, headers=auth_headers(client))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- the flow ---------------------------------------------------------------------------


def test_code_flow_issues_verified_id_token_and_userinfo(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"], amr="pwd otp")
    verifier, challenge = pkce()
    r = authorize(http, rp, challenge=challenge, scope="openid profile offline_access")
    got = query(r)
    assert r.headers["Location"].startswith(RP_REDIRECT + "?")
    assert got["state"] == "st-123" and got["iss"] == ISSUER and len(got["code"]) >= 40
    t = exchange(http, rp, got["code"], verifier)
    assert t.status_code == 200, t.get_json()
    assert t.headers["Cache-Control"] == "no-store"
    body = t.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert body["scope"] == "openid profile offline_access" and body["refresh_token"]
    keys = KeySet.import_key_set(http.get("/jwks.json").get_json())
    idt = jwt.decode(body["id_token"], keys)
    assert idt.header["alg"] == "ES256" and idt.header["kid"]
    c = idt.claims
    assert c["iss"] == ISSUER and c["aud"] == rp["client_id"]
    assert c["sub"] == str(w["clerk_account"]) and c["nonce"] == "n-456"
    assert c["amr"] == ["pwd", "otp"] and c["exp"] > c["iat"] and c["auth_time"] <= c["iat"]
    assert c["sid"] and c["at_hash"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert c["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert "name" not in c and "phone_number" not in c  # scope claims come from userinfo
    at = jwt.decode(body["access_token"], keys)
    assert at.header["typ"] == "at+jwt" and at.claims["sid"] == c["sid"]
    assert at.claims["sub"] == str(w["clerk_account"]) and at.claims["grant"]
    info = http.get("/userinfo", headers=bearer(body["access_token"]))
    assert info.status_code == 200 and info.headers["Cache-Control"] == "no-store"
    assert info.get_json()["sub"] == c["sub"] and info.get_json()["name"] == "李娜"


def test_public_client_with_pkce_and_no_secret(world, spa) -> None:
    app, w = world
    http = signed_in(app, w["villager_account"])
    body = tokens_for(http, spa, scope="openid offline_access")
    assert body["id_token"] and body["refresh_token"]
    assert "name" not in http.get("/userinfo", headers=bearer(body["access_token"])).get_json()


def test_no_refresh_token_without_offline_access(world, rp) -> None:
    app, w = world
    body = tokens_for(signed_in(app, w["clerk_account"]), rp, scope="openid")
    assert "refresh_token" not in body and body["id_token"]


def test_no_id_token_without_openid(world, rp) -> None:
    app, w = world
    body = tokens_for(signed_in(app, w["clerk_account"]), rp, scope="profile")
    assert "id_token" not in body
    r = signed_in(app, w["clerk_account"]).get("/userinfo", headers=bearer(body["access_token"]))
    assert r.status_code == 403 and r.get_json()["error"] == "insufficient_scope"


def test_no_session_goes_to_login_and_back(world, rp) -> None:
    app, _ = world
    r = authorize(app.test_client(), rp)
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.path == "/login" and not location.netloc
    nxt = parse_qs(location.query)["next"][0]
    assert nxt.startswith("/authorize?") and "code_challenge=" in nxt and "state=st-123" in nxt


def test_prompt_none_without_session_is_login_required(world, rp) -> None:
    app, _ = world
    got = query(authorize(app.test_client(), rp, prompt="none"))
    assert got["error"] == "login_required" and got["state"] == "st-123"
    assert got["iss"] == ISSUER


def test_prompt_login_sends_a_signed_in_user_to_login(world, rp) -> None:
    app, w = world
    r = authorize(signed_in(app, w["clerk_account"]), rp, prompt="login")
    assert urlsplit(r.headers["Location"]).path == "/login"
    assert "prompt" not in parse_qs(urlsplit(r.headers["Location"]).query)["next"][0]


def test_prompt_none_with_a_session_issues_a_code(world, rp) -> None:
    app, w = world
    got = query(authorize(signed_in(app, w["clerk_account"]), rp, prompt="none"))
    assert got["code"] and got["iss"] == ISSUER


def test_max_age_exceeded_means_login_again(world, rp, sessions) -> None:
    import datetime as dt

    app, w = world
    http = signed_in(app, w["clerk_account"])
    with sessions.begin() as s:
        for row in s.scalars(select(BrowserSession)):
            row.auth_time = row.auth_time - dt.timedelta(minutes=10)
    assert query(authorize(http, rp, max_age="3600"))["code"]
    r = authorize(http, rp, max_age="60")
    assert urlsplit(r.headers["Location"]).path == "/login"
    assert query(authorize(http, rp, max_age="60", prompt="none"))["error"] == "login_required"


def test_post_authorize(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    verifier, challenge = pkce()
    r = http.post("/authorize", data={
        "response_type": "code", "client_id": rp["client_id"], "redirect_uri": RP_REDIRECT,
        "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256"})
    got = query(r)
    assert exchange(http, rp, got["code"], verifier).status_code == 200


def test_ended_session_is_not_signed_in(world, rp, sessions) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    with sessions.begin() as s:
        for row in s.scalars(select(BrowserSession)):
            sessions_module.end(s, row.id, "test")
    assert urlsplit(authorize(http, rp).headers["Location"]).path == "/login"
