"""Golden down-migrations, proven on real engines.

Each file in fixtures/<dialect>/ is one case: a history, a migration, optional rows that must
survive the round trip, and the down we expect to compute. On the real engine:
history + migration + our down must give the catalog of history alone, the rows inserted after
the history must come back identical, and `schema` output must load into the catalog that
replaying history + migration produced.

The tests never write fixtures. After an intended change in output, regenerate the expected
downs with `make golden` (tests/golden/regen.py) and review the diff.

Files named *.sql.pending are parked cases for known gaps. They run as strict xfail: the day the
engine handles one, its test passes, the run goes red, and the file is renamed to *.sql.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.diff import create_all
from bot.core.down import down_between
from bot.core.model import Dialect, Schema
from bot.core.render import render, to_script
from bot.core.replay import Migration, replay
from bot.core.split import split_statements
from bot.engines import ScratchDatabase

FIXTURES = Path(__file__).parent / "fixtures"
SECTIONS = ("history", "migration", "data", "expect")
_SECTION = re.compile(r"^-- (history|migration|data|expect)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    path: Path
    dialect: Dialect
    description: str
    history: str
    migration: str
    data: str
    expect: str | None

    @property
    def id(self) -> str:
        return f"{self.dialect.value}/{self.path.name.split('.')[0]}"


def load(path: Path) -> Case:
    text = path.read_text()
    parts = _SECTION.split(text)
    head, rest = parts[0], parts[1:]
    sections = {name: body.strip("\n") for name, body in zip(rest[::2], rest[1::2], strict=True)}
    unknown = set(sections) - set(SECTIONS)
    assert not unknown, f"{path}: unknown sections {unknown}"
    assert "migration" in sections, f"{path}: needs a '-- migration' section"
    description = " ".join(line.lstrip("- ").strip() for line in head.splitlines()).strip()
    return Case(
        path,
        Dialect(path.parent.name),
        description,
        sections.get("history", ""),
        sections["migration"],
        sections.get("data", ""),
        sections.get("expect"),
    )


def all_cases() -> list[Case]:
    return [load(p) for p in sorted(FIXTURES.glob("*/*.sql"))]


def pending_cases() -> list[Case]:
    return [load(p) for p in sorted(FIXTURES.glob("*/*.sql.pending"))]


CASES = all_cases()
PENDING = pending_cases()


def statements(sql: str, dialect: Dialect) -> list[str]:
    return [s.text for s in split_statements(sql, dialect.value)]


def computed_down(case: Case) -> tuple[str, bool]:
    older = [Migration("history.sql", case.history)] if case.history else []
    newer = [*older, Migration("migration.sql", case.migration)]
    down = down_between(newer, older, case.dialect)
    return to_script(list(down.statements)), down.complete


def test_at_least_150_cases_across_three_dialects() -> None:
    by_dialect = {d: sum(c.dialect is d for c in CASES) for d in Dialect}
    assert sum(by_dialect.values()) >= 150, by_dialect
    assert all(n >= 30 for n in by_dialect.values()), by_dialect


def test_parked_cases_are_few_and_named_for_their_gap() -> None:
    assert len(PENDING) <= 40, "parked cases are known gaps to fix, not a second suite"
    assert all(c.description for c in PENDING), "a parked case says what gap it shows"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_down_is_golden(case: Case) -> None:
    """The computed down is pinned: a change in it is a deliberate, reviewed change."""
    script, complete = computed_down(case)
    assert complete, f"{case.id}: the engine could not model part of this case"
    assert case.expect is not None, f"{case.id}: no '-- expect' section; run `make golden`"
    assert script.strip() == case.expect.strip()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_down_restores_catalog_on_engine(
    case: Case, engine_db: Callable[[str], ScratchDatabase]
) -> None:
    assert_down_restores(case, engine_db)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_schema_output_reproduces_catalog(
    case: Case, engine_db: Callable[[str], ScratchDatabase]
) -> None:
    assert_schema_reproduces(case, engine_db)


@pytest.mark.xfail(strict=True, reason="parked: a known gap (*.sql.pending)")
@pytest.mark.parametrize("case", PENDING, ids=lambda c: c.id)
def test_parked_case_still_shows_its_gap(
    case: Case, engine_db: Callable[[str], ScratchDatabase]
) -> None:
    """Passing every check means the gap is closed: rename the file to *.sql."""
    _, complete = computed_down(case)
    assert complete, f"{case.id}: the engine could not model part of this case"
    assert_down_restores(case, engine_db)
    assert_schema_reproduces(case, engine_db)


def assert_down_restores(case: Case, engine_db: Callable[[str], ScratchDatabase]) -> None:
    script, _ = computed_down(case)
    before = engine_db(case.dialect.value)
    before.execute(statements(case.history, case.dialect))
    expected = before.catalog()

    db = engine_db(case.dialect.value)
    db.execute(statements(case.history, case.dialect))
    rows_before = {}
    if case.data:
        db.execute(statements(case.data, case.dialect))
        rows_before = {t: db.rows(t) for t in expected.names("tables")}
    db.execute(statements(case.migration, case.dialect))
    db.execute(statements(script, case.dialect))
    # PostgreSQL cannot put a re-added column back at its old position; the others can.
    differences = db.catalog().diff(expected, column_order=case.dialect is not Dialect.POSTGRES)
    assert differences == [], f"{case.id}: down did not restore the schema:\n" + "\n".join(
        differences
    )
    for table, rows in rows_before.items():
        assert db.rows(table) == rows, f"{case.id}: rows of {table} changed across up + down"


def assert_schema_reproduces(case: Case, engine_db: Callable[[str], ScratchDatabase]) -> None:
    replayed = engine_db(case.dialect.value)
    replayed.execute(statements(case.history, case.dialect))
    replayed.execute(statements(case.migration, case.dialect))

    history = replay(
        [Migration("history.sql", case.history), Migration("migration.sql", case.migration)],
        case.dialect,
    )
    script = to_script(render(create_all(history.schema), Schema(case.dialect)))
    loaded = engine_db(case.dialect.value)
    loaded.execute(statements(script, case.dialect))
    differences = loaded.catalog().diff(replayed.catalog())
    assert differences == [], f"{case.id}: schema output differs:\n" + "\n".join(differences)
