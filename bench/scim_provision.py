"""#5 benchmark: SCIM provisioning throughput, users/s, ours against the peer in one run.

* ours, single POSTs: ``POST /scim/v2/Users``, one user a request, to ``idp serve
  --workers 1`` (one worker process, ``--server``, ``--threads`` threads) persisting to the
  database given (PostgreSQL in production);
* ours, Bulk: ``POST /scim/v2/Bulk`` with ``--bulk-size`` POST operations a request
  (1,000 = our advertised maxOperations), the same kind of users;
* the peer, single POSTs: ``scim2-server`` (PyPI, the python-scim reference server: its
  own CLI, a threaded wsgiref server, resources in memory).

Every user has a realistic Chinese name (surname + one or two given characters), a
userName, an externalId, a work e-mail and a mobile; ours also carry our extension's posts
with a primary post at a node of a small tree made first (root, categories, departments,
offices). The peer gets the same core attributes without our extension (it does not know
the schema).

The servers run pinned to CPU 1 (``taskset``), the peer during its own phase only, the
load generator (this process: a thread pool of keep-alive ``http.client`` connections,
bodies pre-encoded) on CPU 0. During our phases the growing tables are analyzed every
``--analyze-every`` seconds (this machine's PostgreSQL has autovacuum off). Each phase
stops after ``--users`` users or ``--budget`` seconds, whichever comes first, and reports
the users created per second of wall time (only 201s counted; any other status is
reported). Each run appends one JSON line to ``bench/results/scim_provision.jsonl``.

    .venv/bin/python bench/scim_provision.py \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_scim --users 100000

DESTROYS the database given (PostgreSQL: schema public; SQLite: the file).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import shutil
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from oidc_tokens import SECRETS  # noqa: E402
from oidc_tokens import environment  # noqa: E402
from oidc_tokens import free_port  # noqa: E402
from oidc_tokens import pinned  # noqa: E402
from oidc_tokens import process  # noqa: E402
from oidc_tokens import record  # noqa: E402
from oidc_tokens import reset  # noqa: E402
from oidc_tokens import serve_ours  # noqa: E402
from oidc_tokens import wait_up  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from directory import apps  # noqa: E402
from directory import audit  # noqa: E402
from directory import tree  # noqa: E402
from directory.db import make_engine  # noqa: E402
from directory.db import make_sessionmaker  # noqa: E402
from directory.migrate import upgrade  # noqa: E402
from directory.models import Node  # noqa: E402
from idp import store  # noqa: E402
from idp.config import Settings  # noqa: E402

CTX = audit.Context(actor="cli:bench")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GOV_USER = "urn:govidp:params:scim:schemas:extension:gov:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭肖田董袁潘蒋蔡余杜"
            "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
            "史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红兰建国文辉力鹏飞斌宇浩凯"
         "健俊帆帅旭宁龙林欣婷雪琳晨晓云峰海波亮春梅燕琴颖慧佳嘉怡子轩梓涵博雅思源诗悦"
         "瑞泽锦荣德志勤宏毅晖立新东升永福祥和安康")
# each phase's mobiles in their own range: a mobile is unique, and the Bulk phase's users
# must not collide with the single POSTs' (409) when both phases run their full size
MOBILES = {"s": 0, "b": 300_000_000, "p": 600_000_000}
TITLES = ("科员", "副科长", "科长", "主任科员", "一级科员", "办事员")


def setup(url: str) -> tuple[str, str, list[str]]:
    """A fresh database: signing keys, a small tree, an online SCIM app scoped to the root.
    Returns the client id, its secret and the ids of the nodes people are placed at."""
    engine = make_engine(url)
    reset(engine)
    engine = make_engine(url)
    upgrade(engine)
    dsettings = Settings(database_url=url, **SECRETS).directory()  # type: ignore[arg-type]
    sessions = make_sessionmaker(engine)
    places: list[str] = []
    with sessions.begin() as s:
        store.ensure_signing_keys(s, dsettings.cipher, CTX)
        n = 0

        def node(parent: Node | None, name: str, **kw: object) -> Node:
            nonlocal n
            n += 1
            return tree.create(s, CTX, tree.NewNode(name=name, code=f"B{n:06d}",
                                                    parent_id=parent.id if parent else None,
                                                    **kw))  # type: ignore[arg-type]

        root = node(None, "上海市基准区", short_name="基准区", type="jurisdiction")
        gov = node(root, "上海市基准区人民政府", short_name="区政府", type="category")
        towns = node(root, "镇街道", type="category")
        for dept in ("教育局", "卫生健康委员会", "财政局", "民政局", "人力资源和社会保障局"):
            d = node(gov, f"上海市基准区{dept}", short_name=f"区{dept}", type="department",
                     is_unit=True)
            for office in ("办公室", "人事科", "综合科"):
                places.append(str(node(d, office, type="internal").id))
        for town in ("朱家角镇", "金泽镇", "练塘镇"):
            t = node(towns, f"{town}人民政府", short_name=town, type="town", is_unit=True)
            places.append(str(node(t, "党政办公室", type="internal").id))
            places.append(str(node(t, f"{town}张马村村民委员会", type="village").id))
        app, secret = apps.create_client(s, CTX, apps.ClientSpec(
            name="人事系统", grant_types=("client_credentials",), scope=("scim",),
            status="online"))
        apps.set_directory_access(s, CTX, app, scope_node_ids=[root.id], hidden_node_ids=[],
                                  upward=False)
        assert secret is not None
        client_id = app.client_id
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return client_id, secret, places


def token(base: str, client_id: str, secret: str) -> str:
    pair = f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(secret)}"
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=10)
    conn.request("POST", "/oauth/token", "grant_type=client_credentials&scope=scim", {
        "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 200, body
    return str(body["access_token"])


def person(prefix: str, i: int, places: list[str] | None, rng: random.Random) -> dict:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    user = {"schemas": [USER], "userName": f"{prefix}.{i:07d}@bench.gov.cn",
            "externalId": f"{prefix}-HR-{i:07d}", "displayName": name,
            "name": {"formatted": name, "familyName": name[0], "givenName": name[1:]},
            "emails": [{"value": f"{prefix}.{i:07d}@bench.gov.cn", "type": "work",
                        "primary": True}],
            "phoneNumbers": [{"value": f"1{rng.choice('3589')}{MOBILES[prefix] + i:09d}",
                              "type": "mobile"}]}
    if places is not None:
        user["schemas"] = [USER, GOV_USER]
        user[GOV_USER] = {"posts": [{"node": rng.choice(places), "kind": "primary",
                                     "title": rng.choice(TITLES)}]}
    return user


def encode(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def drive(base: str, path: str, bodies: list[bytes], headers: dict[str, str], threads: int,
          budget: float, created: Callable[[int, bytes], int], timeout: float = 30) -> dict:
    """POST every body (or until the budget runs out) from ``threads`` keep-alive
    connections; ``created`` counts the users an answer made."""
    netloc = urllib.parse.urlsplit(base).netloc
    lock = threading.Lock()
    state = {"next": 0, "users": 0}
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    timeline: list[tuple[float, int]] = []  # (seconds, users) every 1,000 users
    deadline = time.monotonic() + budget

    def worker() -> None:
        conn = http.client.HTTPConnection(netloc, timeout=timeout)
        while True:
            with lock:
                i = state["next"]
                if i >= len(bodies) or time.monotonic() > deadline:
                    return
                state["next"] = i + 1
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, bodies[i], headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(netloc, timeout=timeout)
                status, data = 0, b""
            dt = time.perf_counter() - t0
            n = created(status, data)
            with lock:
                statuses[status] += 1
                if (state["users"] + n) // 1000 > state["users"] // 1000:
                    timeline.append((round(time.perf_counter() - started, 2),
                                     state["users"] + n))
                state["users"] += n
                latencies.append(dt)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(worker) for _ in range(threads)]:
            f.result()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float | None:
        return (latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
                if latencies else None)

    return {"users": state["users"], "requests": state["next"], "seconds": elapsed,
            "users_per_s": state["users"] / elapsed, "statuses": dict(statuses),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "budget_hit": state["next"] < len(bodies), "timeline": timeline}


def single_created(status: int, _data: bytes) -> int:
    return 1 if status == 201 else 0


def bulk_created(status: int, data: bytes) -> int:
    if status != 200:
        return 0
    ops = json.loads(data).get("Operations", [])
    return sum(1 for o in ops if str(o.get("status")) == "201")


# The tables a created User writes: what autovacuum would analyze as they grow
GROWING = ("persons", "posts", "accounts", "scim_identities", "audit_events")


@contextmanager
def analyzing(url: str, seconds: float) -> Iterator[None]:
    """ANALYZE the growing tables every ``seconds`` while our phases run, as autovacuum
    does on a production server (threshold: 50 rows + 10% of the table). This machine's
    PostgreSQL runs with ``autovacuum = off``: without it the planner keeps the empty
    tables' statistics of the setup and, past ~30,000 users, plans the uniqueness probes
    of each Bulk as scans of the whole table (throughput then falls with the table's size:
    2,000 → 500 users/s by 100,000). ``--analyze-every 0`` turns this off."""
    if seconds <= 0 or make_url(url).get_backend_name() != "postgresql":
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        engine = make_engine(url)
        try:
            while not stop.wait(seconds):
                with engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                        text("ANALYZE " + ", ".join(GROWING)))
        finally:
            engine.dispose()

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="our database (DESTROYED first)")
    parser.add_argument("--users", type=int, default=100_000, help="users per phase")
    parser.add_argument("--bulk-size", type=int, default=1000, help="operations per Bulk")
    parser.add_argument("--budget", type=float, default=300, help="seconds per phase at most")
    parser.add_argument("--clients", type=int, default=8, help="client threads (connections)")
    parser.add_argument("--bulk-clients", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8,
                        help="threads of our one worker process (idp serve --threads)")
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn",
                        help="our HTTP server (idp serve --server)")
    parser.add_argument("--timeout", type=float, default=30,
                        help="seconds a single POST may take (Bulk: 10× that)")
    parser.add_argument("--phases", default="peer_single,ours_single,ours_bulk",
                        help="comma-separated subset of the phases to run")
    parser.add_argument("--analyze-every", type=float, default=10,
                        help="seconds between ANALYZEs of the growing tables (PostgreSQL; "
                             "this machine runs autovacuum off); 0: none")
    args = parser.parse_args(argv)
    phases = set(args.phases.split(","))
    peer_cli = ROOT / ".venv" / "bin" / "scim2-server"
    if not peer_cli.exists():
        parser.error("the peer is needed: .venv/bin/pip install scim2-server (bench only)")
    if shutil.which("taskset"):
        os.sched_setaffinity(0, {0})  # the load generator on CPU 0, the servers on CPU 1
    started = time.time()
    load_before = os.getloadavg()
    print(f"load before: {load_before}", flush=True)
    client_id, secret, places = setup(args.url)
    print(f"setup: {len(places)} nodes to place people at, {time.time() - started:.0f} s",
          flush=True)
    rng = random.Random(1)
    single = [encode(person("s", i, places, rng)) for i in range(args.users)]
    ops = [{"method": "POST", "path": "/Users", "bulkId": f"b{i}",
            "data": person("b", i, places, rng)} for i in range(args.users)]
    bulks = [encode({"schemas": [BULK],
                     "Operations": ops[i:i + args.bulk_size]})
             for i in range(0, len(ops), args.bulk_size)]
    peer_bodies = [encode(person("p", i, None, rng)) for i in range(args.users)]
    print(f"bodies: single {len(single[0])} B, bulk {max(map(len, bulks)):,} B at most",
          flush=True)
    ours, peer = free_port(), free_port()
    base, peer_base = f"http://127.0.0.1:{ours}", f"http://127.0.0.1:{peer}"
    peer_token = "bench-peer-token"
    results: dict[str, dict] = {}
    peer_args = pinned(1, [str(peer_cli), "--hostname", "127.0.0.1", "--port", str(peer),
                           "--bearer-token", peer_token])

    @contextmanager
    def running(name: str) -> Iterator[None]:
        """The peer runs during its own phase only: once it stalls (it may, past ~20,000
        users) it keeps its core busy, the core our server is pinned to."""
        if name != "peer_single":
            with analyzing(args.url, args.analyze_every):
                yield
            return
        with process(peer_args):
            wait_up(peer_base + "/ServiceProviderConfig")
            yield

    with process(serve_ours(ours, args.threads, args.server), environment(args.url, base)):
        wait_up(base + "/healthz")
        headers = {"Authorization": "Bearer " + token(base, client_id, secret),
                   "Content-Type": "application/scim+json"}
        peer_headers = {"Authorization": "Bearer " + peer_token,
                        "Content-Type": "application/scim+json"}
        for name, url, path, bodies, hdrs, clients, created, timeout in (
                ("peer_single", peer_base, "/Users", peer_bodies, peer_headers, args.clients,
                 single_created, args.timeout),
                ("ours_single", base, "/scim/v2/Users", single, headers, args.clients,
                 single_created, args.timeout),
                ("ours_bulk", base, "/scim/v2/Bulk", bulks, headers, args.bulk_clients,
                 bulk_created, args.timeout * 10)):
            if name not in phases:
                continue
            with running(name):
                r = drive(url, path, bodies, hdrs, clients, args.budget, created, timeout)
            results[name] = r
            print(f"{name}: {r['users']:,} users in {r['seconds']:.1f} s = "
                  f"{r['users_per_s']:.0f} users/s (statuses {r['statuses']}, "
                  f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms"
                  f"{', budget hit' if r['budget_hit'] else ''}; users at seconds: "
                  f"{r['timeline'][::10]})", flush=True)
    rate = {name: results[name]["users_per_s"] if name in results else float("nan")
            for name in ("ours_single", "peer_single", "ours_bulk")}
    ratio = rate["ours_single"] / max(rate["peer_single"], 1e-9)
    summary = {"ours_single": rate["ours_single"], "peer_single": rate["peer_single"],
               "ratio": ratio, "ours_bulk": rate["ours_bulk"]}
    print(f"\n| measure | ours | peer (scim2-server, memory) | ratio | target |\n"
          f"|---|---:|---:|---:|---|\n"
          f"| single POST users/s | {summary['ours_single']:.0f} | "
          f"{summary['peer_single']:.0f} | {ratio:.2f}× | ≥ 1× |\n"
          f"| Bulk ({args.bulk_size} ops) users/s | {summary['ours_bulk']:.0f} | | | ≥ 2,000 |")
    record("scim_provision", load_before, args, {"summary": summary, "runs": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
