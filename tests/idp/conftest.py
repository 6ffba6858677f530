"""Fixtures of the idp tests: a CLI environment and a small world behind the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory import accounts
from directory import audit
from directory import rules
from idp import create_app
from idp import store
from idp.app import runtime
from tests import factories as f
from tests.factories import TEST_SECRETS


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    keys = ",".join(f"{k}:{v}" for k, v in TEST_SECRETS["data_keys"].items())
    return {"IDP_CONFIG": str(tmp_path / "var" / "idp.toml"), "IDP_DATABASE_URL": db_url,
            "IDP_SECRET_KEY": TEST_SECRETS["secret_key"], "IDP_DATA_KEYS": keys,
            "IDP_DATA_KEY_ID": TEST_SECRETS["data_key_id"],
            "IDP_INDEX_KEY": TEST_SECRETS["index_key"]}


@pytest.fixture
def world(sessions, dsettings, ctx, settings, engine):
    app = create_app(settings)
    with sessions.begin() as s:
        store.ensure_signing_keys(s, dsettings.cipher, audit.Context(actor="test"))
        t = f.qingpu(s, ctx)
        secret = f.node(s, ctx, t["edu"], "督查室", hidden=True)
        w = {k: v.id for k, v in t.items()} | {"secret": secret.id}
        people = {
            "leader": f.person(s, dsettings, ctx, t["gov"], "王建国", visibility_class="Q1"),
            "clerk": f.person(s, dsettings, ctx, t["office"], "李娜", mobile="13812345678",
                              id_number=f.id_number()),
            "villager": f.person(s, dsettings, ctx, t["village"], "张伟"),
            "spy": f.person(s, dsettings, ctx, secret, "赵敏"),
        }
        for i in range(7):
            f.person(s, dsettings, ctx, t["office"], f"科员{i}")
        w |= {k: p.id for k, p in people.items()}
        for name in ("clerk", "villager"):
            a = accounts.create(s, dsettings, ctx, username=name, account_type="user",
                                person_id=people[name].id)
            w[f"{name}_account"] = a.id
        rules.set_rule(s, ctx, "Q4", "Q1", "searchable")
    yield app, w
    runtime(app).engine.dispose()
