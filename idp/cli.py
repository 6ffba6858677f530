"""The ``idp`` command line (click): init, serve, admin create, demo, generate, audit verify."""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from typing import TextIO
from typing import TypeVar

import click
import pyotp
import segno
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory import accounts
from directory import audit
from directory import versions
from directory.db import make_engine
from directory.db import make_sessionmaker
from directory.errors import DomainError
from directory.migrate import upgrade
from directory.models import Node
from directory.models import SigningKey
from idp import config
from idp import store


def _settings() -> config.Settings:
    try:
        return config.load()
    except config.ConfigError as exc:
        raise click.ClickException(f"configuration refused: {exc}") from exc


@contextmanager
def _engine(settings: config.Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _sessions(settings: config.Settings) -> Iterator[sessionmaker[Session]]:
    with _engine(settings) as engine:
        yield make_sessionmaker(engine)


@click.group()
def main() -> None:
    """Unified identity and directory server (统一用户体系)."""


@main.command()
def init() -> None:
    """Create the configuration (first run), migrate the database, create signing keys.

    Idempotent: run it after every upgrade.
    """
    path = Path(os.environ.get("IDP_CONFIG", config.DEFAULT_CONFIG_PATH))
    if not path.exists() and "IDP_SECRET_KEY" not in os.environ:
        config.write_new_config(path)
        click.echo(f"wrote {path} with fresh random secrets (mode 600)")
    settings = _settings()
    with _engine(settings) as engine:
        upgrade(engine)
        with make_sessionmaker(engine).begin() as session:
            new = store.ensure_signing_keys(session, settings.directory().cipher,
                                            audit.Context(actor="cli:init"))
            versions.ensure(session, versions.HIDDEN, versions.RULES)
        where = engine.url.render_as_string(hide_password=True)
    click.echo(f"database ready at {where}; {len(new)} new signing key(s)")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int,
              help="worker processes")
@click.option("--threads", default=4, show_default=True, type=int,
              help="threads per worker (gunicorn gthread, granian blocking threads): a "
                   "worker overlaps database waits, and concurrent commits share "
                   "PostgreSQL's WAL flushes")
@click.option("--server", "server", type=click.Choice(["gunicorn", "granian"]),
              default="gunicorn", show_default=True,
              help="gunicorn (gthread workers) or granian (Rust HTTP layer, less CPU a request)")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="a line a request on stdout (off where the proxy in front logs requests)")
@click.option("--debug", is_flag=True, help="werkzeug's development server (never in production)")
def serve(host: str, port: int, workers: int, threads: int, server: str, access_log: bool,
          debug: bool) -> None:
    """Serve the HTTP API."""
    from idp.app import create_app
    from idp.serve import run_granian
    from idp.serve import run_gunicorn

    settings = _settings()
    if debug:
        create_app(settings).run(host=host, port=port, debug=True, use_reloader=False)
        return
    if workers < 1:
        raise click.BadParameter("at least one worker (or --debug)", param_hint="--workers")
    if threads < 1:
        raise click.BadParameter("at least one thread", param_hint="--threads")
    if server == "granian":
        run_granian(host, port, workers, threads, access_log)
    else:
        run_gunicorn(settings, host, port, workers, threads, access_log)


@main.group()
def admin() -> None:
    """Administrator accounts."""


def _print_totp(username: str, secret: str, issuer: str) -> None:
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)
    click.echo(f"  TOTP secret: {secret}")
    click.echo(f"  otpauth URI: {uri}")
    segno.make(uri, error="m").terminal(compact=True)


@admin.command("create")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, required=True,
              help="read the password from standard input (never from the command line)")
@click.option("--type", "account_type", default="system_admin", show_default=True,
              type=click.Choice(["system_admin", "graded_admin"]))
def admin_create(username: str, password_stdin: bool, account_type: str) -> None:
    """Create an administrator account with a TOTP secret."""
    password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()
    dsettings = settings.directory()
    secret = pyotp.random_base32()
    try:
        with _sessions(settings) as sessions, sessions.begin() as session:
            account = accounts.create(session, dsettings, audit.Context(actor="cli:admin"),
                                      username=username, account_type=account_type,
                                      password=password, must_change_password=False)
            accounts.set_totp_secret(session, dsettings, audit.Context(actor="cli:admin"),
                                     account.id, secret)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code} ({exc.field}): {exc.message}") from exc
    click.echo(f"created {account_type} {username!r}; enrol this TOTP secret now:")
    _print_totp(username, secret, "统一用户体系")


