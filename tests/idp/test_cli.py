"""The idp command line, run through click's runner against the test database."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from directory import queries
from directory.models import Account
from directory.models import AuditEvent
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.models import SigningKey
from directory.models import Tag
from tests.idp.support import run


def test_init_is_idempotent(cli_env, sessions) -> None:
    first = run(cli_env, "init")
    assert first.exit_code == 0, first.output
    assert "2 new signing key(s)" in first.output
    again = run(cli_env, "init")
    assert again.exit_code == 0 and "0 new signing key(s)" in again.output
    with sessions() as s:
        keys = s.scalars(select(SigningKey)).all()
    assert sorted(k.alg for k in keys) == ["ES256", "RS256"]
    assert all("PRIVATE" not in k.private_enc for k in keys)


def test_init_writes_private_config_on_first_run(cli_env, sessions, tmp_path) -> None:
    env = {k: v for k, v in cli_env.items() if k not in ("IDP_SECRET_KEY",)}
    env["IDP_CONFIG"] = str(tmp_path / "fresh" / "idp.toml")
    result = run(env, "init")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh" / "idp.toml").stat().st_mode & 0o777 == 0o600


def test_no_account_exists_until_admin_create(cli_env, sessions) -> None:
    run(cli_env, "init")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 0
    result = run(cli_env, "admin", "create", "--username", "root-admin", "--password-stdin",
                 stdin="Correct-Horse-Battery-9\n")
    assert result.exit_code == 0, result.output
    secret = re.search(r"TOTP secret: ([A-Z2-7]+)", result.output).group(1)
    assert "Correct-Horse" not in result.output
    with sessions() as s:
        account = queries.account_by_username(s, "root-admin")
        assert account.type.value == "system_admin"
        assert account.totp_secret_enc and secret not in account.totp_secret_enc
    assert pyotp.TOTP(secret).now().isdigit()


def test_admin_create_refuses_short_password_and_names_field(cli_env, sessions) -> None:
    run(cli_env, "init")
    result = run(cli_env, "admin", "create", "--username", "a1b", "--password-stdin",
                 stdin="short\n")
    assert result.exit_code == 1
    assert "directory.account.password_length (password)" in result.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 0


def test_config_refusal_is_explained(cli_env, sessions) -> None:
    result = run(cli_env | {"IDP_SECRET_KEY": "changeme"}, "audit", "verify")
    assert result.exit_code == 1
    assert "IDP_SECRET_KEY" in result.output


def test_audit_verify_names_tampered_record(cli_env, sessions) -> None:
    run(cli_env, "init")
    run(cli_env, "admin", "create", "--username", "auditor", "--password-stdin",
        stdin="Correct-Horse-Battery-9\n")
    ok = run(cli_env, "audit", "verify")
    assert ok.exit_code == 0 and "audit chain intact" in ok.output
    with sessions.begin() as s:
        s.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2"))
    bad = run(cli_env, "audit", "verify")
    assert bad.exit_code == 1
    assert "record 2: contents do not match its hash" in bad.output


@pytest.mark.slow
def test_demo_builds_qingpu(cli_env, sessions) -> None:
    run(cli_env, "init")
    result = run(cli_env, "demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert re.search(r"system administrator: admin / \S+", result.output)
    assert "TOTP secret:" in result.output and "█" in result.output
    for cls in ("Q1", "Q2", "Q3", "Q4"):
        assert re.search(rf"^  {cls}  u\d+", result.output, re.M), cls
    with sessions() as s:
        levels = dict(s.execute(select(Node.level, func.count()).group_by(Node.level)).all())
        assert levels[0] == 1 and levels[1] == 10 and levels[2] >= 30
        assert s.scalar(select(func.count()).select_from(Node).where(Node.hidden)) == 1
        persons = s.scalar(select(func.count()).select_from(Person))
        assert 1800 <= persons <= 2300
        classes = dict(s.execute(select(Person.visibility_class, func.count())
                                 .group_by(Person.visibility_class)).all())
        assert set(c.value for c in classes) == {"Q1", "Q2", "Q3", "Q4"}
        kinds = dict(s.execute(select(Post.kind, func.count()).group_by(Post.kind)).all())
        assert kinds and all(kinds.get(k, 0) > 0 for k in kinds)
        assert {k.value for k in kinds} == {"primary", "concurrent", "secondment"}
        assert s.scalar(select(func.count()).select_from(Tag)) >= 5
        assert s.scalar(select(func.count()).select_from(AuditEvent)) > persons
    again = run(cli_env, "demo", "--if-empty")
    assert again.exit_code == 0 and "not loaded again" in again.output
    assert "system administrator: admin" in again.output
    assert run(cli_env, "audit", "verify").exit_code == 0
