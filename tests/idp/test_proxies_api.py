"""/api/v1/me/proxies: a signed-in user names, lists and revokes their own proxy
(代理人员, DOMAIN.md §3); each write is audited, the rules are policies.proxies'."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from directory import accounts
from directory.models import AuditEvent
from directory.models import Proxy
from tests.idp.support import app_bearer
from tests.idp.support import bearer

URL = "/api/v1/me/proxies"


def _later(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


def _actions(sessions, action: str) -> list[AuditEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_name_list_and_revoke(world, sessions) -> None:
    app, w = world
    http, me = app.test_client(), bearer(app, w["clerk_account"])
    r = http.post(URL, json={"proxy": str(w["villager_account"]), "ends_at": _later(7)},
                  headers=me)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["principal"] == str(w["clerk_account"])
    assert body["proxy"] == str(w["villager_account"]) and body["revoked_at"] is None
    listed = http.get(URL, headers=me).get_json()["items"]
    assert [p["id"] for p in listed] == [body["id"]]
    named = _actions(sessions, "proxy.named")
    assert len(named) == 1 and named[0].actor == f"account:{w['clerk_account']}"
    assert http.delete(f"{URL}/{body['id']}", headers=me).status_code == 204
    with sessions() as s:
        assert s.get(Proxy, uuid.UUID(body["id"])).revoked_at is not None
    assert len(_actions(sessions, "proxy.revoked")) == 1


@pytest.mark.parametrize(("who", "days", "code"), [
    ("clerk_account", 7, "directory.proxy.self"),
    ("villager_account", 91, "directory.proxy.period_too_long"),
    ("villager_account", -1, "directory.proxy.period_past"),
], ids=["self", "91-days", "past"])
def test_refused_by_the_rules(world, sessions, who, days, code) -> None:
    app, w = world
    starts = _later(-3) if days < 0 else None
    r = app.test_client().post(URL, json={"proxy": str(w[who]), "ends_at": _later(days),
                                          **({"starts_at": starts} if starts else {})},
                               headers=bearer(app, w["clerk_account"]))
    assert r.status_code == 400 and r.get_json()["error"] == code
    with sessions() as s:
        assert s.scalars(select(Proxy)).all() == []


def test_a_temporary_account_is_no_proxy(world, sessions, dsettings, ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        temp = accounts.create(s, dsettings, ctx, username="vendor", account_type="temporary",
                               expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
        temp_id = temp.id
    r = app.test_client().post(URL, json={"proxy": str(temp_id), "ends_at": _later(7)},
                               headers=bearer(app, w["clerk_account"]))
    assert r.status_code == 400 and r.get_json()["error"] == "directory.proxy.temporary_proxy"


def test_bad_requests(world) -> None:
    app, w = world
    http, me = app.test_client(), bearer(app, w["clerk_account"])
    assert http.post(URL, json={"proxy": "nope", "ends_at": _later(1)},
                     headers=me).get_json()["error"] == "invalid_request"
    assert http.post(URL, json={"proxy": str(w["villager_account"]),
                                "ends_at": "2030-01-01T00:00:00"},  # no time zone
                     headers=me).get_json()["error"] == "invalid_request"
    assert http.post(URL, data="x", headers=me).status_code == 400


@pytest.mark.parametrize("case", ["none", "garbage", "app-token", "acting-token"])
def test_only_a_persons_own_token(world, case) -> None:
    app, w = world
    headers = {"none": {}, "garbage": {"Authorization": "Bearer x.y.z"},
               "app-token": app_bearer(app, "some-app"),
               "acting-token": bearer(app, w["clerk_account"],
                                      extra={"act": {"sub": str(w["villager_account"])}}),
               }[case]
    r = app.test_client().get(URL, headers=headers)
    assert r.status_code == (403 if case in ("app-token", "acting-token") else 401)


def test_another_users_proxy_is_not_found(world) -> None:
    app, w = world
    http = app.test_client()
    r = http.post(URL, json={"proxy": str(w["villager_account"]), "ends_at": _later(7)},
                  headers=bearer(app, w["clerk_account"]))
    other = http.delete(f"{URL}/{r.get_json()['id']}",
                        headers=bearer(app, w["villager_account"]))
    assert other.status_code == 404 and other.get_json()["error"] == "directory.proxy.not_found"
    assert http.get(URL, headers=bearer(app, w["villager_account"])).get_json()["items"] == []
