"""Benchmark: what risk analysis adds to planning, and what `--verify` adds per engine.

Prints numbers; asserts nothing. Target: risk analysis adds under 10% to plan time on the
engine benchmark's history (1,000 migrations over 500 tables).

    python bench/risk.py [--no-engines]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history import migrations


def best(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(files: list[Any], undo: int) -> tuple[float, float, float, int, int]:
    """Plan time for undoing the last `undo` migrations, and what risk analysis adds to it."""
    from bot.core.author_down import HandwrittenDown
    from bot.core.down import compute_down
    from bot.core.model import Dialect
    from bot.core.plan import SourcePlan
    from bot.core.replay import replay
    from bot.core.risk import Policy
    from bot.core.risk.analyse import assess
    from bot.planner.gate import gate

    def plan() -> tuple[Any, Any]:
        older = replay(files[:-undo], Dialect.POSTGRES)
        newer = replay(files[-undo:], Dialect.POSTGRES, older.schema)
        return newer, compute_down(newer.schema, older.schema, newer.steps)

    t_plan = best(plan)
    newer, down = plan()
    source = SourcePlan("directory", "db", None, "postgres", down, HandwrittenDown(False, None))
    t_assess = best(lambda: assess(down.changes, newer.schema))
    t_gate = best(lambda: gate(source, newer.schema, policy=Policy(), allows=[], label="bench00"))
    findings = len(assess(down.changes, newer.schema).findings())
    return t_plan, t_assess, t_gate, len(down.statements), findings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-engines", action="store_true")
    args = parser.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)

    from bot.core.replay import Migration

    files = [Migration(name, sql) for name, sql in migrations(1000, 500)]
    results = {undo: measure(files, undo) for undo in (10, 100)}
    print("history: 1000 migrations over 500 tables (PostgreSQL)")
    for undo, (t_plan, t_assess, t_gate, n, f) in results.items():
        print(
            f"undo last {undo:>3}: plan {t_plan:.3f} s, {n} statements, {f} findings; "
            f"risk rules {t_assess * 1000:.1f} ms (+{t_assess / t_plan:.1%}); "
            f"rules + alternatives {t_gate * 1000:.1f} ms (+{t_gate / t_plan:.1%})"
        )
    if args.no_engines:
        return
    verify_times()


def verify_times() -> None:
    """Seconds `--verify` adds for a typical revert, per engine (engine start included once)."""
    from bot.core.model import Dialect
    from bot.verify import verify

    newer = [
        "CREATE TABLE users (id integer PRIMARY KEY, email varchar(255) NOT NULL);",
        "ALTER TABLE users ADD COLUMN bio text; CREATE INDEX users_bio ON users (bio);",
    ]
    older = newer[:1]
    down = ["DROP INDEX users_bio", "ALTER TABLE users DROP COLUMN bio"]
    down_mysql = ["DROP INDEX users_bio ON users", "ALTER TABLE users DROP COLUMN bio"]
    for dialect, statements, url in (
        (Dialect.SQLITE, down, None),
        (Dialect.POSTGRES, down, None),
        (Dialect.MYSQL, down_mysql, _mariadb_url()),
    ):
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = verify(dialect, newer, statements, older, mysql_url=url)
            runs.append(time.perf_counter() - t0)
        first, rest = runs[0], statistics.median(runs[1:])
        status = "verified" if result.verified else f"not verified: {result.reason}"
        print(f"--verify {dialect.value:<8}: first {first:.2f} s (server start), then {rest:.2f} s; {result.engine or ''} {status}")


def _mariadb_url() -> str | None:
    """A throwaway MariaDB for the measurement, when one can be started here."""
    try:
        from bot.engines import EngineUnavailable, start_mariadb
    except ImportError:
        return None
    try:
        server = start_mariadb()
    except EngineUnavailable:
        return None
    port = server.new_database().query("SELECT @@port")[0][0]
    return f"mysql://root@127.0.0.1:{port}/"


if __name__ == "__main__":
    main()
