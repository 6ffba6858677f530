"""Helpers shared by the idp tests: bearer tokens for the API, the CLI runner."""

from __future__ import annotations

from click.testing import CliRunner

from idp import tokens
from idp.app import runtime
from idp.cli import main


def bearer(app, account_id, client_id: str = "test", **kw) -> dict:
    rt = runtime(app)
    with rt.sessions() as s:
        token = tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                         subject=str(account_id), client_id=client_id,
                                         scope="contacts", **kw)
    return {"Authorization": f"Bearer {token}"}


def app_bearer(app, client_id: str, scope: str = "directory") -> dict:
    """An app's own token (client credentials): sub is the client (RFC 9068 §2.2)."""
    rt = runtime(app)
    with rt.sessions() as s:
        token = tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                         subject=client_id, client_id=client_id, scope=scope)
    return {"Authorization": f"Bearer {token}"}


def without_request_id(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


def run(env: dict[str, str], *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)
