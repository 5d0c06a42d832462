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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import engine_statements, load
from bot.core.down import compute_down
from bot.core.model import Dialect, Schema
from bot.core.replay import Migration, ParseCache, replay
from bot.engines.proof import Proof, Script, verify
from bot.engines.shipped import _dropped, _renames, runs_in_transaction
from bot.planner.gate import only_column_order
from bot.sources.model import Format


def _file(statements: list[str]) -> str:
    return ";\n".join(statements) + (";\n" if statements else "")


def judge_directory(
    entry: dict[str, object],
    prelude: list[str],
    skip: re.Pattern[str] | None,
    every: int,
) -> list[tuple[str, str, bool, str, bool]]:
    """(version, engine outcome, plan flags it, plan's reason, flagged on rows only) for each
    judged author down."""
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
        proof = verify(dialect, list(applied), script, older)
        if proof.engine is None:
            out.append((m.version, author["outcome"], False, f"not run: {proof.reason}", False))
            continue
        flags = not proof.verified and not only_column_order(proof.differences)
        detail = "; ".join(proof.differences[:3])
        reason = f"{proof.reason} {detail}"
        out.append((m.version, author["outcome"], flags, reason, flags and on_rows(proof)))
    return out


# Flags raised only because the proof puts rows in every table (the harness runs empty):
# values lost, or a server error a row causes. Counted apart, they are listed, not hidden.
_ROW_FAILURE = re.compile(
    r"constraint failed|violates|null value|cannot be null|doesn't have a default|duplicate"
    r"|invalid input|truncated|out of range",
    re.IGNORECASE,
)
_VALUES = re.compile(r"^(column \S+: its values are gone|table \S+: \d+ rows before)")
_ORDER = re.compile(r"^table [^:]+: column_order ")


def on_rows(proof: Proof) -> bool:
    """Whether a flag comes from the rows the proof put in, not from the schema."""
    if "loses data it does not declare" in proof.reason:
        return True
    if "failed:" in proof.reason:
        return bool(_ROW_FAILURE.search(proof.reason))
    return all(_VALUES.match(d) or _ORDER.match(d) for d in proof.differences)


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
    wrong = flagged = right = false_flags = rows_only = not_run = 0
    disagreements: list[str] = []
    started = time.monotonic()
    for entry in data["directories"]:
        rows = judge_directory(entry, prelude, skip, args.every)
        for version, outcome, flags, reason, row_flag in rows:
            if reason.startswith("not run"):
                not_run += 1
            if outcome == "restored":
                right += 1
                false_flags += flags
                rows_only += row_flag
            else:
                wrong += 1
                flagged += flags
            if flags != (outcome != "restored"):
                disagreements.append(f"{entry['name']} {version}: engine {outcome}, plan: {reason}")
        print(f"{entry['name']}: {len(rows)} author downs judged", file=sys.stderr)
    print(f"author downs judged: {wrong + right} in {time.monotonic() - started:.0f} s")
    print(f"  wrong or failing on the engine: {wrong}, flagged: {flagged} ({_pct(flagged, wrong)})")
    print(f"  right on the engine: {right}, flagged: {false_flags} ({_pct(false_flags, right)})")
    schema = false_flags - rows_only
    print(f"    on the schema: {schema} ({_pct(schema, right)})")
    print(f"    only on the rows the proof put in: {rows_only} ({_pct(rows_only, right)})")
    print(f"  not run (no engine): {not_run}")
    for line in disagreements[:20]:
        print("  disagrees:", line)


if __name__ == "__main__":
    main()
