"""Helpers shared by the idp tests: bearer tokens for the API, the CLI runner."""

from __future__ import annotations

from click.testing import CliRunner

from idp import tokens
from idp.app import runtime
from idp.cli import main


def bearer(app, account_id, **kw) -> dict:
    rt = runtime(app)
    with rt.sessions() as s:
        token = tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                         subject=str(account_id), client_id="test",
                                         scope="contacts", **kw)
    return {"Authorization": f"Bearer {token}"}


def without_request_id(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


def run(env: dict[str, str], *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)
