"""Reset a database, migrate it and fill it with a synthetic jurisdiction; print the speed.

    python bench/generate.py --url sqlite:////work/bench-data/full.db --people 2000000 --nodes 200000
    python bench/generate.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        --people 2000000 --nodes 200000

The database is DESTROYED first (SQLite: the file is deleted; PostgreSQL: the public
schema is dropped and recreated). The keys are fixed benchmark keys, never real ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tqdm import tqdm  # noqa: E402

from directory.db import make_engine  # noqa: E402
from directory.migrate import upgrade  # noqa: E402
from idp.config import Settings  # noqa: E402
from idp.generate import generate  # noqa: E402
from idp.generate import planned_rows  # noqa: E402

# 32-byte keys as url-safe base64 (the format of tests/factories.py TEST_SECRETS).
BENCH_SECRETS = {
    "secret_key": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "data_keys": {"b1": "YmVuY2gtZGF0YS1rZXktYmVuY2gtZGF0YS1rZXktMDE"},
    "data_key_id": "b1",
    "index_key": "YmVuY2gtaW5kZXgta2V5LWJlbmNoLWluZGV4LWstMDE",
}
RESULTS = Path(__file__).resolve().parent / "results"


def reset(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    if parsed.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to reset a non-loopback database host: {parsed.host}")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    reset(args.url)
    engine = make_engine(args.url)
    upgrade(engine)
    dsettings = Settings(database_url=args.url, **BENCH_SECRETS).directory()
    total = planned_rows(args.people, args.nodes)
    bar = tqdm(total=total, unit="row", unit_scale=True, disable=args.no_progress,
               mininterval=2.0)
    started = time.perf_counter()
    result = generate(engine, dsettings, people=args.people, nodes=args.nodes, seed=args.seed,
                      progress=bar.update)
    elapsed = time.perf_counter() - started
    bar.close()
    engine.dispose()

    rows = result["rows"]
    print(f"generated {result['nodes']:,} nodes ({result['levels']} levels), "
          f"{result['people']:,} people, {result['posts']:,} posts "
          f"({result['concurrent_posts']:,} concurrent) on {engine.dialect.name}")
    print(f"elapsed {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s")
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result["seconds"].items()))
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "generate.jsonl").open("a") as fh:
        fh.write(json.dumps({
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "url": make_url(args.url).render_as_string(hide_password=True),
            "elapsed_s": round(elapsed, 1), "rows_per_s": round(rows / elapsed),
            **result,
        }, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
