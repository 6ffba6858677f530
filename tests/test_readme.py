"""The README's first command on a clean clone: `make run` installs, initialises, loads the
demo, serves, and prints the demo admin's login. (`make test` on a clean clone is what CI
itself runs through `.ci/run`.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.idp.test_serve import free_port
from tests.idp.test_serve import wait_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_make_run_on_a_clean_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IDP_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if ".venv" not in p)
    port = free_port()
    proc = subprocess.Popen(["make", "run", f"PORT={port}", "WORKERS=1"], cwd=clone, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode(errors="replace") for line in proc.stdout),
        daemon=True)
    reader.start()
    try:
        assert wait_for(f"http://127.0.0.1:{port}/readyz", seconds=900) == {"status": "ready"}
        deadline = time.monotonic() + 30
        while not any("serving on" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        proc.stdout.close()
    output = "".join(lines)
    assert re.search(r"system administrator: admin / \S+", output), output[-3000:]
    assert "TOTP secret:" in output
    assert (clone / "var" / "idp.db").exists()
    assert (clone / "var" / "idp.toml").stat().st_mode & 0o777 == 0o600
