"""Behind reverse proxies (``IDP_TRUSTED_PROXIES``): the client's address, scheme and host
come from the X-Forwarded-* headers the trusted proxies set, for the per-address sign-in
limit, the audit trail and authlib's https check; with no proxy configured (the default)
those headers change nothing, whoever sends them."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from directory.models import AuditEvent
from idp import config
from idp import create_app
from idp import throttle
from idp.app import runtime
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_rfc6749_client_credentials import basic
from tests.idp.test_rfc6749_client_credentials import client  # noqa: F401 - fixture

FORM = {"grant_type": "client_credentials"}
BIG = {**FORM, "pad": "x" * 20_000}  # past the token lane: authlib behind Flask answers
HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.gov.cn"}


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


@pytest.fixture
def proxied(world, settings):
    """The same database served as behind one reverse proxy."""
    app = create_app(dataclasses.replace(settings, trusted_proxies=1))
    yield app
    runtime(app).engine.dispose()  # its pool and, on PostgreSQL, the apps copy's listener


def _from(app, address: str, forwarded: str | None):
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address
    if forwarded is not None:
        http.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return http


def test_without_a_trusted_proxy_forwarded_headers_change_nothing(world, client,  # noqa: F811
                                                                  signin, monkeypatch) -> None:
    app, _ = world
    for data in (FORM, BIG):  # the lane and Flask alike
        r = app.test_client().post("/oauth/token", base_url="http://idp.example.gov.cn",
                                   data=data, headers={**basic(*client), **HTTPS})
        assert r.status_code == 400 and r.get_json()["error"] == "insecure_transport"
    monkeypatch.setattr(throttle, "IP_MAX_FAILURES", 4)
    for n in range(4):  # a forged X-Forwarded-For each time: still one address
        attacker = _from(app, "198.51.100.9", f"203.0.113.{n}")
        assert login(attacker, f"guess{n}", "wrong password!").status_code == 403
    assert login(_from(app, "198.51.100.9", "203.0.113.99"), "clerk",
                 PASSWORD).status_code == 403
    assert login(_from(app, "198.51.100.10", None), "clerk", PASSWORD).status_code == 303


def test_behind_a_trusted_proxy_the_forwarded_scheme_and_host_count(world, client,  # noqa: F811
                                                                    proxied) -> None:
    for data in (FORM, BIG):
        r = proxied.test_client().post("/oauth/token", base_url="http://10.0.0.5:8000",
                                       data=data, headers={**basic(*client), **HTTPS})
        assert r.status_code == 200, r.get_json()
        plain = proxied.test_client().post("/oauth/token", base_url="http://10.0.0.5:8000",
                                           data=data, headers=basic(*client))
        assert plain.status_code == 400 and plain.get_json()["error"] == "insecure_transport"


def test_behind_a_trusted_proxy_each_client_address_is_limited_apart(
        world, signin, proxied, sessions, monkeypatch) -> None:
    monkeypatch.setattr(throttle, "IP_MAX_FAILURES", 4)
    for n in range(4):  # the client prepends a forged address: only the proxy's entry counts
        attacker = _from(proxied, "10.0.0.2", f"192.0.2.{n}, 203.0.113.7")
        assert login(attacker, f"guess{n}", "wrong password!").status_code == 403
    assert login(_from(proxied, "10.0.0.2", "203.0.113.7"), "clerk",
                 PASSWORD).status_code == 403  # that client is blocked
    other = _from(proxied, "10.0.0.2", "203.0.113.8")  # another, through the same proxy
    assert login(other, "clerk", PASSWORD).status_code == 303
    with sessions() as s:
        sources = set(s.scalars(select(AuditEvent.source_ip).where(
            AuditEvent.source_ip.is_not(None))))
    assert "203.0.113.8" in sources and not sources & {"10.0.0.2", "192.0.2.0"}


@pytest.mark.parametrize("value", ["-1", str(config.MAX_TRUSTED_PROXIES + 1), "one"])
def test_the_number_of_trusted_proxies_is_checked(cli_env, value) -> None:
    env = cli_env | {"IDP_TRUSTED_PROXIES": value}
    with pytest.raises(config.ConfigError, match="IDP_TRUSTED_PROXIES"):
        config.load(env=env)
    assert config.load(env=env | {"IDP_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
