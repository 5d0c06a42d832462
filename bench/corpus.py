"""Judge our down, and the author's, on real migration histories replayed on a real engine.

For each step i of each directory: run step i on a scratch database at state i-1; compute our
down for it as `rollback-plan diff` does (replay, then invert or diff); run that down at state
i and compare the catalog with state i-1's (column order aside); do the same with the author's
down when the format has one. Prints a table per directory and totals; --json writes every
step. See docs/corpus.md.

    python bench/corpus.py DIR[@dialect] [DIR ...] --dialect postgres [--limit N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus_engines import History, transaction_control
from bot.core.down import compute_down
from bot.core.model import Dialect, Schema
from bot.core.render import to_script
from bot.core.replay import Migration, ParseCache, Unmodelled, replay
from bot.core.split import SplitError, split_statements
from bot.engines import Catalog, EngineError, EngineUnavailable, ScratchServer, start_scratch_server
from bot.sources.dirs import SourceError, read_text
from bot.sources.formats import detect_format, parse_migrations
from bot.sources.model import Format, VersionedMigration

_SPECIAL_FILES = ("sqitch.plan", "atlas.sum")
_DIFF_LINES = 8  # catalog differences kept per step


class Outcome(StrEnum):
    RESTORED = "restored"  # the down gives state i-1's catalog
    WRONG = "wrong"  # it runs, and the catalog differs
    FAILS = "fails"  # the engine rejects a statement of the down
    UNPLANNABLE = "unplannable"  # the step has statements the model can't read
    CRASH = "crash"  # planning raised an exception
    SKIPPED = "skipped"  # the step itself fails on the engine: not judged
    UNCHANGED = "unchanged"  # the step changes no schema and our down is empty: not judged


JUDGED = (Outcome.RESTORED, Outcome.WRONG, Outcome.FAILS, Outcome.UNPLANNABLE, Outcome.CRASH)


@dataclass
class Judgement:
    """How one down fared at one state."""

    outcome: Outcome
    detail: str = ""  # engine error, catalog differences, unmodelled reason, exception
    differences: list[str] = field(default_factory=list)
    statement: str = ""  # the failing statement


@dataclass
class StepResult:
    """One step of one history."""

    version: str
    path: str
    ours: Judgement
    claimed_complete: bool = True  # what `rollback-plan diff` says of the down
    engine_outcome: str = ""  # for unplannable steps: what the down did anyway
    gaps: list[str] = field(default_factory=list)  # why the down itself is incomplete
    author: Judgement | None = None
    seconds: float = 0.0

    @property
    def silent(self) -> bool:
        """Wrong or failing while the plan said it was complete: the worst defect."""
        return self.claimed_complete and self.ours.outcome in (Outcome.WRONG, Outcome.FAILS)


@dataclass
class DirResult:
    name: str
    path: str
    dialect: str
    format: str
    engine: str
    steps: list[StepResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rebuilds: int = 0


# --- reading ---------------------------------------------------------------------------------


def read_files(directory: Path) -> dict[str, str]:
    """The directory's SQL files (and format marker files), by relative path."""
    files: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix != ".sql" and path.name not in _SPECIAL_FILES:
            continue
        rel = path.relative_to(directory).as_posix()
        try:
            files[rel] = read_text(path, str(path))
        except SourceError:
            continue  # binary or oversized: the format reader reports the gap if it matters
    return files


def load(directory: Path, fmt: Format | None) -> tuple[Format, list[VersionedMigration], list[str]]:
    """The directory's migrations in the tool's order, and what could not be read."""
    files = read_files(directory)
    found = fmt or detect_format(files)
    if found is None:
        raise SourceError(f"{directory}: no migrations found")
    migrations, problems = parse_migrations(found, files)
    return found, [m for m in migrations if not m.repeatable], problems


def engine_statements(sql: str, dialect: Dialect, skip: re.Pattern[str] | None) -> list[str]:
    """A file's statements as the engine runs them (transaction control left out)."""
    return [
        s.text
        for s in split_statements(sql, dialect.value)
        if not transaction_control(s.text) and not (skip and skip.search(s.text))
    ]


# --- judging ---------------------------------------------------------------------------------


def judge_on_engine(
    history: History, statements: list[str], before: Catalog, current: Catalog
) -> Judgement:
    """Run a down at the current state and compare with the state before the step."""
    after, error = history.try_down(statements, current)
    if error is not None:
        return Judgement(Outcome.FAILS, _one_line(error.message), statement=_short(error.statement))
    assert after is not None
    differences = after.diff(before)
    if differences:
        return Judgement(
            Outcome.WRONG,
            f"{len(differences)} difference(s)",
            differences[:_DIFF_LINES],
        )
    return Judgement(Outcome.RESTORED)


