"""#4 benchmark: the token endpoint and sign-in per server core, measured with wrk on loopback.

* client credentials tokens/s: ours (``idp serve`` with one worker process, ``--server``
  granian (default) or gunicorn, ``--threads`` threads, default 3: "per core" is one process
  on one CPU) against the peer, panva's oidc-provider (npm, ``bench/oidc``, one Node.js process), both issuing ES256
  JWT access tokens, in the same run; target ≥ 1.5× the peer;
* refresh grants/s on the database given (target ≥ 1,000 on PostgreSQL): each request
  redeems a different refresh token (rotation makes every token single use), pre-made as
  grant rows so that no sign-in is timed;
* password sign-ins/s (argon2id at the OWASP floor): ``POST /login`` with a valid CSRF
  pair, answered 302 with a new session (target ≥ 40).

The servers run pinned to CPU 1 (``taskset``), wrk to CPU 0, and a local PostgreSQL's
processes are kept to CPU 0 for the run (``database_on``), every run bounded by
``--duration``. Each run appends one JSON line to ``bench/results/oidc_tokens.jsonl``.

    .venv/bin/python bench/oidc_tokens.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_oidc

DESTROYS the database given (PostgreSQL: schema public; SQLite: the file).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from directory import accounts  # noqa: E402
from directory import apps  # noqa: E402
from directory import audit  # noqa: E402
from directory.db import make_engine  # noqa: E402
from directory.db import make_sessionmaker  # noqa: E402
from directory.db import utcnow  # noqa: E402
from directory.migrate import upgrade  # noqa: E402
from directory.models import BrowserSession  # noqa: E402
from directory.models import OAuthGrant  # noqa: E402
from directory.models import RefreshToken  # noqa: E402
from idp import store  # noqa: E402
from idp.config import Settings  # noqa: E402

SECRETS = {  # fixed benchmark keys, never real ones
    "secret_key": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "data_keys": {"b1": "YmVuY2gtZGF0YS1rZXktYmVuY2gtZGF0YS1rZXktMDE"},
    "data_key_id": "b1",
    "index_key": "YmVuY2gtaW5kZXgta2V5LWJlbmNoLWluZGV4LWstMDE",
}
CTX = audit.Context(actor="cli:bench")
PASSWORD = "Bench-sign-in-2026!"
PEER = ROOT / "bench" / "oidc"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        path = make_url(str(engine.url)).database
        engine.dispose()
        if path and os.path.exists(path):
            os.remove(path)


@dataclasses.dataclass
class World:
    cc_client: str
    cc_secret: str
    rp_client: str
    rp_secret: str
    refresh_tokens: list[str]


def setup(url: str, refresh_tokens: int) -> World:
    engine = make_engine(url)
    reset(engine)
    engine = make_engine(url)
    upgrade(engine)
    dsettings = Settings(database_url=url, **SECRETS).directory()  # type: ignore[arg-type]
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        store.ensure_signing_keys(s, dsettings.cipher, CTX)
        cc, cc_secret = apps.create_client(s, CTX, apps.ClientSpec(
            name="基准应用", grant_types=("client_credentials",), scope=("directory",),
            status="online"))
        rp, rp_secret = apps.create_client(s, CTX, apps.ClientSpec(
            name="协同办公", grant_types=("authorization_code", "refresh_token"),
            scope=("openid", "offline_access"), redirect_uris=("https://app.example/cb",),
            status="online"))
        account = accounts.create(s, dsettings, CTX, username="bench", account_type="user")
        accounts.set_password(s, dsettings, CTX, account.id, PASSWORD)
        now = utcnow()
        browser = BrowserSession(id=hashlib.sha256(b"bench-browser").hexdigest(),
                                 account_id=account.id, created_at=now, last_seen_at=now,
                                 auth_time=now, expires_at=now + dt.timedelta(hours=12),
                                 amr="pwd")
        s.add(browser)
        s.flush()
        raws = [secrets.token_urlsafe(32) for _ in range(refresh_tokens)]
        grants = [{"id": uuid.uuid4(), "client_id": rp.client_id, "account_id": account.id,
                   "session_id": browser.id, "scope": "openid offline_access",
                   "auth_time": now, "created_at": now,
                   "expires_at": now + dt.timedelta(days=30)} for _ in raws]
        for start in range(0, len(grants), 5000):
            s.execute(insert(OAuthGrant), grants[start:start + 5000])
            s.execute(insert(RefreshToken), [
                {"token_hash": hashlib.sha256(raw.encode()).hexdigest(), "grant_id": g["id"],
                 "created_at": now, "expires_at": now + dt.timedelta(days=30)}
                for raw, g in zip(raws[start:start + 5000], grants[start:start + 5000],
                                  strict=True)])
        assert cc_secret is not None and rp_secret is not None
        world = World(cc.client_id, cc_secret, rp.client_id, rp_secret, raws)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return world


def wait_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None) -> Iterator[None]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def environment(url: str, base: str) -> dict[str, str]:
    """``idp serve``'s environment: the database, the issuer and the benchmark keys."""
    return {**os.environ, "IDP_DATABASE_URL": url, "IDP_ISSUER": base,
            "IDP_SECRET_KEY": SECRETS["secret_key"], "IDP_DATA_KEY_ID": SECRETS["data_key_id"],
            "IDP_DATA_KEYS": ",".join(f"{k}:{v}" for k, v in SECRETS["data_keys"].items()),
            "IDP_INDEX_KEY": SECRETS["index_key"], "IDP_LOG_LEVEL": "WARNING",
            "IDP_CONFIG": "/nonexistent/idp.toml"}


