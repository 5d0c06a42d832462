"""A bounded differential fuzz run per dialect, on fixed seeds, against the real engines.

The long run is bench/fuzz.py; this one keeps the classes already fixed from coming back. A
class found and not yet fixed is marked as a strict xfail naming its seeds, so that the day it
is fixed the test goes red and the marker is removed.
"""

from __future__ import annotations

import logging

import pytest

from bench.fuzz import Sequence, _flagged, fuzz
from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.replay import Migration
from tests.conftest import SERVER_FIXTURES

# Sequences per dialect: each stays well under a minute on a loaded 2-core machine.
RUNS = {"sqlite": (1, 60), "postgres": (1, 10), "mysql": (1, 10)}
_results: dict[str, list[Sequence]] = {}


def _run(request: pytest.FixtureRequest, dialect: str) -> list[Sequence]:
    if dialect not in _results:
        logging.getLogger("sqlglot").setLevel(logging.ERROR)
        server = request.getfixturevalue(SERVER_FIXTURES[dialect])
        seed, count = RUNS[dialect]
        _results[dialect] = list(fuzz(server, seed, count))
    return _results[dialect]


def _seeds(sequences: list[Sequence], check: str, *, silent: bool = False) -> list[int]:
    return [
        s.seed
        for s in sequences
        if any(f.check == check and (f.silent or not silent) for f in s.failures)
    ]


@pytest.mark.parametrize("dialect", sorted(RUNS))
def test_generated_sequences_are_real(request: pytest.FixtureRequest, dialect: str) -> None:
    """The generator keeps enough engine-accepted statements for the checks to mean something."""
    sequences = _run(request, dialect)
    assert sum(len(s.migrations) for s in sequences) >= 10 * len(sequences)


@pytest.mark.parametrize("dialect", sorted(RUNS))
def test_no_crash(request: pytest.FixtureRequest, dialect: str) -> None:
    """Replaying, diffing and rendering engine-accepted SQL never raises."""
    sequences = _run(request, dialect)
    crashes = [(s.seed, f.detail) for s in sequences for f in s.failures if f.check == "x"]
    assert crashes == []


@pytest.mark.parametrize(
    "dialect",
    [
        "mysql",
        "postgres",
        "sqlite",
    ],
)
def test_no_silent_row_loss(request: pytest.FixtureRequest, dialect: str) -> None:
    """A down the plan calls complete keeps every row and value of what exists at both ends."""
    assert _seeds(_run(request, dialect), "c", silent=True) == []


@pytest.mark.parametrize(
    "dialect",
    [
        "mysql",
        "postgres",
        "sqlite",
    ],
)
def test_no_silently_wrong_down(request: pytest.FixtureRequest, dialect: str) -> None:
    """A down the plan calls complete runs on the engine and gives the older catalog."""
    assert _seeds(_run(request, dialect), "b", silent=True) == []


@pytest.mark.parametrize(
    "dialect",
    [
        "mysql",
        "postgres",
        "sqlite",
    ],
)
def test_schema_output_reproduces_the_catalog(request: pytest.FixtureRequest, dialect: str) -> None:
    """``schema`` output loaded into an empty database gives the sequence's catalog."""
    assert _seeds(_run(request, dialect), "a") == []


def test_a_down_failing_where_the_plan_says_it_may_fail_is_not_silent() -> None:
    """Text back to integer is marked might-fail on its statement; dropping the view is not."""
    migrations = [
        Migration("1.sql", "CREATE TABLE t (id integer PRIMARY KEY, a integer)"),
        Migration("2.sql", "ALTER TABLE t ALTER COLUMN a TYPE text; CREATE VIEW v AS SELECT 1"),
    ]
    seq = Sequence(1, migrations, 1)
    down = down_between(migrations, migrations[:1], Dialect.POSTGRES)
    cast, drop = (
        next(s.sql for s in down.statements if word in s.sql) for word in ("TYPE", "VIEW")
    )
    assert _flagged(seq, down, Dialect.POSTGRES, cast)
    assert not _flagged(seq, down, Dialect.POSTGRES, drop)
