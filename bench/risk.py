"""Benchmark: what risk analysis adds to planning, and what `--verify` adds per engine.

Prints numbers; asserts nothing. Target: risk analysis (rules, the shipped SQL, the
data-keeping alternatives) adds under 10% to the time of planning the down of the last 100
migrations (replay of both histories, no cache). Default history: the engine benchmark's
(1,000 migrations over 500 tables); DIR: a real PostgreSQL history.

    python bench/risk.py [DIR] [--no-engines] [--rounds 5]
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


def measure(files: list[Any], undo: int, rounds: int) -> dict[str, Any]:
    """Plan time for undoing the last `undo` migrations, and what risk analysis adds to it
    (the rules on the changes; also reading the shipped SQL; gate with alternatives), each
    timed once per round, the rounds interleaved so that other load hits all alike."""
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

    newer, down = plan()
    source = SourcePlan("directory", "db", None, "postgres", down, HandwrittenDown(False, None))
    steps: dict[str, Callable[[], object]] = {
        "plan": plan,
        "rules": lambda: assess(down.changes, newer.schema),
        "rules+sql": lambda: assess(down.changes, newer.schema, statements=down.statements),
        "gate": lambda: gate(source, newer.schema, policy=Policy(), allows=[], label="bench00"),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}  # what other load skews least
    for _ in range(rounds):
        for name, step in steps.items():
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    findings = len(assess(down.changes, newer.schema).findings())
    return {"times": times, "cpu": cpu, "statements": len(down.statements), "findings": findings}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "dir", nargs="?", type=Path, help="a PostgreSQL migration directory (default: synthetic)"
    )
    parser.add_argument("--no-engines", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
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
    print(
        f"{args.rounds} interleaved rounds; min / median wall time, each as a share of the "
        "plan's, and the same share of CPU time"
    )
    for undo in (10, 100):
        r = measure(files, undo, args.rounds)
        t, c = r["times"], r["cpu"]
        print(
            f"undo last {undo:>3}: {r['statements']} statements, {r['findings']} findings; "
            f"plan {min(t['plan']):.3f} / {statistics.median(t['plan']):.3f} s"
            f" (CPU {min(c['plan']):.3f} / {statistics.median(c['plan']):.3f} s)"
        )
        for name, label in (
            ("rules", "risk rules"),
            ("rules+sql", "+ the shipped SQL read"),
            ("gate", "rules + SQL + alternatives (target < 10%)"),
        ):
            lo = min(t[name]) / min(t["plan"])
            mid = statistics.median(t[name]) / statistics.median(t["plan"])
            clo = min(c[name]) / min(c["plan"])
            cmid = statistics.median(c[name]) / statistics.median(c["plan"])
            print(
                f"  {label:42s} {min(t[name]) * 1000:7.1f} / "
                f"{statistics.median(t[name]) * 1000:7.1f} ms  +{lo:.1%} / +{mid:.1%}"
                f"  CPU +{clo:.1%} / +{cmid:.1%}"
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
