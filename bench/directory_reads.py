"""Visibility-filtered directory reads (#3): member listing and people search, against slapd.

    python bench/directory_reads.py --setup \\
        --url sqlite:////work/bench-data/full.db \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/bench --slapd

On databases filled by bench/generate.py (the same seed, so the same people and tree):

* ``--setup`` (idempotent: skipped where a deployment matrix already exists) hides 1% of
  the nodes (seeded, levels >= 2, through ``directory.tree.update_node``), adds allow-list
  entries (``directory.rules.allow_hidden``), sets a non-default matrix and two unit
  overrides (``directory.rules.set_rule``), and makes 1% of the people Q1 and 4% Q2 (a
  plain UPDATE: the generator makes Q3/Q4 only, and a matrix about Q1/Q2 targets needs
  some). Then ANALYZE.
* member listing: what ``GET /api/v1/nodes/{id}/people`` does at the directory layer for
  a random viewer and a random node: ``load_viewer``, ``load_hidden``, ``load_rules``,
  ``queries.active_node_ref`` + ``node_visible``, ``listed_members(limit=50)``, each sample in
  its own session and transaction ("request"); "query" is ``listed_members`` alone.
* search: what ``GET /api/v1/people/search`` does: the same loads, then
  ``search_people(limit=50)`` for a 1-character surname (张), a 2-character prefix
  (张伟), a full-pinyin surname (zhang), a pinyin prefix running into the given name
  (wangf) and two initials (zw), taken from random people.
* the peer (``--slapd``, bench/slapd.py): a private OpenLDAP slapd holding the same people,
  queried over loopback with ldap3 (sync, anonymous), unfiltered: a subtree search
  ``(objectClass=inetOrgPerson)`` under the node's DN for the listing, ``(cn=张*)``,
  ``(displayName=zhang*)``, ``(initials=zw*)`` under the root node's DN for the search,
  size limit 50 each.

Samples rotate the order of the contenders (no one always meets a warm cache). Prints
p50/p95/p99/max/mean per database and query kind, the ratio ours / slapd, and whether
the targets of #3 are met; appends one JSON line to bench/results/directory_reads.jsonl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import signal
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pypinyin import lazy_pinyin  # noqa: E402
from slapd import Slapd  # noqa: E402
from slapd import node_dn  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy import update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from directory import audit  # noqa: E402
from directory import queries  # noqa: E402
from directory import rules as rule_cmds  # noqa: E402
from directory import tree  # noqa: E402
from directory import visibility as dv  # noqa: E402
from directory.db import make_engine  # noqa: E402
from directory.models import Node  # noqa: E402
from directory.models import NodeStatus  # noqa: E402
from directory.models import Person  # noqa: E402
from directory.models import Post  # noqa: E402
from directory.models import VisibilityClass  # noqa: E402
from directory.models import VisibilityRule  # noqa: E402
from directory.search import search_people  # noqa: E402
from directory.settings import DirectorySettings  # noqa: E402
from idp.config import Settings  # noqa: E402
from policies import visibility as pv  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# The fixed benchmark keys of bench/generate.py (never real ones): the mobile lookup hash
# is the only thing search uses them for, and no query here is a mobile.
BENCH_SECRETS = {
    "secret_key": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "data_keys": {"b1": "YmVuY2gtZGF0YS1rZXktYmVuY2gtZGF0YS1rZXktMDE"},
    "data_key_id": "b1",
    "index_key": "YmVuY2gtaW5kZXgta2V5LWJlbmNoLWluZGV4LWstMDE",
}
CTX = audit.Context(actor="cli:bench")
HIDDEN_SHARE = 0.01
Q1_SHARE, Q2_SHARE = 0.01, 0.04
# The non-default deployment matrix (viewer, target, mode); unset cells stay direct.
MATRIX = (("Q4", "Q1", "searchable"), ("Q3", "Q1", "searchable"),
          ("Q4", "Q2", "searchable"), ("Q4", "Q3", "searchable"), ("Q3", "Q2", "none"))
# Unit overrides on two level-2 units: (viewer, target, mode).
OVERRIDES = ((("Q3", "Q1", "direct"), ("Q3", "Q2", "searchable")),
             (("Q3", "Q4", "none"),))
SEARCH_KINDS = ("surname", "prefix2", "pinyin", "pinyin_prefix", "initials")
GROUPS = {"name prefix (surname + 2 chars)": ("surname", "prefix2"),
          "pinyin (full + prefix)": ("pinyin", "pinyin_prefix"), "initials": ("initials",)}
TARGET_MS = {"listing": 20.0, "search": 50.0}


# ---------------------------------------------------------------- statistics

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "max": max(values),
            "mean": statistics.fmean(values)}


# ---------------------------------------------------------------- setup

def already_set_up(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(VisibilityRule).where(
        VisibilityRule.scope_node_id.is_(None))) > 0


def setup(engine: Engine, seed: int) -> str:
    """Hidden nodes, allow-lists, the matrix, overrides and Q1/Q2 people; idempotent."""
    rng = random.Random(seed)
    with Session(engine) as session, session.begin():
        if already_set_up(session):
            hidden = session.scalar(select(func.count()).select_from(Node).where(Node.hidden))
            return f"already set up ({hidden} hidden nodes)"
        nodes = session.execute(select(Node.id, Node.level).where(
            Node.status == NodeStatus.ACTIVE).order_by(Node.path)).all()
        deep = [n.id for n in nodes if n.level >= 2]
        level2 = [n.id for n in nodes if n.level == 2]
        to_hide = rng.sample(deep, round(HIDDEN_SHARE * len(nodes)))
        for node_id in to_hide:
            tree.update_node(session, CTX, node_id, hidden=True)
        people = list(session.scalars(select(Person.id).order_by(Person.id)))
        for hidden_id in to_hide[:10]:  # ten people on allow-lists
            rule_cmds.allow_hidden(session, CTX, hidden_id, person_id=rng.choice(people))
        for hidden_id in to_hide[10:13]:  # three level-2 units' subtrees on allow-lists
            rule_cmds.allow_hidden(session, CTX, hidden_id, node_id=rng.choice(level2))
        for viewer, target, mode in MATRIX:
            rule_cmds.set_rule(session, CTX, viewer, target, mode)
        for unit, cells in zip(rng.sample(level2, len(OVERRIDES)), OVERRIDES, strict=True):
            for viewer, target, mode in cells:
                rule_cmds.set_rule(session, CTX, viewer, target, mode, scope_node_id=unit)
        chosen = rng.sample(people, round((Q1_SHARE + Q2_SHARE) * len(people)))
        q1 = round(Q1_SHARE * len(people))
        for cls, ids in ((VisibilityClass.Q1, chosen[:q1]), (VisibilityClass.Q2, chosen[q1:])):
            for start in range(0, len(ids), 5000):
                session.execute(update(Person).where(Person.id.in_(ids[start:start + 5000]))
                                .values(visibility_class=cls, visibility_class_explicit=True))
                session.execute(update(Post).where(Post.active,  # their posts carry the class
                                                   Post.person_id.in_(ids[start:start + 5000]))
                                .values(person_class=cls))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return (f"hid {len(to_hide)} nodes, 13 allow-list entries, {len(MATRIX)} matrix cells, "
            f"{sum(map(len, OVERRIDES))} override cells on {len(OVERRIDES)} units, "
            f"{q1} Q1 and {len(chosen) - q1} Q2 people")


# ---------------------------------------------------------------- samples

@dataclass(frozen=True)
class SearchSample:
    viewer: uuid.UUID
    kind: str
    q: str
    ldap_filter: str


@dataclass(frozen=True)
class ListSample:
    viewer: uuid.UUID
    node: uuid.UUID
    dn: str


def draw_samples(engine: Engine, seed: int, listings: int, searches: int
                 ) -> tuple[list[ListSample], list[SearchSample], str, list[ListSample]]:
    """Seeded viewers, nodes and queries; the same on every database of one seed."""
    rng = random.Random(seed)
    with Session(engine) as session:
        nodes = session.execute(select(Node.id, Node.path, Node.level).where(
            Node.status == NodeStatus.ACTIVE).order_by(Node.path)).all()
        people = list(session.scalars(select(Person.id).order_by(Person.id)))
        root_path = nodes[0].path
        viewers = rng.sample(people, listings + searches)
        picked = rng.sample(nodes, listings)
        lists = [ListSample(viewers[i], n.id, node_dn(n.path)) for i, n in enumerate(picked)]
        sources = rng.sample(people, searches)
        named = {r.id: r for r in session.execute(
            select(Person.id, Person.name, Person.name_pinyin, Person.name_initials)
            .where(Person.id.in_(sources[:30000])))}
    found = []
    for i, pid in enumerate(sources):
        row, kind = named[pid], SEARCH_KINDS[i % len(SEARCH_KINDS)]
        surname_pinyin = lazy_pinyin(row.name[0])[0]
        q, attr = {
            "surname": (row.name[0], "cn"),
            "prefix2": (row.name[:2], "cn"),
            "pinyin": (surname_pinyin, "displayName"),
            "pinyin_prefix": (row.name_pinyin[:len(surname_pinyin) + 1], "displayName"),
            "initials": (row.name_initials[:2], "initials"),
        }[kind]
        found.append(SearchSample(viewers[listings + i], kind, q, f"({attr}={q}*)"))
    # the root and the 10 categories, five random viewers each: the biggest subtrees,
    # where every hidden node of the tree lies under the listed node
    top_rng = random.Random(seed + 1)
    tops = [ListSample(top_rng.choice(people), n.id, node_dn(n.path))
            for n in nodes if n.level <= 1 for _ in range(5)]
    top_rng.shuffle(tops)
    return lists, found, node_dn(root_path), tops


# ---------------------------------------------------------------- contenders

def ours_listing(engine: Engine, s: ListSample) -> tuple[float, float, int]:
    """(request ms, listed_members ms, rows); [] for a node hidden from the viewer."""
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        ctx = dv.load_context(session, s.viewer)  # the API's loads after the token
        node = queries.active_node_ref(session, s.node)
        assert node is not None
        path = dv.tokens(node.path)
        query_started = time.perf_counter()
        if pv.covers(ctx.viewer.admin_scopes, path) or pv.node_visible(ctx.viewer, path,
                                                                         ctx.hidden):
            rows = dv.listed_members(session, ctx.viewer, ctx.rules, ctx.hidden, node, limit=50)
        else:
            rows = None
        done = time.perf_counter()
    return (done - started) * 1000, (done - query_started) * 1000, -1 if rows is None \
        else len(rows)


def ours_search(engine: Engine, dsettings: DirectorySettings, s: SearchSample
                ) -> tuple[float, float, int]:
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        ctx = dv.load_context(session, s.viewer)  # the API's loads after the token
        query_started = time.perf_counter()
        hits = search_people(session, dsettings, ctx.viewer, ctx.rules, ctx.hidden, s.q,
                             limit=50)
        done = time.perf_counter()
    return (done - started) * 1000, (done - query_started) * 1000, len(hits)


def ldap_search(conn: Any, base: str, flt: str) -> tuple[float, float, int]:
    """One subtree search, size limit 50, parsed into ldap3's response list."""
    from ldap3 import SUBTREE
    started = time.perf_counter()
    conn.search(base, flt, SUBTREE, attributes=["cn", "displayName", "title"], size_limit=50)
    rows = len(conn.response)
    ms = (time.perf_counter() - started) * 1000
    return ms, ms, rows