def _demo_logins_path() -> Path:
    return Path(os.environ.get("IDP_CONFIG", config.DEFAULT_CONFIG_PATH)).parent / "demo-logins.txt"


def _show_logins(text: str) -> None:
    """Print the demo logins and draw the admin's TOTP enrolment QR code."""
    click.echo(text)
    for line in text.splitlines():
        if line.strip().startswith("otpauth URI:"):
            segno.make(line.split(":", 1)[1].strip(), error="m").terminal(compact=True)


@main.command()
@click.option("--if-empty", is_flag=True, help="do nothing when the tree already has a root")
@click.option("--seed", default=2026, show_default=True, type=int)
def demo(if_empty: bool, seed: int) -> None:
    """Load the Qingpu demo jurisdiction (~2,000 people) and print demo logins.

    The logins are also kept in var/demo-logins.txt (mode 600, demo data only) so that
    later `make run`s can print them again.
    """
    from idp.demo import build

    settings = _settings()
    saved = _demo_logins_path()
    with _sessions(settings) as sessions:
        with sessions() as session:
            empty = not session.scalar(select(func.count()).select_from(Node))
        if not empty:
            if not if_empty:
                raise click.ClickException("the directory is not empty; demo needs an empty one")
            click.echo("the directory is not empty: demo data not loaded again")
            if saved.exists():
                _show_logins(saved.read_text(encoding="utf-8"))
            return
        with sessions.begin() as session:
            result = build(session, settings.directory(), seed)
    uri = pyotp.TOTP(result.admin_totp_secret).provisioning_uri(
        name=result.admin_username, issuer_name="统一用户体系 demo")
    lines = [f"demo jurisdiction: {result.nodes} nodes, {result.people} people",
             f"system administrator: {result.admin_username} / {result.admin_password}",
             f"  TOTP secret: {result.admin_totp_secret}", f"  otpauth URI: {uri}",
             f"demo users (password {result.user_password}):"]
    lines += [f"  {cls}  {username:8}  {label}"
              for cls, rows in result.samples.items() for username, label in rows]
    text = "\n".join(lines) + "\n"
    saved.parent.mkdir(parents=True, exist_ok=True)
    if saved.exists():
        saved.unlink()
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    _show_logins(text)


@main.command()
@click.option("--people", "n_people", required=True, type=click.IntRange(1))
@click.option("--nodes", "n_nodes", required=True, type=click.IntRange(12))
@click.option("--seed", default=1, show_default=True, type=int)
def generate(n_people: int, n_nodes: int, seed: int) -> None:
    """Generate a synthetic jurisdiction for benchmarks (empty database only)."""
    from tqdm import tqdm

    from idp.generate import generate as run

    settings = _settings()
    with _engine(settings) as engine:
        upgrade(engine)
        with tqdm(total=n_people + n_nodes, unit="row", unit_scale=True) as bar:
            try:
                result = run(engine, settings.directory(), people=n_people, nodes=n_nodes,
                             seed=seed, progress=bar.update)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
    click.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


@main.group("data-keys")
def data_keys() -> None:
    """Field-encryption keys (IDP_DATA_KEYS)."""


@data_keys.command("rotate")
def data_keys_rotate() -> None:
    """Re-encrypt every ID number, mobile, TOTP secret and private key under the active key."""
    from directory.rotation import rotate

    settings = _settings()
    with _sessions(settings) as sessions, sessions.begin() as session:
        counts = rotate(session, settings.directory().cipher,
                        audit.Context(actor="cli:data-keys"))
    for column, n in counts.items():
        click.echo(f"{column}: {n} re-encrypted")
    click.echo(f"every value is now under key {settings.data_key_id!r}")


@main.group("keys")
def keys_group() -> None:
    """Token-signing keys (ES256, RS256): list, rotate."""


def _key_state(row: SigningKey, now: dt.datetime) -> str:
    if row.status != "active" or (row.retired_at is not None and row.retired_at <= now):
        return "retired"
    if row.signs_from is not None and row.signs_from > now:
        return "published"  # in the JWKS, waiting out its grace period
    return "retiring" if row.retired_at is not None else "active"