def run_directory(
    name: str,
    directory: Path,
    dialect: Dialect,
    server: ScratchServer,
    *,
    fmt: Format | None = None,
    limit: int | None = None,
    prelude: Sequence[str] = (),
    skip: re.Pattern[str] | None = None,
    author: bool = True,
    progress: bool = False,
) -> DirResult:
    """Replay one directory's history on ``server`` and judge every step's down."""
    started = time.monotonic()
    found, migrations, problems = load(directory, fmt)
    result = DirResult(name, str(directory), dialect.value, found.value, server.version)
    result.problems = problems
    history = History(server, prelude)
    cache = ParseCache()
    schema = Schema(dialect)
    earlier: list[Unmodelled] = []
    before = history.catalog()
    for m in migrations[:limit]:
        t0 = time.monotonic()
        if not author:
            m = replace(m, down=None)
        step, state = _step(m, dialect, history, schema, earlier, before, cache, skip)
        step.seconds = round(time.monotonic() - t0, 3)
        result.steps.append(step)
        if state is not None:  # a skipped step leaves engine and model where they were
            schema, before = state.schema, state.catalog
            earlier.extend(state.unmodelled)
        if progress:
            print(f"  {m.version} {step.ours.outcome}", file=sys.stderr)
    history.close()
    result.rebuilds = history.rebuilds
    result.seconds = round(time.monotonic() - started, 1)
    return result


@dataclass(frozen=True)
class _StepState:
    """What the next step starts from: the model's schema and the engine's catalog."""

    schema: Schema
    catalog: Catalog
    unmodelled: tuple[Unmodelled, ...] = ()


def _step(
    m: VersionedMigration,
    dialect: Dialect,
    history: History,
    schema: Schema,
    earlier: list[Unmodelled],
    before: Catalog,
    cache: ParseCache,
    skip: re.Pattern[str] | None,
) -> tuple[StepResult, _StepState | None]:
    try:
        up = engine_statements(m.up, dialect, skip)
    except SplitError as err:
        return StepResult(m.version, m.up_path, Judgement(Outcome.SKIPPED, f"split: {err}")), None
    error = history.step(up)
    if error is not None:
        skipped = Judgement(
            Outcome.SKIPPED, _one_line(error.message), statement=_short(error.statement)
        )
        return StepResult(m.version, m.up_path, skipped), None
    current = history.catalog()
    # our down, as `rollback-plan diff` computes it for a directory with one more migration
    own: tuple[Unmodelled, ...] = ()
    try:
        replayed = replay([Migration(m.up_path, m.up)], dialect, schema, cache)
        own = replayed.unmodelled
        down = compute_down(replayed.schema, schema, replayed.steps)
        script = to_script(list(down.statements))
        ours = engine_statements(script, dialect, skip)
        next_schema = replayed.schema
    except Exception as err:  # a crash is a finding; the history goes on from the engine
        tb = traceback.extract_tb(err.__traceback__)[-1]
        crash = Judgement(
            Outcome.CRASH,
            f"{type(err).__name__}: {_one_line(str(err))} at {tb.filename}:{tb.lineno}",
        )
        return StepResult(m.version, m.up_path, crash, claimed_complete=False), _StepState(
            schema, current
        )
    state = _StepState(next_schema, current, own)
    # the down's own gaps count too (a check MariaDB renames, a SQLite column with no value)
    complete = not earlier and not own and not down.unmodelled
    changed = current != before and bool(current.diff(before))
    if not changed and not ours:
        judged = Judgement(Outcome.UNCHANGED)
    else:
        judged = judge_on_engine(history, ours, before, current)
    result = StepResult(m.version, m.up_path, judged, claimed_complete=complete)
    result.gaps = [u.reason for u in down.unmodelled]
    if own and judged.outcome is not Outcome.UNCHANGED:
        result.engine_outcome = judged.outcome.value
        first = own[0]
        result.ours = Judgement(
            Outcome.UNPLANNABLE,
            f"{first.reason} ({len(own)} statement(s))",
            statement=_short(first.sql),
        )
    if m.down is not None and changed:
        try:
            theirs = engine_statements(m.down, dialect, skip)
        except SplitError as err:
            result.author = Judgement(Outcome.FAILS, f"split: {err}")
        else:
            result.author = judge_on_engine(history, theirs, before, current)
    return result, state


def _one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else "unknown error"


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 240 else text[:237] + "..."


# --- reporting -------------------------------------------------------------------------------


