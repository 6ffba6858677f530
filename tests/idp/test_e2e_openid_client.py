"""End to end with a real third-party relying party: panva's ``openid-client`` (npm,
``tests/e2e``; ``make test`` installs it) performs discovery, authorization code + PKCE
through our sign-in form, ID token validation (signature against our JWKS included),
userinfo, refresh, introspection, revocation and RP-initiated logout against this server
listening on a loopback port."""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from directory import accounts
from directory import apps
from directory import audit
from idp import create_app
from idp import store
from idp.app import runtime
from tests import factories as f
from tests.conftest import _truncate

E2E = Path(__file__).resolve().parents[1] / "e2e"
PASSWORD = "Qingpu-e2e-2026!"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(engine, settings) -> Iterator[tuple[str, object]]:
    _truncate(engine)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    app = create_app(dataclasses.replace(settings, issuer=issuer))
    http = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield issuer, app
    http.shutdown()
    runtime(app).engine.dispose()


def test_openid_client_end_to_end(server, sessions, dsettings, ctx) -> None:
    issuer, app = server
    node = shutil.which("node")
    assert node is not None, "Node.js runs the third-party relying party"
    assert (E2E / "node_modules" / "openid-client").is_dir(), "run `make install-test`"
    redirect_uri = f"{issuer}/cb"
    with sessions.begin() as s:
        store.ensure_signing_keys(s, dsettings.cipher, audit.Context(actor="test"))
        t = f.qingpu(s, ctx)
        person = f.person(s, dsettings, ctx, t["office"], "李娜", mobile="13812345678")
        account = accounts.create(s, dsettings, ctx, username="lina", account_type="user",
                                  person_id=person.id)
        accounts.set_password(s, dsettings, ctx, account.id, PASSWORD)
        client, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="协同办公", grant_types=("authorization_code", "refresh_token"),
            scope=("openid", "profile", "phone", "org", "offline_access"),
            redirect_uris=(redirect_uri,), auth_method="client_secret_basic",
            status="online"))
        client_id, account_id = client.client_id, str(account.id)
        office = (str(t["office"].id), t["office"].name)
    assert secret is not None
    done = subprocess.run(
        [node, str(E2E / "rp.mjs"), issuer, client_id, secret, redirect_uri, "lina", PASSWORD],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["discovery"] == {"issuer": issuer}
    assert seen["callback_has_iss"] is True  # RFC 9207
    assert seen["id_token"]["sub"] == account_id
    assert seen["id_token"]["aud"] == client_id
    assert seen["id_token"]["nonce"] is True and seen["id_token"]["sid"] is True
    assert seen["id_token"]["amr"] == ["pwd"]
    assert seen["token"]["token_type"].lower() == "bearer" and seen["token"]["has_refresh"]
    info = seen["userinfo"]
    assert info["sub"] == account_id and info["name"] == "李娜"
    assert info["preferred_username"] == "lina"
    assert info["phone_number"] == "+8613812345678"
    assert [(p["node_id"], p["node_name"]) for p in info["org"]["posts"]] == [office]
    assert "id_number" not in json.dumps(info)
    assert seen["refresh"] == {"rotated": True, "has_access": True}
    assert seen["introspection_before"] is True
    assert seen["introspection_after_revocation"] is False
    assert seen["logout"] == {"redirected_to": redirect_uri, "state": "bye"}
    assert seen["introspection_after_logout"] is False
    assert seen["after_logout_prompt_none"] == "login_required"