# ---------------------------------------------------------------- the run

def server_version(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as conn:
        return "PostgreSQL " + str(conn.scalar(text("SHOW server_version"))).split()[0]


def run(contenders: list[tuple[str, Callable[[Any], tuple[float, float, int]]]],
        samples: list[Any], warmup: int, budget_s: float
        ) -> dict[str, dict[str, list[float]]]:
    """times[name]['request'|'query'|'rows'][i]; stops early after ``budget_s``."""
    errors: dict[str, list[str]] = {name: [] for name, _fn in contenders}

    def attempt(name: str, fn: Callable[[Any], tuple[float, float, int]], s: Any
                ) -> tuple[float, float, int] | None:
        """A failing query is counted and reported, not timed (and does not stop the run)."""
        try:
            return fn(s)
        except Exception as exc:  # noqa: BLE001 - the failure is the finding
            errors[name].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            return None

    for s in samples[:warmup]:
        for name, fn in contenders:
            attempt(name, fn, s)
    out: dict[str, dict[str, list[float]]] = {
        name: {"request": [], "query": [], "rows": [], "index": []} for name, _fn in contenders}
    deadline = time.monotonic() + budget_s
    for i, s in enumerate(samples[warmup:]):
        if time.monotonic() > deadline:
            print(f"  time budget reached after {i} samples", flush=True)
            break
        shift = i % len(contenders)
        for name, fn in contenders[shift:] + contenders[:shift]:
            timed = attempt(name, fn, s)
            if timed is None:
                continue
            request_ms, query_ms, rows = timed
            out[name]["request"].append(request_ms)
            out[name]["query"].append(query_ms)
            out[name]["rows"].append(rows)
            out[name]["index"].append(i)
    for name, failed in errors.items():
        if failed:
            print(f"  {name}: {len(failed)} failed (warm-up included), first: {failed[0]}",
                  flush=True)
    return out


def fmt(r: dict[str, float]) -> str:
    return (f"{r['n']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | {r['max']:.2f} | "
            f"{r['mean']:.2f}")


def report(title: str, times: dict[str, dict[str, list[float]]], target_ms: float,
           kinds: list[str] | None, groups: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Markdown tables: each database's request and query time, slapd, ratios, targets."""
    record: dict[str, Any] = {}
    print(f"\n### {title}\n")
    print("| contender | what | samples | p50 ms | p95 ms | p99 ms | max ms | mean ms | "
          f"p99 < {target_ms:g} ms | p50 / slapd | p99 / slapd |")
    print("|---|---|---:|---:|---:|---:|---:|---:|:---:|---:|---:|")
    for group, members in groups.items():
        def pick(name: str, what: str, members: tuple[str, ...] = members) -> list[float]:
            vals = times[name][what]
            if kinds is None:
                return list(vals)
            return [v for v, i in zip(vals, times[name]["index"], strict=True)
                    if kinds[i] in members]
        slapd = summary(pick("slapd", "request")) if "slapd" in times else None
        for name in times:
            for what in (("request", "query") if name != "slapd" else ("request",)):
                vals = pick(name, what)
                if not vals:
                    continue
                r = summary(vals)
                rows = [v for v in pick(name, "rows") if v >= 0]
                ok = "—" if name == "slapd" or what == "query" else (
                    "**yes**" if r["p99"] < target_ms else "**no**")
                ratio = ("" if slapd is None or name == "slapd" else
                         f"{r['p50'] / slapd['p50']:.2f}× | {r['p99'] / slapd['p99']:.2f}×")
                label = "slapd (unfiltered)" if name == "slapd" else name
                what_label = "ldap3 search" if name == "slapd" else what
                print(f"| {label} {group} | {what_label} | {fmt(r)} | {ok} | "
                      f"{ratio or ' | '} |")
                record[f"{group}/{name}/{what}"] = {
                    **{k: round(v, 3) for k, v in r.items()},
                    "rows_mean": round(statistics.fmean(rows), 1) if rows else None,
                    "hidden_from_viewer": sum(1 for v in pick(name, "rows") if v < 0)}
    print("\nRows returned (mean): " + ", ".join(
        f"{k}: {v['rows_mean']}" for k, v in record.items() if k.endswith("/request")))
    return record


def read_file(path: Path) -> float:
    """Read a file through the OS page cache; returns its size in MB."""
    with path.open("rb") as fh:
        while fh.read(16 << 20):
            pass
    return path.stat().st_size / 1e6


def prewarm(engine: Engine) -> float:
    """Every table and index of the database into the OS page cache; returns MB."""
    if engine.dialect.name == "sqlite":
        path = make_url(str(engine.url)).database
        return read_file(Path(path)) if path else 0.0
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        blocks = conn.execute(text(
            "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')"
        )).scalar_one()
    return float(blocks) * 8192 / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", required=True,
                        help="a database filled by bench/generate.py (repeat for several)")
    parser.add_argument("--setup", action="store_true", help="visibility setup (idempotent)")
    parser.add_argument("--slapd", action="store_true", help="start bench/slapd.py's slapd "
                        "(loaded beforehand with `bench/slapd.py load`) as the peer")
    parser.add_argument("--slapd-dir", type=Path, default=None)
    parser.add_argument("--listings", type=int, default=1000)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--budget", type=float, default=900.0,
                        help="seconds per phase (listing, search) before stopping early")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--top", action="store_true",
                        help="also list the root and the 10 categories (5 viewers each); on "
                             "PostgreSQL each such query ran for over 10 minutes (see README)")
    parser.add_argument("--prewarm", action="store_true",
                        help="read every contender's data into the OS page cache first (the "
                             "SQLite file, PostgreSQL's tables and indexes with pg_prewarm, "
                             "slapd's mdb file): steady-state figures, not first-touch I/O")
    parser.add_argument("--statement-timeout", type=float, default=30.0,
                        help="PostgreSQL statement_timeout in seconds (a query cancelled "
                             "by it is counted as failed)")
    args = parser.parse_args(argv)
    # SIGTERM ends the run through the finally below, which stops slapd
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def engine_for(url: str) -> Engine:
        engine = make_engine(url)
        if make_url(url).get_backend_name() == "postgresql":
            # SET on connect, not connect_args: passing "options" would replace
            # make_engine's own (jit=off).
            timeout_ms = int(args.statement_timeout * 1000)

            def statement_timeout(dbapi_conn: Any, _record: Any) -> None:
                with dbapi_conn.cursor() as cur:
                    cur.execute(f"SET statement_timeout = {timeout_ms}")
                dbapi_conn.commit()

            event.listen(engine, "connect", statement_timeout)
        return engine

    engines = {make_url(u).get_backend_name(): engine_for(u) for u in args.url}
    for name, engine in engines.items():
        if args.setup:
            started = time.perf_counter()
            print(f"setup {name}: {setup(engine, args.seed)} "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)
    if args.prewarm:
        for name, engine in engines.items():
            started = time.perf_counter()
            print(f"prewarm {name}: {prewarm(engine):,.0f} MB "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)
        if args.slapd:
            base = args.slapd_dir or Slapd().db.parent
            started = time.perf_counter()
            size = sum(read_file(f) for f in (base / "db").glob("*.mdb"))
            print(f"prewarm slapd: {size:,.0f} MB ({time.perf_counter() - started:.1f} s)",
                  flush=True)
    first = next(iter(engines.values()))
    lists, searches, root_dn, tops = draw_samples(first, args.seed, args.listings + args.warmup,
                                            args.searches + args.warmup)
    with Session(first) as session:
        totals = {
            "nodes": session.scalar(select(func.count()).select_from(Node)),
            "hidden": session.scalar(select(func.count()).select_from(Node).where(Node.hidden)),
            "persons": session.scalar(select(func.count()).select_from(Person)),
            "posts": session.scalar(select(func.count()).select_from(Post)),
        }
    versions = {name: server_version(e) for name, e in engines.items()}
    dsettings = Settings(database_url=args.url[0], **BENCH_SECRETS).directory()

    slapd_server, conn = None, None
    if args.slapd:
        from ldap3 import Connection
        from ldap3 import Server
        slapd_server = Slapd(args.slapd_dir) if args.slapd_dir else Slapd()
        versions["slapd"] = Slapd.version()
        slapd_server.start()
        conn = Connection(Server(slapd_server.uri), auto_bind=True)
    try:
        list_contenders: list[tuple[str, Callable[[Any], tuple[float, float, int]]]] = [
            (name, lambda s, e=engine: ours_listing(e, s)) for name, engine in engines.items()]
        search_contenders: list[tuple[str, Callable[[Any], tuple[float, float, int]]]] = [
            (name, lambda s, e=engine: ours_search(e, dsettings, s))
            for name, engine in engines.items()]
        if conn is not None:
            list_contenders.append(
                ("slapd", lambda s: ldap_search(conn, s.dn, "(objectClass=inetOrgPerson)")))
            search_contenders.append(
                ("slapd", lambda s: ldap_search(conn, root_dn, s.ldap_filter)))
        print(f"listing: {len(lists) - args.warmup} samples", flush=True)
        list_times = run(list_contenders, lists, args.warmup, args.budget)
        top_times = None
        if args.top:
            print(f"listing at the top: {len(tops)} samples", flush=True)
            top_times = run(list_contenders, tops, 0, args.budget)
        print(f"search: {len(searches) - args.warmup} samples", flush=True)
        search_times = run(search_contenders, searches, args.warmup, args.budget)
    finally:
        if conn is not None:
            conn.unbind()
        if slapd_server is not None:
            slapd_server.stop()
    for engine in engines.values():
        engine.dispose()

    print(f"\n## directory reads — {totals['nodes']:,} nodes ({totals['hidden']:,} hidden), "
          f"{totals['persons']:,} persons, {totals['posts']:,} posts; "
          + ", ".join(versions.values()) + f"; seed {args.seed}")
    record: dict[str, Any] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "urls": [make_url(u).render_as_string(hide_password=True) for u in args.url],
        "versions": versions, "totals": totals, "seed": args.seed,
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version()},
    }
    record["listing"] = report("member listing, first page of 50", list_times,
                               TARGET_MS["listing"], None, {"": ("",)})
    if top_times is not None:
        record["listing_top"] = report("member listing at the root and the 10 categories "
                                       "(5 random viewers each), first page of 50",
                                       top_times, TARGET_MS["listing"], None, {"": ("",)})
    kinds = [s.kind for s in searches[args.warmup:]]
    record["search"] = report("search, limit 50", search_times, TARGET_MS["search"], kinds,
                              {**GROUPS, **{k: (k,) for k in SEARCH_KINDS}})
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "directory_reads.jsonl").open("a") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