@keys_group.command("list")
def keys_list() -> None:
    """Every key: id, algorithm, state, signs from, leaves the JWKS at."""
    from directory.db import utcnow

    settings = _settings()
    with _sessions(settings) as sessions, sessions() as session:
        now = utcnow()
        for row in store.all_signing_keys(session):
            click.echo(f"{row.kid}\t{row.alg}\t{_key_state(row, now)}\t"
                       f"signs from {(row.signs_from or row.created_at).isoformat()}\t"
                       f"retires {row.retired_at.isoformat() if row.retired_at else '-'}")


@keys_group.command("rotate")
@click.option("--alg", "algs", multiple=True, type=click.Choice(["ES256", "RS256"]),
              help="the algorithm(s) to rotate (default: both)")
@click.option("--grace-seconds", default=3600, show_default=True, type=int,
              help="the new key is published at once and signs only after this long "
                   "(relying parties cache the JWKS)")
def keys_rotate(algs: tuple[str, ...], grace_seconds: int) -> None:
    """A new key per algorithm, published first and signing after the grace period; the
    older keys stay in the JWKS until every token they signed has expired."""
    from idp.keys import MIN_GRACE_SECONDS
    from idp.tokens import LEEWAY_SECONDS

    if grace_seconds < MIN_GRACE_SECONDS:
        raise click.BadParameter(f"at least {MIN_GRACE_SECONDS} s (the JWKS is cached for "
                                 "300 s)", param_hint="--grace-seconds")
    settings = _settings()
    ctx = _operator()
    with _sessions(settings) as sessions, sessions.begin() as session:
        retired = store.mark_retired(session, ctx)
        done = [store.rotate_signing_key(
            session, settings.directory().cipher, ctx, alg, grace_seconds=grace_seconds,
            token_seconds=settings.access_token_seconds, leeway_seconds=LEEWAY_SECONDS)
            for alg in algs or ("ES256", "RS256")]
    for kid in retired:
        click.echo(f"{kid}: retired (its tokens have all expired)")
    for r in done:
        click.echo(f"{r.kid} ({r.alg}): published now, signs from {r.signs_from.isoformat()}")
        for kid, at in r.retiring.items():
            click.echo(f"  {kid}: stays in the JWKS until {at.isoformat()}")


@main.command()
@click.option("--grace-hours", default=24, show_default=True, type=click.IntRange(0),
              help="keep dead rows this long after they died (replays still meet them)")
def purge(grace_hours: int) -> None:
    """Delete expired codes, refresh tokens, grants, browser sessions and replay-cache
    entries now (``idp serve`` also does it every 15 minutes, one worker at a time)."""
    from idp import purge as purging

    settings = _settings()
    with _sessions(settings) as sessions:
        done = purging.purge_expired(sessions, grace=dt.timedelta(hours=grace_hours))
    click.echo(" ".join(f"{name}={count}" for name, count in done.as_dict().items()))


@main.group("client")
def client_group() -> None:
    """OAuth clients (apps): create, list, move along their life."""


F = TypeVar("F", bound=Callable[..., Any])


def _operator() -> audit.Context:
    return audit.Context(actor=f"cli:{os.environ.get('USER', 'operator')}")


def _jwks_option(text: str | None, file: TextIO | None) -> object:
    """``--jwks`` or ``--jwks-file``: parsed here, checked by ``directory.apps``."""
    import json

    if text is not None and file is not None:
        raise click.UsageError("give --jwks or --jwks-file, not both")
    raw = text if text is not None else (file.read() if file is not None else None)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--jwks") from exc