def serve_ours(port: int, threads: int, server: str = "gunicorn") -> list[str]:
    """Our server: one worker process (gunicorn's or granian's) pinned to CPU 1."""
    idp = str(ROOT / ".venv" / "bin" / "idp")
    return pinned(1, [idp, "serve", "--server", server, "--no-access-log", "--host", "127.0.0.1",
                      "--port", str(port), "--workers", "1", "--threads", str(threads)])


def record(name: str, load_before: object, args: argparse.Namespace, data: dict) -> None:
    """One JSON line a run in ``bench/results/<name>.jsonl``."""
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    with (out / f"{name}.jsonl").open("a") as fh:
        fh.write(json.dumps({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "machine": platform.machine(), "cpus": os.cpu_count(),
                             "load_before": load_before, "load": os.getloadavg(),
                             "args": vars(args), **data}) + "\n")


def pinned(cpu: int, args: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *args] if shutil.which("taskset") else args


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


@contextmanager
def database_on(url: str, cpu: int) -> Iterator[None]:
    """A local PostgreSQL's processes (the postmaster, so every backend it forks meanwhile,
    and those running) kept to ``cpu`` for the run, then given back the CPUs they had: the
    server under test has its core to itself, the database on the load generator's, as a
    database server of its own would be in production. Nothing is done for SQLite or a
    database on another machine."""
    if not url.startswith("postgresql") or not hasattr(os, "sched_setaffinity"):
        yield
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        backend = int(conn.scalar(text("SELECT pg_backend_pid()")))
    engine.dispose()
    try:
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        before = os.sched_getaffinity(postmaster)
    except OSError:
        yield  # not on this machine
        return
    for pid in [postmaster, *_children(postmaster)]:
        try:
            os.sched_setaffinity(pid, {cpu})
        except OSError:
            continue
    try:
        yield
    finally:
        for pid in [postmaster, *_children(postmaster)]:
            try:
                os.sched_setaffinity(pid, before)
            except OSError:
                continue