def counts(steps: Sequence[StepResult]) -> dict[str, Any]:
    """The figures of a table row."""
    ours = Counter(s.ours.outcome for s in steps)
    judged = sum(ours[o] for o in JUDGED)
    authors = [s.author for s in steps if s.author is not None]
    theirs = Counter(a.outcome for a in authors)
    return {
        "steps": len(steps),
        "skipped": ours[Outcome.SKIPPED],
        "unchanged": ours[Outcome.UNCHANGED],
        "judged": judged,
        "restored": ours[Outcome.RESTORED],
        "restored_pct": _pct(ours[Outcome.RESTORED], judged),
        "wrong": ours[Outcome.WRONG],
        "fails": ours[Outcome.FAILS],
        "unplannable": ours[Outcome.UNPLANNABLE],
        "crash": ours[Outcome.CRASH],
        "silent": sum(s.silent for s in steps),
        # judged steps whose down `diff` marks INCOMPLETE only for an earlier step's statement
        "incomplete_earlier": sum(
            s.ours.outcome in JUDGED
            and s.ours.outcome is not Outcome.UNPLANNABLE
            and not s.claimed_complete
            and not s.gaps
            for s in steps
        ),
        "author_judged": len(authors),
        "author_restored": theirs[Outcome.RESTORED],
        "author_restored_pct": _pct(theirs[Outcome.RESTORED], len(authors)),
        "author_wrong": theirs[Outcome.WRONG],
        "author_fails": theirs[Outcome.FAILS],
    }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


_COLUMNS = (
    ("steps", "steps"),
    ("skip", "skipped"),
    ("same", "unchanged"),
    ("judged", "judged"),
    ("restored", "restored"),
    ("%", "restored_pct"),
    ("wrong", "wrong"),
    ("fails", "fails"),
    ("unplan", "unplannable"),
    ("crash", "crash"),
    ("silent", "silent"),
    ("inc.old", "incomplete_earlier"),
    ("author", "author_judged"),
    ("a.rest", "author_restored"),
    ("a.%", "author_restored_pct"),
    ("a.wrong", "author_wrong"),
    ("a.fails", "author_fails"),
)


def table(results: Sequence[DirResult]) -> str:
    """A Markdown table: one row per directory, then totals per dialect and overall."""
    head = ["directory", "dialect", *(c for c, _ in _COLUMNS)]
    rows = [[r.name, r.dialect, *_cells(counts(r.steps))] for r in results]
    for dialect in sorted({r.dialect for r in results}):
        steps = [s for r in results if r.dialect == dialect for s in r.steps]
        rows.append([f"**total {dialect}**", dialect, *_cells(counts(steps))])
    rows.append(["**total**", "", *_cells(counts([s for r in results for s in r.steps]))])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cells(figures: dict[str, Any]) -> list[str]:
    return ["-" if figures[key] is None else str(figures[key]) for _, key in _COLUMNS]


_NAME = re.compile(r'"[^"]*"|`[^`]*`|\'[^\']*\'|\b[a-z_][a-z0-9_$]*\.[a-z0-9_$.]+\b|\d+')


def failure_class(step: StepResult, author: bool = False) -> str | None:
    """A key grouping failures of the same kind: the message with names and numbers blanked."""
    judged = step.author if author else step.ours
    if judged is None or judged.outcome in (Outcome.RESTORED, Outcome.UNCHANGED):
        return None
    if judged.outcome is Outcome.WRONG:
        text = "; ".join(sorted({_blank(d) for d in judged.differences}))
    else:
        text = _blank(judged.detail)
    return f"{judged.outcome.value}: {text[:200]}"


_OBJECT = re.compile(
    r"\b(table|view|constraint|index|column|foreign key|sequence|function|trigger|check|"
    r"extension|type|enum|schema|relation)\s+(?!(?:is|not|without|matching|of|a|an|the)\b)"
    r"(\([^)]*\)\s*->\s*)?[^\s:;]+",
    re.IGNORECASE,
)


def _blank(text: str) -> str:
    return _NAME.sub("_", _OBJECT.sub(lambda m: f"{m.group(1)} _", text))


def classes(results: Sequence[DirResult], author: bool = False) -> list[tuple[str, int, str]]:
    """Failure classes ranked by count, with one example (directory and file) each."""
    found: Counter[str] = Counter()
    example: dict[str, str] = {}
    for r in results:
        for s in r.steps:
            key = failure_class(s, author)
            if key is None:
                continue
            found[key] += 1
            example.setdefault(key, f"{r.name}: {s.path}")
    return [(key, n, example[key]) for key, n in found.most_common()]


def to_json(results: Sequence[DirResult]) -> dict[str, Any]:
    return {
        "totals": counts([s for r in results for s in r.steps]),
        "directories": [
            {
                **{k: v for k, v in asdict(r).items() if k != "steps"},
                "figures": counts(r.steps),
                "steps": [{**asdict(s), "silent": s.silent} for s in r.steps],
            }
            for r in results
        ],
    }