def _key_options(id_token_default: str | None) -> Callable[[F], F]:
    """``--jwks``, ``--jwks-file``, ``--jwks-uri`` and ``--id-token-alg``, as ``client
    create`` and ``client set-keys`` take them (set-keys: unchanged when left out)."""
    options = [
        click.option("--jwks", "jwks_json", help="private_key_jwt: the client's public keys, "
                     "a JWKS as JSON (EC P-256 or RSA >= 2048 bits, a kid each if several; "
                     "replaces the registered keys or URL)"),
        click.option("--jwks-file", type=click.File("r", encoding="utf-8"),
                     help="private_key_jwt: the same, read from a file"),
        click.option("--jwks-uri", help="private_key_jwt: instead, the https URL the client "
                     "serves its JWKS at (fetched and cached by the server; http on loopback "
                     "only)"),
        click.option("--id-token-alg", default=id_token_default,
                     show_default=id_token_default is not None,
                     type=click.Choice(["ES256", "RS256"]),
                     help="the algorithm of the client's ID tokens "
                          "(id_token_signed_response_alg)")]

    def apply(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command
    return apply


@client_group.command("create")
@click.option("--name", required=True, help="the app's name, e.g. 协同办公")
@click.option("--redirect-uri", "redirect_uris", multiple=True,
              help="exact redirect URI (kept for the authorization code grant)")
@click.option("--grant-type", "grant_types", multiple=True,
              help="client_credentials (default for confidential clients), "
                   "authorization_code, refresh_token (the default pair for --public)")
@click.option("--scope", "scopes", multiple=True, help="a scope the client may ask for")
@click.option("--auth-method", default="client_secret_basic", show_default=True,
              type=click.Choice(["client_secret_basic", "client_secret_post",
                                 "private_key_jwt"]))
@_key_options(id_token_default="ES256")
@click.option("--public", is_flag=True,
              help="a public client (no secret, token_endpoint_auth_method none, PKCE)")
@click.option("--state", default="applied", show_default=True,
              type=click.Choice(["applied", "approved", "testing", "online"]))
@click.option("--unit", "unit_code", help="code of the app's unit (使用单位)")
@click.option("--node", "node_codes", multiple=True,
              help="code of a subtree the app may read with its own token")
@click.option("--contact-name", help="接入单位联系人 (form 1.1)")
@click.option("--contact-phone", help="the contact's phone")
@click.option("--contact-email", help="the contact's e-mail")
@click.option("--tech-lead", "tech_lead_name", help="技术负责人")
@click.option("--tech-lead-phone", help="the technical lead's phone")
@click.option("--url", help="the app's address (应用 URL 地址), shown on the portal")
@click.option("--icon", "icon_url", help="the app's icon URL (应用图标)")
@click.option("--access-mode", "access_modes", multiple=True,
              type=click.Choice(["sso", "todo", "message"]),
              help="接入方式: sso 单点登录, todo 统一待办, message 统一消息")
@click.option("--needs-user-sync/--no-user-sync", default=None,
              help="是否需要用户对接: the app gets the users pushed (SCIM)")
@click.option("--backchannel-logout-uri",
              help="OIDC back-channel logout URI (https; http on loopback only)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def client_create(name: str, redirect_uris: tuple[str, ...], grant_types: tuple[str, ...],
                  scopes: tuple[str, ...], auth_method: str, jwks_json: str | None,
                  jwks_file: TextIO | None, jwks_uri: str | None, id_token_alg: str,
                  public: bool, state: str,
                  unit_code: str | None, node_codes: tuple[str, ...], as_json: bool,
                  **form: object) -> None:
    """Register a client; a secret (client_secret_basic or _post) is printed once and
    stored hashed; a private_key_jwt client registers its public keys instead."""
    import json

    from directory import app_access
    from directory import apps
    from directory import queries

    if public and not redirect_uris:
        raise click.ClickException("public clients need at least one --redirect-uri "
                                   "(they use the authorization code grant with PKCE)")
    if not grant_types:
        grant_types = (("authorization_code", "refresh_token") if public
                       else ("client_credentials",))
    if public:
        auth_method = "none"
    jwks = _jwks_option(jwks_json, jwks_file)
    settings = _settings()
    with _sessions(settings) as sessions, sessions.begin() as session:
        def node_id(code: str, option: str) -> uuid.UUID:
            node = queries.node_by_code(session, code)
            if node is None:
                raise click.ClickException(f"{option}: no node with code {code!r}")
            return node.id

        unit = node_id(unit_code, "--unit") if unit_code else None
        try:
            app, secret = apps.create_client(session, _operator(), apps.ClientSpec(
                name=name, grant_types=grant_types, scope=scopes,
                redirect_uris=redirect_uris, auth_method=auth_method,
                unit_node_id=unit, status=state, jwks=jwks, jwks_uri=jwks_uri,
                id_token_alg=id_token_alg))
            if node_codes:
                apps.set_directory_access(
                    session, _operator(), app,
                    scope_node_ids=[node_id(c, "--node") for c in node_codes],
                    hidden_node_ids=[], upward=False)
            profile = {k: (list(v) if isinstance(v, tuple) else v) for k, v in form.items()
                       if v is not None and v != ()}
            if profile:
                app_access.set_profile(session, _operator(), app, profile)
        except DomainError as exc:
            raise click.ClickException(f"{exc.field or 'client'}: {exc.message}") from exc
        out = {"client_id": app.client_id, "client_secret": secret, "name": app.name,
               "status": app.status.value, "grant_types": app.grant_types.split(),
               "scope": app.scope, "token_endpoint_auth_method": auth_method,
               "id_token_signed_response_alg": app.id_token_signed_response_alg,
               "redirect_uris": app.redirect_uris.splitlines(),
               **({"jwks": jwks} if jwks is not None else {}),
               **({"jwks_uri": app.jwks_uri} if app.jwks_uri else {}),
               **{k: v for k, v in app_access.profile(app).items() if v not in (None, [])}}
        if secret is None:
            del out["client_secret"]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        for key, value in out.items():
            click.echo(f"{key}: {value}")
        if secret is not None:
            click.echo("the secret is shown once; it is stored only as a digest")


@client_group.command("list")
def client_list() -> None:
    """Every app with its client id and state."""
    from directory.models import App

    settings = _settings()
    with _sessions(settings) as sessions, sessions() as session:
        for app in session.scalars(select(App).order_by(App.created_at)):
            click.echo(f"{app.client_id}\t{app.status.value}\t{app.name}")


@client_group.command("set-keys")
@click.argument("client_id")
@_key_options(id_token_default=None)
def client_set_keys(client_id: str, jwks_json: str | None, jwks_file: TextIO | None,
                    jwks_uri: str | None, id_token_alg: str | None) -> None:
    """Replace a client's public keys or their URL (to rotate an inline key: register old
    and new, then the new alone; a jwks_uri client rotates at its URL) and/or change its
    ID token algorithm (audited)."""
    from directory import apps
    from directory import client_auth

    jwks = _jwks_option(jwks_json, jwks_file)
    changes = {name: value for name, value in (
        ("jwks", jwks), ("jwks_uri", jwks_uri), ("id_token_signed_response_alg", id_token_alg))
        if value is not None}
    settings = _settings()
    with _sessions(settings) as sessions, sessions.begin() as session:
        try:
            app = apps.get_app(session, client_id)
            client_auth.set_client_auth(session, _operator(), app, changes)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(f"{client_id}: keys set")


@client_group.command("set-state")
@click.argument("client_id")
@click.argument("state", type=click.Choice(["approved", "rejected", "testing", "online",
                                            "offline", "deregistered"]))
@click.option("--reason", help="why (recorded in the audit log)")
def client_set_state(client_id: str, state: str, reason: str | None) -> None:
    """Move an app along its life (applied → approved → testing → online ⇄ offline)."""
    from directory import apps

    settings = _settings()
    with _sessions(settings) as sessions, sessions.begin() as session:
        try:
            app = apps.get_app(session, client_id)
            apps.set_status(session, _operator(), app, state, reason)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(f"{client_id}: {state}")


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the hash chain; name every edited, inserted or deleted record."""
    settings = _settings()
    with _sessions(settings) as sessions, sessions() as session:
        findings = [str(f) for f in audit.verify(session)]
        seq, digest = audit.head(session)
    for line in findings:
        click.echo(line)
    if findings:
        click.echo(f"audit chain BROKEN: {len(findings)} finding(s)", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {seq} records, head {digest}")



@main.group("account")
def account_group() -> None:
    """Accounts: freeze and unfreeze (冻结, 000 §17)."""


def _account_command(username: str, action: str, as_json: bool) -> None:
    """Freeze or unfreeze one account as the operator; print what happened."""
    import json

    from directory import queries
    from idp.oidc import backchannel

    settings = _settings()
    notices: list[backchannel.Notice] = []
    with _sessions(settings) as sessions:
        with sessions.begin() as session:
            account = queries.account_by_username(session, username.strip().lower())
            if account is None:
                raise click.ClickException(f"no account named {username!r}")
            try:
                if action == "freeze":
                    notices = backchannel.for_account(session, account.id)
                    accounts.freeze(session, _operator(), account.id)
                else:
                    accounts.unfreeze(session, _operator(), account.id)
            except DomainError as exc:
                raise click.ClickException(f"{exc.code}: {exc.message}") from exc
            out = {"username": account.username, "status": account.status.value}
        # after the commit: every app that had a grant on the ended sessions is told
        backchannel.deliver(sessions, settings.directory().cipher, settings.issuer, notices,
                            _operator())
    click.echo(json.dumps(out) if as_json else f"{out['username']}: {out['status']}")


@account_group.command("freeze")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def account_freeze(username: str, as_json: bool) -> None:
    """Freeze an account: its sessions end and its grants are revoked at once."""
    _account_command(username, "freeze", as_json)


@account_group.command("unfreeze")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def account_unfreeze(username: str, as_json: bool) -> None:
    """Unfreeze a frozen account (its sessions stay ended: the user signs in again)."""
    _account_command(username, "unfreeze", as_json)


@main.group("password")
def password_group() -> None:
    """Passwords set by an operator."""


@password_group.command("set")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True,
              help="read the password from standard input (never from the command line)")
@click.option("--temporary", is_flag=True,
              help="the user must choose a new password at the next sign-in")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def password_set(username: str, password_stdin: bool, temporary: bool, as_json: bool) -> None:
    """Set an account's password; ends its sessions and grants and clears its lockout."""
    import json

    from directory import queries
    from idp import throttle
    from idp.login import password_refusal

    password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()
    with _sessions(settings) as sessions, sessions.begin() as session:
        account = queries.account_by_username(session, username.strip().lower())
        if account is None:
            raise click.ClickException(f"no account named {username!r}")
        refusal = password_refusal(account.username, password)
        if refusal is not None:
            raise click.ClickException(f"password refused: {refusal} (see docs/login.md)")
        accounts.set_password(session, settings.directory(), _operator(), account.id,
                              password, must_change=temporary)
        accounts.revoke_everything(session, account.id, "password_reset")
        throttle.reset(session, account.id)
        out = {"username": account.username, "must_change_password": temporary}
    click.echo(json.dumps(out) if as_json else
               f"{out['username']}: password set"
               + (" (temporary: to be changed at the next sign-in)" if temporary else ""))



@main.group("scim-token")
def scim_token_group() -> None:
    """Bearer tokens for SCIM clients that cannot run the client credentials grant."""


@scim_token_group.command("issue")
@click.argument("client_id")
@click.option("--days", default=90, show_default=True, type=int, help="lifetime (1–366)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def scim_token_issue(client_id: str, days: int, as_json: bool) -> None:
    """Issue a token that acts as the app CLIENT_ID within its scope; shown once."""
    import json

    from directory import scim_commands

    settings = _settings()
    with _sessions(settings) as sessions, sessions.begin() as session:
        try:
            row, token = scim_commands.issue_token(session, _operator(), client_id, days)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc
        out = {"token_id": str(row.id), "token": token, "expires_at": row.expires_at.isoformat()}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"token (shown once): {out['token']}\nid: {out['token_id']}\n"
                   f"expires: {out['expires_at']}")


@scim_token_group.command("list")
@click.argument("client_id")
def scim_token_list(client_id: str) -> None:
    """The app's tokens: id, created, expiry, revoked (never the tokens themselves)."""
    from directory import scim_store

    settings = _settings()
    with _sessions(settings) as sessions, sessions() as session:
        try:
            rows = scim_store.tokens_of(session, client_id)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc
        for row in rows:
            revoked = row.revoked_at.isoformat() if row.revoked_at else "-"
            click.echo(f"{row.id}\t{row.created_at.isoformat()}\t{row.expires_at.isoformat()}"
                       f"\t{revoked}")


@scim_token_group.command("revoke")
@click.argument("token_id", type=click.UUID)
def scim_token_revoke(token_id: uuid.UUID) -> None:
    """Revoke a token at once (audited)."""
    from directory import scim_commands

    settings = _settings()
    with _sessions(settings) as sessions, sessions.begin() as session:
        try:
            scim_commands.revoke_token(session, _operator(), token_id)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(f"revoked {token_id}")


if __name__ == "__main__":
    main()