def basic(client_id: str, secret: str) -> str:
    pair = f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def wrk(url: str, script: str, duration: int, connections: int, workdir: Path) -> dict:
    lua = workdir / f"s{secrets.token_hex(4)}.lua"
    lua.write_text(script)
    out = subprocess.run(pinned(0, ["wrk", "-t1", f"-c{connections}", f"-d{duration}s",
                                    "--timeout", "10s", "-s", str(lua), url]),
                         capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    return {"rps": rate, "requests": total, "non_2xx_3xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None,
            "latency_avg": latency.group(1) if latency else None}


def post_script(path: str, auth: str | None, body: str, cookie: str | None = None) -> str:
    headers = ['wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"']
    if auth:
        headers.append(f'wrk.headers["Authorization"] = "{auth}"')
    if cookie:
        headers.append(f'wrk.headers["Cookie"] = "{cookie}"')
    return "\n".join(['wrk.method = "POST"', f'wrk.path = "{path}"',
                      f"wrk.body = {json.dumps(body)}", *headers]) + "\n"


def refresh_script(auth: str, tokens_file: Path) -> str:
    return f"""
local tokens = {{}}
for line in io.lines("{tokens_file}") do tokens[#tokens + 1] = line end
local i = 0
local headers = {{}}
headers["Content-Type"] = "application/x-www-form-urlencoded"
headers["Authorization"] = "{auth}"
request = function()
  i = i + 1
  if i > #tokens then i = #tokens end
  return wrk.format("POST", "/oauth/token", headers,
                    "grant_type=refresh_token&refresh_token=" .. tokens[i])
end
"""


def login_pair(base: str) -> tuple[str, str]:
    """A CSRF cookie and its form token, as a browser gets them from GET /login."""
    with urllib.request.urlopen(base + "/login", timeout=10) as resp:
        page = resp.read().decode()
        cookie = next(c.split(";", 1)[0] for c in resp.headers.get_all("Set-Cookie")
                      if c.startswith("idp_csrf="))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return cookie, token


def check(url: str, auth: str, body: str) -> int:
    request = urllib.request.Request(url, data=body.encode(), headers={
        "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="database (DESTROYED first)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--refresh-tokens", type=int, default=40000)
    parser.add_argument("--threads", type=int, default=3,
                        help="threads of our one worker process (idp serve --threads)")
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="granian",
                        help="our HTTP server (idp serve --server)")
    args = parser.parse_args(argv)
    for tool in ("wrk", "node"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is needed (apt-get install wrk; Node.js)")
    if not (PEER / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=PEER, check=True)
    started = time.time()
    load_before = os.getloadavg()
    print(f"load before: {load_before}", flush=True)
    world = setup(args.url, args.refresh_tokens)
    print(f"setup: {len(world.refresh_tokens):,} refresh tokens, {time.time() - started:.0f} s",
          flush=True)
    ours, peer = free_port(), free_port()
    base = f"http://127.0.0.1:{ours}"
    results: dict[str, dict] = {}
    cc_body = "grant_type=client_credentials&scope=directory"
    peer_secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp, database_on(args.url, 0), \
            process(serve_ours(ours, args.threads, args.server), environment(args.url, base)), \
            process(pinned(1, ["node", str(PEER / "provider.mjs"), str(peer), "bench-client",
                               peer_secret])):
        work = Path(tmp)
        wait_up(base + "/healthz")
        wait_up(f"http://127.0.0.1:{peer}/.well-known/openid-configuration")
        ours_auth = basic(world.cc_client, world.cc_secret)
        peer_auth = basic("bench-client", peer_secret)
        assert check(base + "/oauth/token", ours_auth, cc_body) == 200
        assert check(f"http://127.0.0.1:{peer}/token", peer_auth, cc_body) == 200
        for rnd in range(2):  # alternate, twice: the machine's noise hits both
            for name, url, auth, path in (("ours", base, ours_auth, "/oauth/token"),
                                          ("peer", f"http://127.0.0.1:{peer}", peer_auth,
                                           "/token")):
                r = wrk(url, post_script(path, auth, cc_body), args.duration,
                        args.connections, work)
                results[f"client_credentials/{name}/{rnd}"] = r
                print(f"client credentials, {name}, round {rnd + 1}: {r['rps']:.0f}/s "
                      f"({r['non_2xx_3xx']} non-2xx)", flush=True)
        rp_auth = basic(world.rp_client, world.rp_secret)
        first = world.refresh_tokens.pop()
        assert check(base + "/oauth/token", rp_auth,
                     f"grant_type=refresh_token&refresh_token={first}") == 200
        tokens_file = work / "refresh.txt"
        tokens_file.write_text("\n".join(world.refresh_tokens) + "\n")
        r = wrk(base, refresh_script(rp_auth, tokens_file), args.duration, args.connections,
                work)
        results["refresh/ours"] = r
        print(f"refresh grants: {r['rps']:.0f}/s ({r['non_2xx_3xx']} non-2xx of "
              f"{r['requests']}; {len(world.refresh_tokens):,} tokens)", flush=True)
        cookie, token = login_pair(base)
        body = urllib.parse.urlencode({"csrf_token": token, "login": "bench",
                                       "password": PASSWORD})
        r = wrk(base, post_script("/login", None, body, cookie), args.duration,
                args.connections, work)
        results["sign_in/ours"] = r
        print(f"password sign-ins: {r['rps']:.1f}/s ({r['non_2xx_3xx']} non-2xx/3xx)",
              flush=True)
    ours_cc = max(results[f"client_credentials/ours/{i}"]["rps"] for i in range(2))
    peer_cc = max(results[f"client_credentials/peer/{i}"]["rps"] for i in range(2))
    summary = {
        "client_credentials_ours": ours_cc, "client_credentials_peer": peer_cc,
        "ratio": ours_cc / peer_cc, "refresh": results["refresh/ours"]["rps"],
        "sign_in": results["sign_in/ours"]["rps"]}
    print(f"\n| measure | ours | peer (oidc-provider) | ratio | target |\n|---|---:|---:|---:|---|\n"
          f"| client credentials tokens/s | {ours_cc:.0f} | {peer_cc:.0f} | "
          f"{summary['ratio']:.2f}× | ≥ 1.5× |\n"
          f"| refresh grants/s ({make_url(args.url).get_backend_name()}) | "
          f"{summary['refresh']:.0f} | | | ≥ 1,000 |\n"
          f"| password sign-ins/s | {summary['sign_in']:.1f} | | | ≥ 40 |")
    record("oidc_tokens", load_before, args, {"summary": summary, "runs": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
