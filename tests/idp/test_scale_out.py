"""Scale-out (#4): ``idp serve --workers 3`` as a real process on the suite's database
(SQLite or PostgreSQL); nothing lives in one worker's memory, so the protocol's single-use
rules hold whichever worker answers.

* RFC 6749 §4.1.2: one authorization code redeemed by several requests at once → exactly
  one success, the others ``invalid_grant``.
* RFC 9700 §4.14.2: a refresh token presented again after use → ``invalid_grant`` and the
  whole grant revoked (the rotated token dies too), on every worker.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from directory import accounts
from directory import apps
from directory import audit
from directory.models import Account
from directory.models import OAuthGrant
from idp import sessions as browser_sessions
from idp import store
from tests import factories as f
from tests.idp.test_oidc_flow import pkce
from tests.idp.test_serve import IDP
from tests.idp.test_serve import free_port
from tests.idp.test_serve import wait_for

REDIRECT = "https://rp.example.gov.cn/callback"
PARALLEL = 6


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


@pytest.fixture
def server(cli_env, sessions) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | cli_env | {"IDP_ISSUER": base}
    proc = subprocess.Popen([IDP, "serve", "--port", str(port), "--workers", "3"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(f"{base}/readyz", 60)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
        assert output.count("Booting worker") >= 3


@pytest.fixture
def setup(sessions, settings, dsettings, ctx) -> dict:
    with sessions.begin() as s:
        store.ensure_signing_keys(s, dsettings.cipher, audit.Context(actor="test"))
        tree = f.qingpu(s, ctx)
        person = f.person(s, dsettings, ctx, tree["office"], "李娜")
        account = accounts.create(s, dsettings, ctx, username="clerk", account_type="user",
                                  person_id=person.id)
        client, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="公文系统", grant_types=("authorization_code", "refresh_token"),
            scope=("openid", "offline_access"), redirect_uris=(REDIRECT,)))
        for step in ("approved", "testing", "online"):
            apps.set_status(s, ctx, client, step)
        _row, raw = browser_sessions.start(s, settings, s.get(Account, account.id))
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return {"client_id": client.client_id, "basic": f"Basic {basic}", "cookie": raw}


def _code(base: str, setup: dict) -> tuple[str, str]:
    verifier, challenge = pkce()
    query = urlencode({"response_type": "code", "client_id": setup["client_id"],
                       "redirect_uri": REDIRECT, "scope": "openid offline_access",
                       "state": "s", "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    request = urllib.request.Request(f"{base}/authorize?{query}",
                                     headers={"Cookie": f"idp_session={setup['cookie']}"})
    try:
        OPENER.open(request, timeout=30)
    except urllib.error.HTTPError as exc:
        assert exc.code == 302, exc.read()[:300]
        location = exc.headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0], verifier


def _token(base: str, setup: dict, form: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/oauth/token", data=urlencode(form).encode(), method="POST",
        headers={"Authorization": setup["basic"],
                 "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _in_parallel(n: int, call) -> list:
    barrier, results = threading.Barrier(n), [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.slow
def test_a_code_redeemed_in_parallel_succeeds_once(server, setup):
    code, verifier = _code(server, setup)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    results = _in_parallel(PARALLEL, lambda: _token(server, setup, form))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [400] * (PARALLEL - 1), results
    assert {body["error"] for status, body in results if status == 400} == {"invalid_grant"}


@pytest.mark.slow
def test_a_replayed_refresh_token_revokes_the_grant_on_any_worker(server, setup, sessions):
    code, verifier = _code(server, setup)
    status, first = _token(server, setup, {"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": REDIRECT,
                                           "code_verifier": verifier})
    assert status == 200 and first["refresh_token"]
    status, second = _token(server, setup, {"grant_type": "refresh_token",
                                            "refresh_token": first["refresh_token"]})
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    # the used token again, several times at once: each worker sees it used
    replays = _in_parallel(3, lambda: _token(server, setup, {
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]}))
    assert [(s, b["error"]) for s, b in replays] == [(400, "invalid_grant")] * 3
    # the family is revoked: the rotated token is refused too
    status, body = _token(server, setup, {"grant_type": "refresh_token",
                                          "refresh_token": second["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")
    with sessions() as s:
        grant = s.scalars(select(OAuthGrant)).one()
        assert grant.revoked_at is not None and grant.revoke_reason == "refresh_reused"


@pytest.mark.slow
def test_an_app_taken_offline_is_refused_by_every_worker(server, setup, sessions, ctx):
    """Each worker keeps the apps it served (``directory.app_cache``); an app taken
    offline in another process is refused by all of them on the very next requests (on
    PostgreSQL through the notification, on SQLite by reading the file)."""
    with sessions.begin() as s:
        app, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="统计报表系统", scope=("directory",), status="online"))
    basic = base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()
    machine = {**setup, "basic": f"Basic {basic}"}
    form = {"grant_type": "client_credentials", "scope": "directory"}
    for _ in range(3):  # every worker has served (and kept) the app
        assert {s for s, _ in _in_parallel(PARALLEL, lambda: _token(server, machine, form))
                } == {200}
    with sessions.begin() as s:
        apps.set_status(s, ctx, apps.get_app(s, app.client_id), "offline", reason="升级维护")
    refused = _in_parallel(PARALLEL * 2, lambda: _token(server, machine, form))
    assert [(s, b["error"]) for s, b in refused] == [(401, "invalid_client")] * PARALLEL * 2
    with sessions.begin() as s:
        apps.set_status(s, ctx, apps.get_app(s, app.client_id), "online", reason="恢复")
    assert {s for s, _ in _in_parallel(PARALLEL, lambda: _token(server, machine, form))
            } == {200}
