"""Mutated real migration files through the real CLI: no traceback, no hang, bounded memory.

Each input is a real .sql migration mutated at random (truncated, bytes flipped or inserted,
odd unicode, brackets/quotes/semicolons deleted or doubled, two files spliced, a statement
repeated thousands of times, parentheses nested very deep, a huge single line, an empty file,
a binary blob), written after a few unmutated files of its own history. `rollback-plan schema`
and `rollback-plan diff` (back to the history without it) run on it as subprocesses, two at a
time, 60 s each; every run's exit code, traceback, wall time and peak RSS are recorded.

    python bench/mutated_files.py /work/corpus/src/*/{postgres,mysql,sqlite} --count 2000 --seed 1
        [--first N] [--keep DIR] [--jobs 2] [--json out.jsonl]
    python bench/mutated_files.py --report out.jsonl [more.jsonl ...]

A directory's dialect is its name (postgres, mysql, sqlite) unless given as DIR@dialect.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli import EXIT_BAD_INPUT, EXIT_GATE, EXIT_OK

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0  # seconds a run may take
PEAK_LIMIT_MB = 500.0
EXIT_CODES = (EXIT_OK, EXIT_GATE, EXIT_BAD_INPUT)
DIALECTS = ("postgres", "mysql", "sqlite")
ENV = {"ROLLBACK_PLAN_REPLAY_CACHE_DIR": "off"}  # every run parses everything, no shared state
CONTEXT = 3  # unmutated files of the history before the mutated one (besides the first)

ODD_UNICODE = (
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u0301\u0308",  # combining accents
    "\U0001f600",  # emoji
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # emoji ZWJ sequence
    "\uff08",  # fullwidth (
    "\uff09",  # fullwidth )
    "\uff1b",  # fullwidth ;
    "\uff07",  # fullwidth '
    "\ufeff",  # BOM in the middle
    "\u200b",  # zero-width space
    "\u2028",  # line separator
    "\u00a0",  # no-break space
    "\u0000",  # NUL as text
    "\ud7ff\ue000",  # edges of the surrogate gap
)
RAW_BYTES = (b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x80", b"\x80", b"\xfe\xff")
PUNCTUATION = b"();'\"`"
REPEATS = (1000, 5000)  # how often a statement is repeated, at most
DEPTHS = (200, 1000, 5000, 50_000)  # parentheses nested
HUGE_LINE_BYTES = (1 << 20, 4 << 20, 16 << 20)


@dataclass(frozen=True)
class Source:
    """A real migration history: its up files in order and its dialect."""

    directory: Path
    dialect: str
    files: tuple[str, ...]  # relative paths, oldest first


@dataclass(frozen=True)
class Case:
    """One mutated file and the history it is replayed after."""

    number: int
    source: Source
    target: str  # relative path of the mutated file
    context: tuple[str, ...]  # unmutated files before it
    mutations: tuple[str, ...]
    data: bytes


@dataclass(frozen=True)
class Run:
    """One CLI run."""

    command: list[str]
    exit_code: int | None  # None: killed at the timeout
    traceback: bool
    seconds: float
    peak_mb: float
    stderr_tail: str


def sources(directories: Sequence[str]) -> list[Source]:
    """Each directory's up files in the order the tool replays them."""
    from bot.sources.dirs import SourceError, read_dir

    found = []
    for spec in directories:
        path, _, dialect = spec.partition("@")
        directory = Path(path)
        dialect = dialect or directory.name
        if dialect not in DIALECTS:
            raise SystemExit(f"{spec}: dialect unknown; name it DIR@postgres|mysql|sqlite")
        try:
            files = [m.up_path for m in read_dir(directory)[1]]
        except SourceError:  # a history the tool can't read whole: its up files by name
            files = sorted(
                p.name for p in directory.glob("*.sql") if not p.name.endswith(".down.sql")
            )
        if files:
            found.append(Source(directory, dialect, tuple(files)))
    return found


def _positions(data: bytes, rng: random.Random) -> int:
    return rng.randint(0, len(data))


def _truncate(data: bytes, rng: random.Random, _: bytes) -> bytes:
    return data[: _positions(data, rng)]


def _flip(data: bytes, rng: random.Random, _: bytes) -> bytes:
    out = bytearray(data)
    for _i in range(rng.randint(1, 20)) if out else ():
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _insert_bytes(data: bytes, rng: random.Random, _: bytes) -> bytes:
    for _i in range(rng.randint(1, 5)):
        at = _positions(data, rng)
        data = data[:at] + rng.choice(RAW_BYTES) + data[at:]
    return data