def from_json(data: dict[str, Any]) -> list[DirResult]:
    """Results written by ``to_json`` (to print one table for several runs)."""

    def judgement(j: dict[str, Any] | None) -> Judgement | None:
        return None if j is None else Judgement(**{**j, "outcome": Outcome(j["outcome"])})

    results = []
    for d in data["directories"]:
        fields = {k: v for k, v in d.items() if k not in ("figures", "steps")}
        result = DirResult(**fields)
        for step in d["steps"]:
            values = {k: v for k, v in step.items() if k != "silent"}
            ours = judgement(values.pop("ours"))
            assert ours is not None
            author = judgement(values.pop("author"))
            result.steps.append(StepResult(ours=ours, author=author, **values))
        results.append(result)
    return results


# --- command line ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "dirs",
        nargs="+",
        metavar="DIR[@dialect]",
        help="migration directories (any layout bot/sources reads); NAME=DIR names the row",
    )
    p.add_argument("--dialect", help="postgres, mysql or sqlite (default for every DIR)")
    p.add_argument("--format", choices=[f.value for f in Format], help="default: detect")
    p.add_argument("--limit", type=int, help="judge only the first N steps of each directory")
    p.add_argument("--json", type=Path, help="write every step's result here")
    p.add_argument(
        "--prelude",
        type=Path,
        help="SQL run on every scratch database first (then DIR.prelude.sql, when it exists)",
    )
    p.add_argument(
        "--skip-statement",
        help="regex: statements it matches are not run on the engine (e.g. extensions the "
        "scratch server lacks, given as stand-ins in --prelude)",
    )
    p.add_argument(
        "--no-author",
        action="store_true",
        help="don't judge the authors' downs (on MariaDB a wrong one costs a rebuild by replay)",
    )
    p.add_argument("--classes", action="store_true", help="print failure classes ranked")
    p.add_argument(
        "--report",
        action="store_true",
        help="the arguments are JSON files of earlier runs: print their table together",
    )
    p.add_argument("--progress", action="store_true", help="one line per step on stderr")
    return p


def _target(spec: str, default: str | None) -> tuple[str, Path, Dialect]:
    name, _, rest = spec.rpartition("=") if "=" in spec else ("", "", spec)
    path, _, dialect = rest.partition("@")
    if not (dialect or default):
        raise SystemExit(f"corpus: {spec}: no dialect (give --dialect or DIR@dialect)")
    directory = Path(path)
    # /corpus/<project>/<dialect> is the usual shape: name the row after both
    default_name = f"{directory.parent.name}/{directory.name}"
    return name or default_name, directory, Dialect.parse(dialect or str(default))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    if args.report:
        loaded = [r for path in args.dirs for r in from_json(json.loads(Path(path).read_text()))]
        _print(loaded, args)
        return 0
    targets = [_target(spec, args.dialect) for spec in args.dirs]
    fmt = Format(args.format) if args.format else None
    skip = (
        re.compile(args.skip_statement, re.IGNORECASE | re.DOTALL) if args.skip_statement else None
    )
    servers: dict[Dialect, ScratchServer] = {}
    results: list[DirResult] = []
    try:
        for name, directory, dialect in targets:
            prelude: list[str] = []
            own = directory.with_name(directory.name + ".prelude.sql")
            for path in (args.prelude, own if own.is_file() else None):
                if path is not None:
                    prelude += engine_statements(path.read_text(), dialect, None)
            try:
                server = servers.get(dialect) or start_scratch_server(dialect.value)
            except EngineUnavailable as err:
                print(f"corpus: {name}: {dialect.value} unavailable: {err}", file=sys.stderr)
                continue
            servers[dialect] = server
            try:
                result = run_directory(
                    name,
                    directory,
                    dialect,
                    server,
                    fmt=fmt,
                    limit=args.limit,
                    prelude=prelude,
                    skip=skip,
                    author=not args.no_author,
                    progress=args.progress,
                )
            except (SourceError, EngineError) as err:
                print(f"corpus: {name}: {err}", file=sys.stderr)
                continue
            results.append(result)
            figures = counts(result.steps)
            print(
                f"{name} ({dialect.value}, {result.format}, {result.engine}): "
                f"{figures['judged']} judged, {figures['restored_pct']}% restored, "
                f"{result.seconds}s, {result.rebuilds} rebuild(s)",
                file=sys.stderr,
            )
    finally:
        for server in servers.values():
            server.close()
    _print(results, args)
    return 0


def _print(results: Sequence[DirResult], args: argparse.Namespace) -> None:
    sys.stdout.write(table(results))
    if args.classes:
        for title, author in (("our down", False), ("author's down", True)):
            print(f"\nFailure classes, {title}:")
            for key, n, where in classes(results, author):
                print(f"  {n:4d}  {key}   (e.g. {where})")
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=2, default=str) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
