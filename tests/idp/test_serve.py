"""`idp serve` under gunicorn: a real process answering on loopback."""

from __future__ import annotations

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


def test_serve_refuses_public_plain_http_issuer(cli_env) -> None:
    env = os.environ | cli_env | {"IDP_ISSUER": "http://idp.example.gov.cn"}
    result = subprocess.run([IDP, "serve", "--port", str(free_port())], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "IDP_ISSUER" in result.stderr
