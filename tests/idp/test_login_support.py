"""Helpers of the sign-in tests (no tests here): a browser that reads our forms, and
accounts with passwords and TOTP secrets made through the domain commands."""

from __future__ import annotations

import html
import re
import time

import pyotp
from sqlalchemy import select

from directory import accounts
from directory.models import AuditEvent
from directory.models import BrowserSession

PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "staple gun armchair"
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def fields(body: str) -> dict[str, str]:
    """The hidden fields of the (last) form of a page."""
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(body)}


def error_code(body: str) -> str | None:
    found = re.search(r'class="error"[^>]*data-code="([^"]+)"', body)
    return found.group(1) if found else None


def text(response) -> str:
    return response.get_data(as_text=True)


def login(client, username: str, password: str, next_url: str | None = None,
          **query: str):
    """GET the form then POST it, as a browser does."""
    if next_url is not None:
        query["next"] = next_url
    page = client.get("/login", query_string=query)
    data = fields(text(page)) | {"login": username, "password": password}
    if next_url is not None:
        data["next"] = next_url  # what a form built by someone else would send
    return client.post("/login", data=data)


def step(client, response, path: str, **values: str):
    """Submit the next step's form (TOTP, enrolment, new password) of a page."""
    return client.post(path, data=fields(text(response)) | values)


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def cookie(client, name: str = "idp_session") -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None


def actions(sessions, prefix: str = "login.") -> list[tuple[str, str]]:
    with sessions() as s:
        return [(e.action, e.summary) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.seq))]


def live_rows(sessions, account_id) -> list[BrowserSession]:
    with sessions() as s:
        return list(s.scalars(select(BrowserSession).where(
            BrowserSession.account_id == account_id, BrowserSession.ended_at.is_(None))))


def make_signin(world, sessions, dsettings, ctx):
    """For a ``signin`` fixture: the world with passwords: clerk and villager (users), and an administrator 'boss'
    with a TOTP secret; returns (app, ids, boss's secret)."""
    app, w = world
    secret = pyotp.random_base32()
    with sessions.begin() as s:
        for name in ("clerk", "villager"):
            accounts.set_password(s, dsettings, ctx, w[f"{name}_account"], PASSWORD)
        boss = accounts.create(s, dsettings, ctx, username="boss", account_type="system_admin",
                               password=ADMIN_PASSWORD, must_change_password=False)
        accounts.set_totp_secret(s, dsettings, ctx, boss.id, secret)
        w["boss_account"] = boss.id
    return app, w, secret
