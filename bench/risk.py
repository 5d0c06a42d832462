"""Benchmark: what risk analysis adds to planning, and what `--verify` adds per engine.

Prints numbers; asserts nothing. Target: risk analysis adds under 10% to plan time on the
engine benchmark's history (1,000 migrations over 500 tables).

    python bench/risk.py [DIR] [--no-engines]
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


def measure(files: list[Any], undo: int) -> tuple[float, float, float, float, int, int]:
    """Plan time for undoing the last `undo` migrations, and what risk analysis adds to it
    (the rules on the changes; also reading the shipped SQL; gate with alternatives)."""
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
    t_sql = best(lambda: assess(down.changes, newer.schema, statements=down.statements))
    t_gate = best(lambda: gate(source, newer.schema, policy=Policy(), allows=[], label="bench00"))
    findings = len(assess(down.changes, newer.schema).findings())
    return t_plan, t_assess, t_sql, t_gate, len(down.statements), findings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "dir", nargs="?", type=Path, help="a PostgreSQL migration directory (default: synthetic)"
    )
    parser.add_argument("--no-engines", action="store_true")
    args = parser.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)

    from bot.core.replay import Migration

    if args.dir:
        from bot.sources.dirs import read_dir

        files = [Migration(m.up_path, m.up) for m in read_dir(args.dir)[1]]
        print(f"history: {args.dir}, {len(files)} migrations (PostgreSQL)")
    else:
        files = [Migration(name, sql) for name, sql in migrations(1000, 500)]
        print("history: 1000 migrations over 500 tables (PostgreSQL)")
    results = {undo: measure(files, undo) for undo in (10, 100)}
    for undo, (t_plan, t_assess, t_sql, t_gate, n, f) in results.items():
        print(
            f"undo last {undo:>3}: plan {t_plan:.3f} s, {n} statements, {f} findings; "
            f"risk rules {t_assess * 1000:.1f} ms (+{t_assess / t_plan:.1%}); "
            f"+ the shipped SQL read {t_sql * 1000:.1f} ms (+{t_sql / t_plan:.1%}); "
            f"rules + SQL + alternatives {t_gate * 1000:.1f} ms (+{t_gate / t_plan:.1%})"
        )
    if args.no_engines:
        return
    verify_times()


def verify_times() -> None:
    """Seconds the proof adds for a typical revert, per engine: the first run starts the
    scratch server (cold), later runs reuse it (warm). Rows go into every table each time."""
    from bot.core.model import Dialect
    from bot.engines.proof import Script, verify

    newer = [
        "CREATE TABLE users (id integer PRIMARY KEY, email varchar(255) NOT NULL);",
        "ALTER TABLE users ADD COLUMN bio text; CREATE INDEX users_bio ON users (bio);",
    ]
    older = newer[:1]
    down = ("DROP INDEX users_bio", "ALTER TABLE users DROP COLUMN bio")
    down_mysql = ("DROP INDEX users_bio ON users", "ALTER TABLE users DROP COLUMN bio")
    for dialect, statements in (
        (Dialect.SQLITE, down),
        (Dialect.POSTGRES, down),
        (Dialect.MYSQL, down_mysql),  # the local mariadbd, started by the proof itself
    ):
        script = Script(statements, lost=("users.bio",))
        runs = []
        for _ in range(4):
            t0 = time.perf_counter()
            result = verify(dialect, newer, script, older)
            runs.append(time.perf_counter() - t0)
        cold, warm = runs[0], statistics.median(runs[1:])
        status = "proven" if result.verified else f"not proven: {result.reason}"
        print(
            f"proof {dialect.value:<8}: cold {cold:.2f} s (server start), warm {warm:.2f} s;"
            f" {result.engine or ''} {status}"
        )


if __name__ == "__main__":
    main()
