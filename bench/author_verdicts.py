"""How often the plan's verdict on an author's down agrees with the engine (issue 15).

Reads a `bench/corpus.py --json` result, which judged every author's down on a real engine
while replaying the history (the ground truth: restored, wrong or fails). For each of those
steps it asks the product the same question the way `rollback-plan plan` does: the proof
(`bot.engines.proof.verify`) of the author's down between the history with and without the
step, each replayed from scratch. Prints how many wrong downs the plan flags and how many right
ones it wrongly flags, with the disagreements.

    python bench/author_verdicts.py /work/corpus/out/held8-sqlite.json
    python bench/author_verdicts.py held8-postgres.json --prelude pg-standins.sql \\
        --skip-statement '^\\s*(CREATE|DROP)\\s+EXTENSION\\b.*(pgcrypto|uuid-ossp)'
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import engine_statements, load
from bot.core.author_down import HandwrittenDown
from bot.core.down import compute_down
from bot.core.model import Dialect, Schema
from bot.core.plan import Proof
from bot.core.replay import Migration, ParseCache, replay
from bot.engines.proof import Script, verify
from bot.engines.shipped import _dropped, _renames, runs_in_transaction
from bot.planner.gate import author_verdict
from bot.sources.model import Format


def _file(statements: list[str]) -> str:
    return ";\n".join(statements) + (";\n" if statements else "")


def judge_directory(
    entry: dict[str, object],
    prelude: list[str],
    skip: re.Pattern[str] | None,
    every: int,
) -> list[tuple[str, str, bool, str, bool]]:
    """(version, engine outcome, plan flags it, plan's reason, plan warns about rows) for each
    judged author down, judged as `plan` judges it (bot.planner.gate.author_verdict)."""
    dialect = Dialect.parse(str(entry["dialect"]))
    _, migrations, _ = load(Path(str(entry["path"])), Format(str(entry["format"])))
    by_version = {m.version: m for m in migrations}
    applied: list[str] = [_file(prelude)] if prelude else []
    out: list[tuple[str, str, bool, str, bool]] = []
    seen = 0
    steps = entry["steps"]
    assert isinstance(steps, list)
    cache = ParseCache()
    schema = Schema(dialect)
    for step in steps:
        m = by_version[step["version"]]
        if step["ours"]["outcome"] == "skipped":
            continue  # the engine refused the up: the harness's history goes on without it
        older = list(applied)
        applied.append(_file(engine_statements(m.up, dialect, skip)))
        replayed = replay([Migration(m.up_path, m.up)], dialect, schema, cache)
        previous, schema = schema, replayed.schema
        author = step.get("author")
        if not author or m.down is None:
            continue
        seen += 1
        if (seen - 1) % every:
            continue
        # what the plan declares lost, as for its own down: the author's drops the same
        ours = compute_down(replayed.schema, previous, replayed.steps)
        renames = _renames(replayed.steps)
        lost = tuple(n for n in dict.fromkeys(_dropped(ours.changes)) if n not in dict(renames))
        try:
            down = engine_statements(m.down, dialect, skip)
        except Exception as err:
            out.append((m.version, author["outcome"], True, f"split: {err}", False))
            continue
        # run as `plan` runs it: the way the tool runs a file, column order as the default
        # config judges it
        tool = Format(str(entry["format"]))
        transaction = runs_in_transaction(tool, (), dialect, [m.down])
        script = Script(tuple(down), "the author's down", (), lost, renames, transaction)
        verdict = author_verdict(
            HandwrittenDown(True, None),
            partial(_prove, dialect, list(applied), script, older),
        )
        if verdict.engine is None:
            out.append((m.version, author["outcome"], False, f"not run: {verdict.not_run}", False))
            continue
        flags = verdict.restores is False
        detail = "; ".join((*verdict.with_rows, *verdict.differences)[:4])
        reason = verdict.failure or detail
        out.append((m.version, author["outcome"], flags, reason, bool(verdict.with_rows)))
    return out


def _prove(
    dialect: Dialect, newer: list[str], script: Script, older: list[str], rows: bool
) -> Proof:
    return verify(dialect, newer, replace(script, rows=rows), older)


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a bench/corpus.py --json output")
    parser.add_argument("--prelude", type=Path, help="SQL run first (the harness's --prelude)")
    parser.add_argument("--skip-statement", help="regex of statements the harness left out")
    parser.add_argument("--every", type=int, default=1, help="judge every K-th author down")
    args = parser.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    data = json.loads(args.results.read_text())
    prelude = (
        engine_statements(args.prelude.read_text(), Dialect.POSTGRES, None) if args.prelude else []
    )
    skip = re.compile(args.skip_statement, re.IGNORECASE) if args.skip_statement else None
    wrong = flagged = right = false_flags = not_run = 0
    warned = {"restored": 0, "wrong": 0}  # schema restored, but not with rows (it gates)
    disagreements: list[str] = []
    warnings: list[str] = []
    started = time.monotonic()
    for entry in data["directories"]:
        rows = judge_directory(entry, prelude, skip, args.every)
        for version, outcome, flags, reason, with_rows in rows:
            if reason.startswith("not run"):
                not_run += 1
            if outcome == "restored":
                right += 1
                false_flags += flags
            else:
                wrong += 1
                flagged += flags
            if with_rows:
                warned["restored" if outcome == "restored" else "wrong"] += 1
                warnings.append(f"{entry['name']} {version}: engine {outcome}, plan: {reason}")
            if flags != (outcome != "restored"):
                disagreements.append(f"{entry['name']} {version}: engine {outcome}, plan: {reason}")
        print(f"{entry['name']}: {len(rows)} author downs judged", file=sys.stderr)
    print(f"author downs judged: {wrong + right} in {time.monotonic() - started:.0f} s")
    print(f"  wrong or failing on the engine: {wrong}, flagged: {flagged} ({_pct(flagged, wrong)})")
    print(f"  right on the engine: {right}, flagged: {false_flags} ({_pct(false_flags, right)})")
    print(
        f"  restores the schema but not with rows (gates, not flagged): {warned['restored']}"
        f" of the right ({_pct(warned['restored'], right)}), {warned['wrong']} of the wrong"
    )
    print(f"  not run (no engine): {not_run}")
    for line in disagreements[:20]:
        print("  disagrees:", line)
    for line in warnings[:20]:
        print("  not with rows:", line)


if __name__ == "__main__":
    main()
