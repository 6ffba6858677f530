"""`idp serve` under gunicorn and granian: a real process answering on loopback."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

IDP = str(Path(sys.executable).with_name("idp"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 30.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_serve_with_gunicorn_workers(cli_env, sessions) -> None:
    env = os.environ | cli_env
    subprocess.run([IDP, "init"], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([IDP, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == {"status": "ok"}
        assert wait_for(f"http://127.0.0.1:{port}/readyz") == {"status": "ready"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    assert "Booting worker" in output


@pytest.mark.slow
def test_serve_with_granian_workers(cli_env, sessions) -> None:
    """``--server granian``: two workers answer the health checks, and the token lane
    (the WSGI layer in front of Flask) issues a client-credentials token with the headers
    Flask's hooks add; granian's access log has the request line."""
    env = os.environ | cli_env
    subprocess.run([IDP, "init"], env=env, check=True, capture_output=True)
    made = subprocess.run([IDP, "client", "create", "--name", "人事系统", "--scope", "directory",
                           "--state", "online", "--json"], env=env, check=True,
                          capture_output=True, text=True)
    client = json.loads(made.stdout)
    port = free_port()
    proc = subprocess.Popen([IDP, "serve", "--server", "granian", "--port", str(port),
                             "--workers", "2", "--threads", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/healthz") == {"status": "ok"}
        assert wait_for(f"{base}/readyz") == {"status": "ready"}
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
        request = urllib.request.Request(
            f"{base}/oauth/token", data=b"grant_type=client_credentials&scope=directory",
            headers={"Authorization": f"Basic {basic.decode()}", "X-Request-ID": "granian-0001",
                     "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            token = json.load(response)
            assert response.headers["X-Request-ID"] == "granian-0001"
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert token["token_type"] == "Bearer" and token["scope"] == "directory"
        assert token["access_token"].count(".") == 2
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    assert '"POST /oauth/token HTTP/1.1" 200' in output


def test_serve_refuses_public_plain_http_issuer(cli_env) -> None:
    env = os.environ | cli_env | {"IDP_ISSUER": "http://idp.example.gov.cn"}
    result = subprocess.run([IDP, "serve", "--port", str(free_port())], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "IDP_ISSUER" in result.stderr
