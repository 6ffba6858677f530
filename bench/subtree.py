"""First page of "everyone under node X": our materialised path against a recursive CTE.

    python bench/subtree.py --url sqlite:////work/bench-data/full.db --samples 1000
    python bench/subtree.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

On a database filled by bench/generate.py, picks ``--samples`` random active nodes
(seeded) and times, for each, in the same run and on the same connection:

* ours: ``directory.queries.subtree_members(session, node, limit=50)``, one range scan
  of the partial index on ``posts(node_path, sort_order, person_id) WHERE active``;
* the peer: the classic adjacency-list query, a recursive CTE over ``nodes.parent_id``
  collecting the subtree's node ids, then the first 50 active posts of those nodes
  joined to persons, in the same order, so that both must return the same rows (checked).

Prints a markdown table (p50/p95/p99/max in ms, and the peer/ours ratio), the subtree
size distribution of the sample, and appends one JSON line to bench/results/subtree.jsonl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from directory.db import make_engine  # noqa: E402
from directory.models import Node  # noqa: E402
from directory.models import NodeStatus  # noqa: E402
from directory.models import Person  # noqa: E402
from directory.models import PersonStatus  # noqa: E402
from directory.models import Post  # noqa: E402
from directory.queries import MemberRow  # noqa: E402
from directory.queries import path_in_subtree  # noqa: E402
from directory.queries import subtree_members  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# Subtree sizes (active posts under the node) by which the timings are also broken down.
BUCKETS = ((0, 50), (51, 1_000), (1_001, 10_000), (10_001, 100_000), (100_001, 10**12))


def peer_members(session: Session, node: Node, *, limit: int = 50) -> list[MemberRow]:
    """The classic adjacency-list query: recursive CTE over parent_id, then the posts.

    Written ``node_id IN (SELECT id FROM subtree)``: with a plain join SQLite's planner
    does not know the CTE is small and scans persons; the IN form makes both databases
    drive from the subtree through ``ix_posts_node``, the peer's best plan.
    """
    subtree = select(Node.id).where(Node.id == node.id).cte("subtree", recursive=True)
    subtree = subtree.union_all(select(Node.id).where(Node.parent_id == subtree.c.id))
    stmt = (
        select(Post.person_id, Person.name, Post.node_id, Post.node_path, Post.kind,
               Post.title, Post.sort_order)
        .join(Person, Person.id == Post.person_id)
        .where(Post.active, Post.node_id.in_(select(subtree.c.id)))
        .where(Person.status == PersonStatus.ACTIVE)
        .order_by(Post.node_path, Post.sort_order, Post.person_id)
        .limit(limit)
    )
    return [MemberRow(r[0], r[1], r[2], r[3], str(r[4]), r[5], r[6])
            for r in session.execute(stmt)]


def ours(session: Session, node: Node, *, limit: int = 50) -> list[MemberRow]:
    return subtree_members(session, node, limit=limit)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "max": max(values),
            "mean": statistics.fmean(values)}


def server_version(session: Session) -> str:
    if session.get_bind().dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    return "PostgreSQL " + str(session.scalar(text("SHOW server_version"))).split()[0]


def timed(fn: Callable[..., list[MemberRow]], session: Session, node: Node,
          limit: int) -> tuple[float, list[MemberRow]]:
    started = time.perf_counter()
    rows = fn(session, node, limit=limit)
    return (time.perf_counter() - started) * 1000, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs of each first")
    parser.add_argument("--stratify", action="store_true",
                        help="spread the samples evenly over the tree levels (root and "
                             "categories included) instead of uniformly over nodes")
    parser.add_argument("--ours-samples", type=int, default=None,
                        help="time subtree_members on the first N samples only (to bound a run "
                             "where it is slow, e.g. before migration 0003 on SQLite)")
    args = parser.parse_args(argv)

    engine = make_engine(args.url)
    contenders: list[tuple[str, str, Callable[..., list[MemberRow]]]] = [
        ("ours", "ours: materialised path (subtree_members)", ours),
        ("peer", "peer: recursive CTE over parent_id", peer_members),
    ]
    rng = random.Random(args.seed)
    with Session(engine) as session:
        totals = {
            "nodes": session.scalar(select(func.count()).select_from(Node)),
            "persons": session.scalar(select(func.count()).select_from(Person)),
            "posts": session.scalar(select(func.count()).select_from(Post)),
        }
        active = session.execute(
            select(Node.id, Node.level).where(Node.status == NodeStatus.ACTIVE)
            .order_by(Node.path)).all()
        if not active:
            raise SystemExit("no active nodes: run bench/generate.py first")
        ids = [r.id for r in active]
        if args.stratify:
            warm = rng.sample(ids, min(args.warmup, len(ids)))
            by_level: dict[int, list] = {}
            for row in active:
                by_level.setdefault(row.level, []).append(row.id)
            share = max(1, args.samples // len(by_level))
            timed_ids = [n for level in sorted(by_level)
                         for n in rng.sample(by_level[level], min(share, len(by_level[level])))]
            rng.shuffle(timed_ids)
        else:
            drawn = rng.sample(ids, min(args.samples + args.warmup, len(ids)))
            warm, timed_ids = drawn[:args.warmup], drawn[args.warmup:]
        picked = warm + timed_ids
        warm_ids, sample_ids = warm, timed_ids
        nodes: dict = {}
        for start in range(0, len(picked), 500):
            chunk = picked[start:start + 500]
            nodes.update({n.id: n for n in session.scalars(select(Node).where(Node.id.in_(chunk)))})
        session.commit()

        for k, node_id in enumerate(warm_ids):
            for key, _label, fn in contenders:
                if key == "ours" and args.ours_samples is not None and k >= 2:
                    continue  # the slow one: two warm-up runs are enough
                fn(session, nodes[node_id], limit=args.limit)
        session.commit()

        # times[key][i]: milliseconds of contender ``key`` on sample i (when it ran there)
        times: dict[str, dict[int, float]] = {key: {} for key, _l, _f in contenders}
        mismatches = 0
        for i, node_id in enumerate(sample_ids):
            node = nodes[node_id]
            running = [c for c in contenders if c[0] != "ours" or args.ours_samples is None
                       or i < args.ours_samples]
            shift = i % len(running)  # rotate the order: no one always meets a warm cache
            pages = {}
            for key, _label, fn in running[shift:] + running[:shift]:
                ms, pages[key] = timed(fn, session, node, args.limit)
                times[key][i] = ms
            first = next(iter(pages.values()))
            mismatches += any(page != first for page in pages.values())
            session.commit()  # end the read transaction, as a request would

        # Sizes, untimed: nodes in the subtree and active posts under it.
        sizes_nodes, sizes_posts = [], []
        for node_id in sample_ids:
            path = nodes[node_id].path
            sizes_nodes.append(session.scalar(
                select(func.count()).select_from(Node).where(path_in_subtree(Node.path, path))))
            sizes_posts.append(session.scalar(
                select(func.count()).select_from(Post)
                .where(Post.active, path_in_subtree(Post.node_path, path))))
        levels = [nodes[n].level for n in sample_ids]
        version = server_version(session)
    engine.dispose()

    results = {key: summary(list(values.values())) for key, values in times.items()}
    counted = {key: len(values) for key, values in times.items()}

    def ratio_of(top: str, bottom: str) -> dict[str, float]:
        """top/bottom over the samples both ran on."""
        common = sorted(set(times[top]) & set(times[bottom]))
        a = summary([times[top][i] for i in common])
        b = summary([times[bottom][i] for i in common])
        return {k: a[k] / b[k] for k in ("p50", "p95", "p99", "max")}

    ratio = ratio_of("peer", "ours")
    buckets = []
    for low, high in BUCKETS:
        idx = [i for i, s in enumerate(sizes_posts) if low <= s <= high]
        if idx:
            bucket: dict = {"posts": f"{low:,}–{high:,}" if high < 10**12 else f"> {low - 1:,}",
                            "samples": len(idx)}
            for key in times:
                values = [times[key][i] for i in idx if i in times[key]]
                bucket[f"{key}_p50"] = percentile(values, 50) if values else None
                bucket[f"{key}_max"] = max(values) if values else None
            buckets.append(bucket)
    url = make_url(args.url)

    print(f"\n## subtree first page — {version}, {totals['nodes']:,} nodes, "
          f"{totals['persons']:,} persons, {totals['posts']:,} posts; "
          f"{len(sample_ids)} random nodes (seed {args.seed}"
          f"{', stratified by level' if args.stratify else ''}), limit {args.limit}\n")
    print("| query | samples | p50 ms | p95 ms | p99 ms | max ms | mean ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, label, _fn in contenders:
        r = results[key]
        print(f"| {label} | {counted[key]} | {r['p50']:.2f} | {r['p95']:.2f} | "
              f"{r['p99']:.2f} | {r['max']:.2f} | {r['mean']:.2f} |")
    print(f"| peer / ours (same samples) | | {ratio['p50']:.3g}× | {ratio['p95']:.3g}× | "
          f"{ratio['p99']:.3g}× | {ratio['max']:.3g}× | |")
    print(f"\nIdentical first pages from every query: {len(sample_ids) - mismatches} "
          f"of {len(sample_ids)} samples.")
    print("\nSubtree size of the sample (node included):\n")
    print("| | min | p50 | p90 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, values in (("nodes", sizes_nodes), ("active posts", sizes_posts)):
        print(f"| {label} | {min(values):,} | {percentile(values, 50):,} | "
              f"{percentile(values, 90):,} | {percentile(values, 99):,} | {max(values):,} |")
    print("\nLevels of the sampled nodes: "
          + ", ".join(f"L{lv} {levels.count(lv)}" for lv in sorted(set(levels))))
    keys = [key for key, _l, _f in contenders]
    print("\n| active posts under the node | samples | "
          + " | ".join(f"{k} p50 ms" for k in keys) + " | "
          + " | ".join(f"{k} max ms" for k in keys) + " |")
    print("|---|---:|" + "---:|" * (2 * len(keys)))
    for b in buckets:
        cells = [b[f"{k}_{stat}"] for stat in ("p50", "max") for k in keys]
        print(f"| {b['posts']} | {b['samples']} | "
              + " | ".join("—" if c is None else f"{c:.2f}" for c in cells) + " |")

    RESULTS.mkdir(exist_ok=True)
    record = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dialect": url.get_backend_name(), "server": version,
        "url": url.render_as_string(hide_password=True),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version()},
        "totals": totals, "samples": len(sample_ids), "seed": args.seed, "limit": args.limit,
        "stratified": args.stratify,
        **{f"{key}_ms": {k: round(v, 3) for k, v in r.items()} for key, r in results.items()},
        "samples_timed": counted,
        "ratio_peer_over_ours": {k: round(v, 2) for k, v in ratio.items()},
        "mismatches": mismatches,
        "sizes": {"nodes": summary([float(v) for v in sizes_nodes]),
                  "posts": summary([float(v) for v in sizes_posts])},
        "levels": {str(lv): levels.count(lv) for lv in sorted(set(levels))},
        "buckets": buckets,
    }
    with (RESULTS / "subtree.jsonl").open("a") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
