"""Redirect URIs (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3): exact string match against the
registered list, validated with the client before anything else; a request that fails
either gets an error page (400) and is never redirected. RFC 8252 §7.3: any port on a
loopback URI, for public clients only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.models import AuditEvent
from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import LOOPBACK_REDIRECT
from tests.idp.test_oidc_flow import RP_REDIRECT
from tests.idp.test_oidc_flow import _client
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import exchange
from tests.idp.test_oidc_flow import pkce
from tests.idp.test_oidc_flow import query
from tests.idp.test_oidc_flow import signed_in

rp, spa = flow.rp, flow.spa  # the fixtures, shared

MUTATIONS = {
    "trailing-slash": RP_REDIRECT + "/",
    "case-host": RP_REDIRECT.replace("rp.example", "RP.example"),
    "case-path": RP_REDIRECT.replace("callback", "Callback"),
    "userinfo-evil": RP_REDIRECT.replace("https://", "https://rp.example.gov.cn@evil.example/"),
    "at-evil-host": "https://rp.example.gov.cn@evil.example/callback",
    "dot-dot-semicolon": RP_REDIRECT + "/..;/evil",
    "dot-dot": "https://rp.example.gov.cn/callback/../evil",
    "encoded-slash": RP_REDIRECT.replace("/callback", "%2Fcallback"),
    "encoded-letter": RP_REDIRECT.replace("callback", "c%61llback"),
    "added-query": RP_REDIRECT + "?next=https://evil.example",
    "empty-query": RP_REDIRECT + "?",
    "fragment": RP_REDIRECT + "#x",
    "http-downgrade": RP_REDIRECT.replace("https://", "http://"),
    "port": RP_REDIRECT.replace(".cn/", ".cn:443/"),
    "subdomain": RP_REDIRECT.replace("rp.", "evil.rp."),
    "suffix-host": RP_REDIRECT.replace(".cn/", ".cn.evil.example/"),
    "whitespace": RP_REDIRECT + " ",
    "other-scheme": "javascript://rp.example.gov.cn/callback",
    "empty": "",
}


def assert_error_page(r, error: str, status: int = 400) -> None:
    assert r.status_code == status and "Location" not in r.headers
    assert r.mimetype == "text/html" and f'data-error="{error}"' in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


@pytest.mark.parametrize("uri", list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_mutated_redirect_uri_is_refused_without_redirect(world, rp, uri) -> None:
    app, w = world
    r = authorize(signed_in(app, w["clerk_account"]), rp, redirect_uri=uri)
    assert_error_page(r, "invalid_redirect_uri")


@pytest.mark.parametrize("uri", list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_mutation_with_another_error_is_still_not_redirected(world, rp, uri) -> None:
    """An error in another parameter must not leak to an unvalidated URI either."""
    app, _ = world
    r = authorize(app.test_client(), rp, redirect_uri=uri, response_type="token")
    assert_error_page(r, "invalid_redirect_uri")


def test_missing_and_repeated_redirect_uri(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    assert_error_page(authorize(http, rp, drop=("redirect_uri",)), "invalid_redirect_uri")
    r = http.get(f"/authorize?client_id={rp['client_id']}&redirect_uri={RP_REDIRECT}"
                 f"&redirect_uri={RP_REDIRECT}&response_type=code")
    assert_error_page(r, "invalid_redirect_uri")


@pytest.mark.parametrize("client_id", ["nobody", "", None])
def test_unknown_client_gets_the_error_page(world, rp, client_id) -> None:
    app, _ = world
    r = authorize(app.test_client(), rp, client_id=client_id,
                  drop=() if client_id is not None else ("client_id",))
    assert_error_page(r, "invalid_client")


@pytest.mark.parametrize("status", ["testing", "offline"])
def test_app_not_online_gets_the_error_page_and_an_audit_record(world, sessions, ctx,
                                                               status) -> None:
    app, w = world
    client = _client(sessions, ctx, public=False, redirect_uris=(RP_REDIRECT,), status=status)
    r = authorize(signed_in(app, w["clerk_account"]), client)
    assert_error_page(r, "app_unavailable", 403)
    with sessions() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "oauth.authorization_refused")).one()
        assert f"app_{status}" in event.summary


def test_error_page_in_english(world) -> None:
    app, _ = world
    zh = app.test_client().get("/authorize?client_id=nobody").get_data(as_text=True)
    en = app.test_client().get("/authorize?client_id=nobody&lang=en").get_data(as_text=True)
    assert "应用未注册" in zh and 'lang="zh-CN"' in zh
    assert "Unknown application" in en and 'lang="en"' in en


@pytest.mark.parametrize("port", ["", ":51004", ":1"])
def test_public_client_loopback_any_port(world, spa, port) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    uri = LOOPBACK_REDIRECT.replace("127.0.0.1", f"127.0.0.1{port}")
    verifier, challenge = pkce()
    got = query(authorize(http, spa, redirect_uri=uri, challenge=challenge))
    client = {**spa, "redirect_uri": uri}
    assert exchange(http, client, got["code"], verifier).status_code == 200


@pytest.mark.parametrize("uri", [
    "http://localhost:51004/callback",  # RFC 8252 §8.3: loopback IP literals, not localhost
    "http://127.0.0.1:51004/callback/",
    "http://127.0.0.1:51004/other",
    "http://127.0.0.2:51004/callback",
    "http://127.0.0.1:51004@evil.example/callback",
    "http://user@127.0.0.1:51004/callback",
    "https://127.0.0.1:51004/callback",
    "http://127.0.0.1:51004/callback?x=1",
])
def test_public_client_loopback_other_mutations_refused(world, spa, uri) -> None:
    app, w = world
    r = authorize(signed_in(app, w["clerk_account"]), spa, redirect_uri=uri)
    assert_error_page(r, "invalid_redirect_uri")


def test_confidential_client_gets_no_loopback_port_exception(world, sessions, ctx) -> None:
    app, w = world
    client = _client(sessions, ctx, public=False, redirect_uris=(LOOPBACK_REDIRECT,))
    http = signed_in(app, w["clerk_account"])
    assert query(authorize(http, client))["code"]
    r = authorize(http, client, redirect_uri="http://127.0.0.1:8080/callback")
    assert_error_page(r, "invalid_redirect_uri")


def test_code_is_bound_to_its_redirect_uri(world, sessions, ctx) -> None:
    app, w = world
    client = _client(sessions, ctx, public=False,
                     redirect_uris=(RP_REDIRECT, RP_REDIRECT.replace("callback", "cb2")))
    http = signed_in(app, w["clerk_account"])
    verifier, challenge = pkce()
    got = query(authorize(http, client, challenge=challenge))
    r = exchange(http, {**client, "redirect_uri": RP_REDIRECT.replace("callback", "cb2")},
                 got["code"], verifier)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("uri", ["https://rp.example/cb#frag", "/relative/cb", "rp.example/cb"])
def test_registration_refuses_fragments_and_relative_uris(world, sessions, ctx, uri) -> None:
    from directory.errors import DomainError

    with pytest.raises(DomainError) as exc:
        _client(sessions, ctx, public=False, redirect_uris=(uri,))
    assert exc.value.code == "directory.app.redirect_uri"