def _odd_unicode(data: bytes, rng: random.Random, _: bytes) -> bytes:
    for _i in range(rng.randint(1, 10)):
        at = _positions(data, rng)
        while at < len(data) and 0x80 <= data[at] < 0xC0:  # not inside a UTF-8 sequence
            at += 1
        data = data[:at] + rng.choice(ODD_UNICODE).encode("utf-8", "surrogatepass") + data[at:]
    return data


def _delete_punctuation(data: bytes, rng: random.Random, _: bytes) -> bytes:
    spots = [i for i, b in enumerate(data) if b in PUNCTUATION]
    drop = set(rng.sample(spots, min(len(spots), rng.randint(1, 5))))
    return bytes(b for i, b in enumerate(data) if i not in drop)


def _double_punctuation(data: bytes, rng: random.Random, _: bytes) -> bytes:
    spots = [i for i, b in enumerate(data) if b in PUNCTUATION]
    for at in sorted(rng.sample(spots, min(len(spots), rng.randint(1, 5))), reverse=True):
        data = data[:at] + data[at : at + 1] * rng.randint(2, 50) + data[at:]
    return data


def _splice(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return data[: _positions(data, rng)] + other[rng.randint(0, len(other)) :]


def _repeat_statement(data: bytes, rng: random.Random, _: bytes) -> bytes:
    statements = [s for s in data.split(b";") if s.strip()] or [b"SELECT 1"]
    statement = rng.choice(statements).strip() + b";\n"
    return data + statement * rng.randint(*REPEATS)


def _deep_parentheses(data: bytes, rng: random.Random, _: bytes) -> bytes:
    depth = rng.choice(DEPTHS)
    at = _positions(data, rng)
    body = rng.choice((b"", b"1", b"a + 1", b"SELECT 1"))
    return data[:at] + b"(" * depth + body + b")" * rng.choice((depth, depth // 2)) + data[at:]


def _huge_line(data: bytes, rng: random.Random, _: bytes) -> bytes:
    size = rng.choice(HUGE_LINE_BYTES)
    how = rng.randrange(3)
    if how == 0:  # the file's statements on one line, repeated up to the size
        line = re.sub(rb"\s+", b" ", data) or b"SELECT 1;"
        return line * max(1, size // len(line))
    if how == 1:  # one enormous identifier in a real statement
        return data + b"\nCREATE TABLE t (" + b"c" * size + b" int);\n"
    return data + b"\n-- " + b"x" * size + b"\n"  # one enormous comment


def _empty(data: bytes, rng: random.Random, _: bytes) -> bytes:
    return b""


def _blob(data: bytes, rng: random.Random, _: bytes) -> bytes:
    return rng.randbytes(rng.choice((16, 1024, 100_000)))


Mutation = Callable[[bytes, random.Random, bytes], bytes]
MUTATIONS: dict[str, Mutation] = {
    "truncate": _truncate,
    "flip": _flip,
    "insert-bytes": _insert_bytes,
    "odd-unicode": _odd_unicode,
    "delete-punctuation": _delete_punctuation,
    "double-punctuation": _double_punctuation,
    "splice": _splice,
    "repeat-statement": _repeat_statement,
    "deep-parentheses": _deep_parentheses,
    "huge-line": _huge_line,
    "empty": _empty,
    "blob": _blob,
}
_ALONE = ("huge-line", "empty", "blob")  # not combined: their result is the point
# the mutations that keep the file SQL text, so they reach the parser
_TEXT = ("truncate", "odd-unicode", "delete-punctuation", "double-punctuation", "splice",
         "repeat-statement", "deep-parentheses")  # fmt: skip


def mutate(
    data: bytes, rng: random.Random, other: bytes, first: str | None = None
) -> tuple[tuple[str, ...], bytes]:
    """`data` with one to three random mutations, `first` first (`other` is spliced in)."""
    first = first or rng.choice(list(MUTATIONS))
    names = [first]
    if first not in _ALONE:
        names += rng.sample(_TEXT, rng.randint(0, 2))
    for name in names:
        data = MUTATIONS[name](data, rng, other)
    return tuple(names), data


def make_case(found: Sequence[Source], number: int, seed: int, first: str | None = None) -> Case:
    """Mutated file `number`, from its own seeded generator (the same made alone or in a run)."""
    rng = random.Random(f"{seed}:{number}")
    source = rng.choice(found)
    index = rng.randrange(len(source.files))
    before = source.files[:index]
    context = tuple(dict.fromkeys(before[:1] + before[-CONTEXT:]))
    other = rng.choice(found)
    other_data = (other.directory / rng.choice(other.files)).read_bytes()
    data = (source.directory / source.files[index]).read_bytes()
    names, data = mutate(data, rng, other_data, first)
    return Case(number, source, source.files[index], context, names, data)


def write_case(case: Case, where: Path) -> tuple[Path, Path]:
    """The migration directory with the mutated file, and the one without it."""
    full, prefix = where / "full", where / "prefix"
    for directory in (full, prefix):
        directory.mkdir(parents=True)
        for name in case.context:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(case.source.directory / name, directory / name)
    (full / case.target).parent.mkdir(parents=True, exist_ok=True)
    (full / case.target).write_bytes(case.data)
    return full, prefix


def commands(full: Path, prefix: Path, dialect: str) -> list[list[str]]:
    """The CLI invocations a case runs: its schema, and the down that undoes the mutated file."""
    return [
        ["schema", "--dir", str(full), "--dialect", dialect],
        ["diff", "--from-dir", str(full), "--to-dir", str(prefix), "--dialect", dialect],
    ]


# Runs the command and writes its peak RSS (KiB) to argv[1]. A process of its own, small: a
# child's ru_maxrss starts at the RSS of the process it was forked from, so not forked from us.
_MEASURE = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_cli(args: Sequence[str], python: str = sys.executable, timeout: float = TIMEOUT) -> Run:
    """`python -m bot.cli ARGS` in a session of its own, killed at `timeout`, with the child's
    own peak RSS (measured by a small wrapper that waits for it)."""
    command = [python, "-m", "bot.cli", *args]
    env = {**os.environ, **ENV}
    with tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        start = time.monotonic()
        child = subprocess.Popen(
            [python, "-I", "-S", "-c", _MEASURE, str(peak_file), *command],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )  # fmt: skip
        try:
            code: int | None = child.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            code = None
        seconds = time.monotonic() - start
        peak_kib = int(peak_file.read_text() or 0) if peak_file.exists() else 0
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Run(
        command=command,
        exit_code=code,
        traceback="Traceback" in stderr,
        seconds=round(seconds, 2),
        peak_mb=round(peak_kib / 1024, 1),
        stderr_tail="\n".join(stderr.strip().splitlines()[-3:]),
    )


def problem(run: Run, timeout: float = TIMEOUT, peak_mb: float = PEAK_LIMIT_MB) -> str | None:
    """What is wrong with a run, as a user sees it; None when nothing is."""
    if run.exit_code is None:
        return f"hang: killed after {timeout:.0f} s"
    if run.traceback:
        return "traceback: " + (run.stderr_tail.splitlines() or [""])[-1]
    if run.exit_code not in EXIT_CODES:
        return f"exit code {run.exit_code}: {run.stderr_tail}"
    if run.exit_code == EXIT_BAD_INPUT:
        errors = [line for line in run.stderr_tail.splitlines() if "error:" in line]
        if not errors or not errors[-1].startswith("rollback-plan: error: "):
            return f"no one-line error on stderr: {run.stderr_tail!r}"
    if run.peak_mb > peak_mb:
        return f"peak RSS {run.peak_mb:.0f} MB (limit {peak_mb:.0f} MB)"
    return None


def reproduction(run: Run) -> str:
    """A shell line that runs the same thing again from the repository root."""
    env = " ".join(f"{k}={v}" for k, v in ENV.items())
    return f"cd {ROOT} && {env} {shlex.join(run.command)}"


@dataclass
class Outcome:
    """A case's runs, and what went wrong in them."""

    case: Case
    runs: list[Run]
    problems: list[str]


def run_case(
    found: Sequence[Source], number: int, seed: int, scratch: Path, keep: Path | None, python: str
) -> Outcome:
    """Make case `number`, run its commands, keep its directories when a run went wrong."""
    case = make_case(found, number, seed)
    where = scratch / f"case-{case.number:05d}"
    full, prefix = write_case(case, where)
    runs = [run_cli(args, python) for args in commands(full, prefix, case.source.dialect)]
    problems = [p for p in map(problem, runs) if p]
    if problems and keep is not None:
        kept = keep / where.name
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(where, kept)
        runs = [
            Run(**{**asdict(r), "command": [a.replace(str(where), str(kept)) for a in r.command]})
            for r in runs
        ]
    shutil.rmtree(where, ignore_errors=True)
    return Outcome(replace(case, data=b""), runs, problems)  # the bytes are on disk or gone


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="*", help="migration directories, DIR[@dialect]")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="number of the first case")
    parser.add_argument("--jobs", type=int, default=2, help="children at a time (at most 2)")
    parser.add_argument("--keep", type=Path, help="save failing inputs here")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", type=Path, help="write a JSON line per file as it finishes")
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        help="only summarise earlier --json files (a run resumed with --first)",
    )
    args = parser.parse_args(argv)
    if args.report:
        records = [json.loads(line) for path in args.report for line in path.open()]
        summarise(records, None)
        return 1 if any(rec["problems"] for rec in records) else 0
    found = sources(args.directories)
    records = []
    start = time.monotonic()
    log = args.json.open("w") if args.json else None
    with (
        tempfile.TemporaryDirectory(prefix="mutated-") as scratch,
        ThreadPoolExecutor(max_workers=max(1, min(args.jobs, 2))) as pool,
    ):
        futures = [
            pool.submit(run_case, found, n, args.seed, Path(scratch), args.keep, args.python)
            for n in range(args.first, args.first + args.count)
        ]
        for done, future in enumerate(futures, 1):
            records.append(record := _as_json(future.result()))
            if log:
                log.write(json.dumps(record) + "\n")
                log.flush()
            for p in record["problems"]:
                print(f"  case {record['number']}: {p}", file=sys.stderr, flush=True)
            if done % 50 == 0:
                _progress(records, time.monotonic() - start)
    if log:
        log.close()
    summarise(records, time.monotonic() - start)
    return 1 if any(rec["problems"] for rec in records) else 0


def _progress(records: Sequence[dict[str, Any]], seconds: float) -> None:
    runs = [r for rec in records for r in rec["runs"]]
    print(
        f"  {len(records)} files, {len(runs)} runs, {sum(r['traceback'] for r in runs)} tracebacks, "
        f"{sum(r['exit_code'] is None for r in runs)} hangs, "
        f"max peak {max(r['peak_mb'] for r in runs):.0f} MB, "
        f"slowest {max(r['seconds'] for r in runs):.1f} s, {seconds:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def _as_json(outcome: Outcome) -> dict[str, Any]:
    case = outcome.case
    return {
        "number": case.number,
        "file": str(case.source.directory / case.target),
        "dialect": case.source.dialect,
        "mutations": case.mutations,
        "problems": outcome.problems,
        "runs": [asdict(r) for r in outcome.runs],
    }


def summarise(records: Sequence[dict[str, Any]], seconds: float | None) -> None:
    """Print the totals and the first few failures with a command that reproduces each."""
    runs = [(rec, Run(**r)) for rec in records for r in rec["runs"]]
    codes = Counter(str(r.exit_code) for _, r in runs)
    dialects = Counter(rec.get("dialect") or Path(rec["file"]).parent.name for rec in records)
    print(
        f"files        {len(records)}  ({', '.join(f'{k} {v}' for k, v in sorted(dialects.items()))})"
    )
    print(f"runs         {len(runs)}  exit codes {dict(sorted(codes.items()))}")
    print(f"tracebacks   {sum(r.traceback for _, r in runs)}")
    print(f"hangs >{TIMEOUT:.0f} s  {sum(r.exit_code is None for _, r in runs)}")
    print(f"max peak     {max((r.peak_mb for _, r in runs), default=0.0):.0f} MB")
    if runs:
        rec, r = max(runs, key=lambda p: p[1].seconds)
        print(f"slowest      {r.seconds:.1f} s  case {rec['number']} {rec['file']} "
              f"{'+'.join(rec['mutations'])} ({r.command[3]})")  # fmt: skip
    failed = [rec for rec in records if rec["problems"]]
    print(f"failures     {len(failed)} files")
    if seconds is not None:
        print(f"wall         {seconds:.0f} s")
    for rec in failed[:5]:
        print(f"- case {rec['number']}: {rec['file']} {'+'.join(rec['mutations'])}: "
              f"{'; '.join(rec['problems'])}")  # fmt: skip
        for r in (Run(**r) for r in rec["runs"]):
            if problem(r):
                print(f"    {reproduction(r)}")


if __name__ == "__main__":
    raise SystemExit(main())
