"""RFC 8693 token exchange for proxies (代理人员, DOMAIN.md §3): a named proxy exchanges
their own access token for one acting for the principal during the proxy period (``act``,
§4.1); every exchange and every use at the contacts API is audited on behalf of the
principal; everything else is an RFC 6749 §5.2 error and issues nothing."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy import update

from directory import accounts
from directory import apps
from directory import proxies
from directory.models import AuditEvent
from directory.models import Proxy
from idp import tokens
from idp.app import runtime

TE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
NOW = dt.datetime.now(dt.UTC)


def _client(s, ctx, w, name: str, grant_types=("authorization_code", TE)):
    app, secret = apps.create_client(s, ctx, apps.ClientSpec(
        name=name, grant_types=grant_types, scope=("openid", "profile", "contacts"),
        redirect_uris=("https://app.example/cb",), unit_node_id=w["edu"], status="applied"))
    for status in ("approved", "testing", "online"):
        apps.set_status(s, ctx, app, status, reason="test")
    return app.client_id, secret


@pytest.fixture
def setup(world, sessions, ctx):
    """The clerk (principal) named the villager (proxy) from an hour ago for a week; two
    online confidential clients registered for the exchange, one that is not."""
    app, w = world
    with sessions.begin() as s:
        c = {"main": _client(s, ctx, w, "协同办公"), "other": _client(s, ctx, w, "公文"),
             "plain": _client(s, ctx, w, "门户", grant_types=("authorization_code",))}
        row = proxies.name(s, ctx, principal_id=w["clerk_account"],
                           proxy_id=w["villager_account"], starts_at=NOW - dt.timedelta(hours=1),
                           ends_at=NOW + dt.timedelta(days=7))
        c["record"] = row.id
    return app, w, c


def subject_token(app, account_id, client_id: str, scope: str = "openid profile",
                  ttl: int = 600, **extra) -> str:
    rt = runtime(app)
    with rt.sessions() as s:
        return tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                        subject=str(account_id), client_id=client_id,
                                        scope=scope, ttl=ttl, extra=extra or None)


def basic(client_id: str, secret: str) -> dict:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def exchange(app, client: tuple[str, str], token: str, principal, **form):
    data = {"grant_type": TE, "subject_token": token, "subject_token_type": AT,
            "requested_subject": str(principal), **form}
    return app.test_client().post("/oauth/token", data={k: v for k, v in data.items()
                                                         if v is not None},
                                  headers=basic(*client))


def events(sessions, action: str) -> list[AuditEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _error(r) -> str:
    return r.get_json()["error"]


def test_the_proxy_acts_for_the_principal(setup, sessions) -> None:
    app, w, c = setup
    own = subject_token(app, w["villager_account"], c["main"][0])
    r = exchange(app, c["main"], own, w["clerk_account"])
    assert r.status_code == 200, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["issued_token_type"] == AT and body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile" and "refresh_token" not in body
    assert 0 < body["expires_in"] <= 600
    keys = KeySet.import_key_set(app.test_client().get("/jwks.json").get_json())
    claims = jwt.decode(body["access_token"], keys).claims
    assert claims["sub"] == str(w["clerk_account"])
    assert claims["act"] == {"sub": str(w["villager_account"])}  # RFC 8693 §4.1
    assert claims["client_id"] == c["main"][0] and claims["proxy"] == str(c["record"])
    (ev,) = events(sessions, "oauth.token_exchanged")
    assert ev.actor == f"account:{w['villager_account']}"
    assert ev.on_behalf_of == f"account:{w['clerk_account']}"
    assert ev.target_id == str(w["clerk_account"])
    me = app.test_client().get("/api/v1/me",
                               headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["id"] == str(w["clerk"])
    (used,) = events(sessions, "proxy.acted")
    assert used.actor == f"account:{w['villager_account']}"
    assert used.on_behalf_of == f"account:{w['clerk_account']}"


def test_no_longer_than_the_subject_token(setup) -> None:
    app, w, c = setup
    own = subject_token(app, w["villager_account"], c["main"][0], ttl=100)
    assert exchange(app, c["main"], own, w["clerk_account"]).get_json()["expires_in"] <= 100


@pytest.mark.parametrize("when", ["not-yet", "ended"])
def test_outside_the_period(setup, sessions, when) -> None:
    app, w, c = setup
    starts, ends = ((NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=2)) if when == "not-yet"
                    else (NOW - dt.timedelta(days=2), NOW - dt.timedelta(minutes=1)))
    with sessions.begin() as s:
        s.execute(update(Proxy).where(Proxy.id == c["record"])
                  .values(starts_at=starts, ends_at=ends))
    own = subject_token(app, w["villager_account"], c["main"][0])
    r = exchange(app, c["main"], own, w["clerk_account"])
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    assert events(sessions, "oauth.token_exchanged") == []


def test_revoked_proxy(setup, sessions, ctx) -> None:
    app, w, c = setup
    own = subject_token(app, w["villager_account"], c["main"][0])
    acting = exchange(app, c["main"], own, w["clerk_account"]).get_json()["access_token"]
    with sessions.begin() as s:
        proxies.revoke(s, ctx, principal_id=w["clerk_account"], proxy_record_id=c["record"])
    r = exchange(app, c["main"], own, w["clerk_account"])
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {acting}"})
    assert me.status_code == 401  # revocation stops the acting token at once


def test_wrong_client(setup) -> None:
    app, w, c = setup
    own = subject_token(app, w["villager_account"], c["main"][0])
    r = exchange(app, c["other"], own, w["clerk_account"])
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    plain = subject_token(app, w["villager_account"], c["plain"][0])
    r = exchange(app, c["plain"], plain, w["clerk_account"])
    assert _error(r) == "unauthorized_client"
    r = exchange(app, (c["main"][0], "wrong"), own, w["clerk_account"])
    assert r.status_code == 401 and _error(r) == "invalid_client"


def test_a_public_client_cannot_register_for_it(world, sessions, ctx) -> None:
    from directory.errors import DomainError
    _, w = world
    with sessions.begin() as s, pytest.raises(DomainError) as err:
        apps.create_client(s, ctx, apps.ClientSpec(
            name="手机", grant_types=("authorization_code", TE), auth_method="none",
            redirect_uris=("https://app.example/cb",)))
    assert err.value.code == "directory.app.public_token_exchange"


def test_scope(setup) -> None:
    app, w, c = setup
    own = subject_token(app, w["villager_account"], c["main"][0])
    wider = exchange(app, c["main"], own, w["clerk_account"], scope="openid profile contacts")
    assert wider.status_code == 400 and _error(wider) == "invalid_scope"
    narrower = exchange(app, c["main"], own, w["clerk_account"], scope="openid")
    assert narrower.status_code == 200 and narrower.get_json()["scope"] == "openid"


def test_no_chains(setup, sessions, ctx, dsettings) -> None:
    """An acting token is never exchanged again, and the proxy's own proxy does not act
    for the principal (clerk → villager → third: third cannot act for clerk)."""
    app, w, c = setup
    own = subject_token(app, w["villager_account"], c["main"][0])
    acting = exchange(app, c["main"], own, w["clerk_account"]).get_json()["access_token"]
    again = exchange(app, c["main"], acting, w["clerk_account"])
    assert again.status_code == 400 and _error(again) == "invalid_grant"
    with sessions.begin() as s:
        third = accounts.create(s, dsettings, ctx, username="leader", account_type="user",
                                person_id=w["leader"]).id
        proxies.name(s, ctx, principal_id=w["villager_account"], proxy_id=third,
                     starts_at=NOW - dt.timedelta(hours=1), ends_at=NOW + dt.timedelta(days=1))
    theirs = subject_token(app, third, c["main"][0])
    assert exchange(app, c["main"], theirs, w["villager_account"]).status_code == 200
    chained = exchange(app, c["main"], theirs, w["clerk_account"])
    assert chained.status_code == 400 and _error(chained) == "invalid_grant"


def test_only_the_named_proxy(setup) -> None:
    app, w, c = setup
    own = subject_token(app, w["clerk_account"], c["main"][0])  # the principal, not a proxy
    r = exchange(app, c["main"], own, w["villager_account"])
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    app_token = subject_token(app, c["main"][0], c["main"][0])  # an app's own token
    assert _error(exchange(app, c["main"], app_token, w["clerk_account"])) == "invalid_grant"


@pytest.mark.parametrize(("form", "code"), [
    ({"subject_token": None}, "invalid_request"),
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request"),
    ({"actor_token": "x", "actor_token_type": AT}, "invalid_request"),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
     "invalid_request"),
    ({"requested_subject": "someone"}, "invalid_request"),
    ({"subject_token": "not.a.token"}, "invalid_grant"),
], ids=["no-subject-token", "id-token-type", "actor-token", "refresh-requested",
        "bad-principal", "garbage-token"])
def test_malformed_requests(setup, sessions, form, code) -> None:
    app, w, c = setup
    own = subject_token(app, w["villager_account"], c["main"][0])
    r = exchange(app, c["main"], own, w["clerk_account"], **form)
    assert r.status_code == 400 and _error(r) == code
    assert events(sessions, "oauth.token_exchanged") == []


def test_discovery_advertises_it(world) -> None:
    app, _ = world
    doc = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert TE in doc["grant_types_supported"]
