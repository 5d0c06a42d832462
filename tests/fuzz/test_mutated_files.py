"""Mutated migration files through the real CLI (bench/mutated_files.py on our own SQL).

The seed corpus is the golden fixtures' history and migration sections; every mutation kind is
used, with fixed seeds. A user gets output or a one-line error: never a traceback, a hang or
a process that eats the machine's memory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench import mutated_files
from bench.mutated_files import (
    EXIT_CODES,
    MUTATIONS,
    PEAK_LIMIT_MB,
    TIMEOUT,
    Case,
    Run,
    Source,
    commands,
    make_case,
    run_cli,
    write_case,
)
from bot.cli import EXIT_BAD_INPUT
from tests.golden.test_golden import CASES

FILES = 40
SEED = 10


@pytest.fixture(scope="module")
def seed_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Source]:
    """Every fifth golden fixture as a two-file golang-migrate history: its history, its migration."""
    root = tmp_path_factory.mktemp("golden")
    found = []
    for golden in CASES[::5]:
        directory = root / golden.dialect.value / golden.path.stem
        directory.mkdir(parents=True)
        files = [("1_history.up.sql", golden.history), ("2_migration.up.sql", golden.migration)]
        files = [(name, sql) for name, sql in files if sql.strip()]
        for name, sql in files:
            (directory / name).write_text(sql + "\n")
        found.append(Source(directory, golden.dialect.value, tuple(name for name, _ in files)))
    return found


def _run(case: Case, where: Path) -> list[Run]:
    full, prefix = write_case(case, where / f"case-{case.number}")
    schema, diff = commands(full, prefix, case.source.dialect)
    # diff on PostgreSQL and MySQL starts a scratch server for what the model can't read
    # (10-40 s each here): the bench runs those; SQLite's is in-process
    return [
        run_cli(args) for args in ([schema, diff] if case.source.dialect == "sqlite" else [schema])
    ]


def test_mutated_golden_files_get_output_or_a_one_line_error(
    seed_corpus: list[Source], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # big enough for the paths large files take (over replay's 1 MB), small enough to be quick
    monkeypatch.setattr(mutated_files, "HUGE_LINE_BYTES", (1_100_000,))
    monkeypatch.setattr(mutated_files, "REPEATS", (1000, 1500))
    kinds = list(MUTATIONS)
    cases = [make_case(seed_corpus, n, SEED, first=kinds[n % len(kinds)]) for n in range(FILES)]
    assert {c.source.dialect for c in cases} == {"postgres", "mysql", "sqlite"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(zip(cases, pool.map(lambda c: _run(c, tmp_path), cases), strict=True))
    for case, runs in outcomes:
        what = f"case {case.number} ({case.source.directory.name}, {'+'.join(case.mutations)})"
        for run in runs:
            assert not run.traceback, f"{what}: {run.command[3]}: {run.stderr_tail}"
            assert run.exit_code is not None, f"{what}: {run.command[3]} ran over {TIMEOUT} s"
            assert run.exit_code in EXIT_CODES, f"{what}: exit {run.exit_code}"
            assert run.peak_mb < PEAK_LIMIT_MB, f"{what}: peak {run.peak_mb} MB"
            if run.exit_code == EXIT_BAD_INPUT:
                error = run.stderr_tail.splitlines()[-1]
                assert error.startswith("rollback-plan: error: "), f"{what}: {run.stderr_tail}"
                assert str(tmp_path) in error, f"{what}: the error names no file: {error}"
    # the mutations reach the parser, not only the file checks: most runs give output
    codes = [run.exit_code for _, runs in outcomes for run in runs]
    assert codes.count(0) > len(codes) / 2
