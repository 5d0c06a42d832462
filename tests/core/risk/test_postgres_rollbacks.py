"""28 realistic PostgreSQL rollbacks (issue 17), each run on the embedded PostgreSQL: the class
the rules give a down matches what the engine does with it.

For each case, rows the newer app wrote are inserted, then the down runs:
- it fails with the engine's error for that data: a might-fail rule fired (and, for a pure
  narrowing, no data-loss one: PostgreSQL refused the values, it kept them);
- it runs but a value written before is gone or changed: a data-loss rule fired;
- it runs and every value is still there: neither fired.
And with the lock timeout turned off, `lock-without-timeout` names exactly the existing tables
and views the down holds an ACCESS EXCLUSIVE lock on (read from pg_locks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

import pytest

from bot.core.render.session import Timeouts
from bot.core.risk import Category, Policy
from bot.core.split import split_statements
from bot.engines import EngineError, ScratchDatabase
from tests.core.risk.helpers import rollback

MakeDb = Callable[[str], ScratchDatabase]

T = (
    "CREATE TABLE t (id int PRIMARY KEY, name varchar(255), qty bigint, price numeric(14,2),"
    " note text, at timestamptz);"
)
P = "CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p VALUES (1);"
MOOD = "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE m (id int PRIMARY KEY, v mood);"
ALL_T = "SELECT * FROM t ORDER BY id"


def typed(column: str, type_: str) -> str:
    return f"CREATE TABLE t (id int PRIMARY KEY, {column} {type_});"


class Case(NamedTuple):
    name: str
    history: str
    migration: str  # the migration being rolled back
    rows: str  # what the newer app wrote before the rollback
    outcome: str  # what the engine does with the down: "keeps", "loses" or "fails"
    sqlstate: str | None = None  # the engine's error, when it fails
    probe: str = ALL_T  # values that must survive, read before and after the down
    probe_after: str | None = None  # the same values after the down, when renamed
    also_loses: bool = False  # fails on some rows and changes others (a cast from text)


CASES = [
    # things the down drops: the values go with them
    Case("drop-column", T, "ALTER TABLE t ADD COLUMN bio text;", "INSERT INTO t (id, bio) VALUES (1, 'x');", "loses"),
    Case("drop-table", T, "CREATE TABLE audit (id int);", "INSERT INTO audit VALUES (1);", "loses", probe="SELECT * FROM audit"),
    Case("drop-view", T, "CREATE VIEW named AS SELECT id, name FROM t;", "INSERT INTO t (id, name) VALUES (1, 'a');", "keeps"),
    Case("drop-added-default-column", T, "ALTER TABLE t ADD COLUMN flag boolean NOT NULL DEFAULT false;", "INSERT INTO t (id, flag) VALUES (1, true);", "loses"),
    Case("re-create-dropped-table", T + "CREATE TABLE audit (id int);", "DROP TABLE audit;", "INSERT INTO t (id) VALUES (1);", "keeps"),
    # renames: the rows follow
    Case("rename-column", T, "ALTER TABLE t RENAME COLUMN note TO remark;", "INSERT INTO t (id, remark) VALUES (1, 'r');", "keeps"),
    Case("rename-table", T, "ALTER TABLE t RENAME TO things;", "INSERT INTO things (id, name) VALUES (1, 'a');", "keeps", probe="SELECT * FROM things", probe_after=ALL_T),
    Case("rename-enum-value", MOOD, "ALTER TYPE mood RENAME VALUE 'a' TO 'z';", "INSERT INTO m VALUES (1, 'z');", "keeps", probe="SELECT id, array_position(enum_range(NULL::mood), v) FROM m"),
    # guarantees the down removes: nothing is lost
    Case("drop-check", T, "ALTER TABLE t ADD CONSTRAINT qty_positive CHECK (qty > 0);", "INSERT INTO t (id, qty) VALUES (1, 5);", "keeps"),
    Case("drop-foreign-key", T + P, "ALTER TABLE t ADD CONSTRAINT t_qty_fk FOREIGN KEY (qty) REFERENCES p (id);", "INSERT INTO t (id, qty) VALUES (1, 1);", "keeps"),
    Case("drop-unique", T, "ALTER TABLE t ADD CONSTRAINT t_name_key UNIQUE (name);", "INSERT INTO t (id, name) VALUES (1, 'a');", "keeps"),
    Case("drop-not-null", T, "ALTER TABLE t ALTER COLUMN name SET NOT NULL;", "INSERT INTO t (id, name) VALUES (1, 'a');", "keeps"),
    Case("drop-index", T, "CREATE INDEX t_name_idx ON t (name);", "INSERT INTO t (id, name) VALUES (1, 'a');", "keeps"),
    Case("drop-default", T, "ALTER TABLE t ALTER COLUMN qty SET DEFAULT 0;", "INSERT INTO t (id) VALUES (1);", "keeps"),
    # guarantees the down adds back: rows written meanwhile make it fail
    Case("set-not-null", typed("name", "text NOT NULL"), "ALTER TABLE t ALTER COLUMN name DROP NOT NULL;", "INSERT INTO t VALUES (1, NULL);", "fails", "23502"),
    Case("add-unique-index", typed("name", "text") + "CREATE UNIQUE INDEX t_name_key ON t (name);", "DROP INDEX t_name_key;", "INSERT INTO t VALUES (1, 'a'), (2, 'a');", "fails", "23505"),
    Case("add-check", typed("qty", "int CONSTRAINT qty_positive CHECK (qty > 0)"), "ALTER TABLE t DROP CONSTRAINT qty_positive;", "INSERT INTO t VALUES (1, -1);", "fails", "23514"),
    Case("add-foreign-key", P + typed("pid", "int CONSTRAINT t_pid_fk REFERENCES p (id)"), "ALTER TABLE t DROP CONSTRAINT t_pid_fk;", "INSERT INTO t VALUES (1, 42);", "fails", "23503"),
    Case("add-primary-key", "CREATE TABLE e (id int NOT NULL, CONSTRAINT e_pkey PRIMARY KEY (id));", "ALTER TABLE e DROP CONSTRAINT e_pkey;", "INSERT INTO e VALUES (1), (1);", "fails", "23505", probe="SELECT * FROM e"),
    Case("add-not-null-column", typed("legacy", "int NOT NULL"), "ALTER TABLE t DROP COLUMN legacy;", "INSERT INTO t VALUES (1);", "fails", "23502"),
    # narrowing: PostgreSQL refuses what doesn't fit, it never cuts
    Case("varchar-255-to-50", typed("name", "varchar(50)"), "ALTER TABLE t ALTER COLUMN name TYPE varchar(255);", f"INSERT INTO t VALUES (1, '{'x' * 100}');", "fails", "22001"),
    Case("bigint-to-int", typed("qty", "int"), "ALTER TABLE t ALTER COLUMN qty TYPE bigint;", "INSERT INTO t VALUES (1, 3000000000);", "fails", "22003"),
    Case("numeric-14-2-to-10-2", typed("price", "numeric(10,2)"), "ALTER TABLE t ALTER COLUMN price TYPE numeric(14,2);", "INSERT INTO t VALUES (1, 123456789012.34);", "fails", "22003"),
    Case("text-to-varchar-20", typed("note", "varchar(20)"), "ALTER TABLE t ALTER COLUMN note TYPE text;", f"INSERT INTO t VALUES (1, '{'y' * 30}');", "fails", "22001"),
    Case("enum-value-removed", MOOD, "ALTER TYPE mood ADD VALUE 'c';", "INSERT INTO m VALUES (1, 'c');", "fails", "22P02", probe="SELECT * FROM m"),
    Case("text-to-int-bad-text", typed("qty", "int"), "ALTER TABLE t ALTER COLUMN qty TYPE text;", "INSERT INTO t VALUES (1, 'abc');", "fails", "22P02", also_loses=True),
    # conversions that change values without an error
    Case("numeric-scale-rounded", typed("price", "numeric(10,2)"), "ALTER TABLE t ALTER COLUMN price TYPE numeric(12,4);", "INSERT INTO t VALUES (1, 1.2345);", "loses"),
    Case("timestamptz-to-timestamp", typed("at", "timestamp"), "ALTER TABLE t ALTER COLUMN at TYPE timestamptz;", "SET TimeZone = 'UTC'; INSERT INTO t VALUES (1, '2024-01-01 12:00:00+02');", "loses"),
]  # fmt: skip


def _run(db: ScratchDatabase, script: str) -> None:
    db.execute([s.text for s in split_statements(script, "postgres")])


def _values(db: ScratchDatabase, sql: str) -> list[Counter[str]] | None:
    """Each row's values as text, or None when the probe no longer runs (its table is gone)."""
    try:
        return [Counter(str(v) for v in row) for row in db.query(sql)]
    except EngineError:
        return None


def _outcome(db: ScratchDatabase, case: Case, down: list[str]) -> tuple[str, str | None]:
    before = _values(db, case.probe)
    assert before, f"{case.name}: the probe reads nothing before the down"
    try:
        db.execute(down)
    except EngineError as err:
        return "fails", err.code
    after = _values(db, case.probe_after or case.probe)
    kept = after is not None and all(not (b - a) for b, a in zip(before, after, strict=True))
    return ("keeps" if kept else "loses"), None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_rules_class_is_what_postgres_does(case: Case, engine_db: MakeDb) -> None:
    down, assessment = rollback("postgres", case.history, case.migration)
    categories = {f.category for f in assessment.findings()}
    db = engine_db("postgres")
    _run(db, case.history + case.migration + case.rows)

    outcome, sqlstate = _outcome(db, case, [s.sql for s in down.statements])

    assert (outcome, sqlstate) == (case.outcome, case.sqlstate)
    if outcome == "fails":
        assert Category.MIGHT_FAIL in categories
        assert (Category.DATA_LOSS in categories) is case.also_loses
    elif outcome == "loses":
        assert Category.DATA_LOSS in categories
    else:
        assert not categories & {Category.DATA_LOSS, Category.MIGHT_FAIL}


def test_the_cases_are_the_issues_28() -> None:
    assert len(CASES) == 28 and len({c.name for c in CASES}) == 28


NO_LOCK_TIMEOUT = Policy(timeouts=Timeouts(lock_ms=0))
_RELATIONS = (
    "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')"
)
# by oid: a relation the down drops or renames has no pg_class row of that name any more
_EXCLUSIVE = (
    "SELECT DISTINCT relation FROM pg_locks"
    " WHERE pid = pg_backend_pid() AND mode = 'AccessExclusiveLock' AND relation IS NOT NULL"
)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_lock_without_timeout_names_what_postgres_locks_exclusively(
    case: Case, engine_db: MakeDb
) -> None:
    down, assessment = rollback("postgres", case.history, case.migration, NO_LOCK_TIMEOUT)
    flagged = {f.object for f in assessment.findings() if f.rule == "lock-without-timeout"}
    db = engine_db("postgres")
    _run(db, case.history + case.migration)
    existing = dict(db.query(_RELATIONS))  # oid -> name, before the down

    db.query("BEGIN")
    db.execute([s.sql for s in down.statements])
    locked = {existing[oid] for (oid,) in db.query(_EXCLUSIVE) if oid in existing}
    db.query("ROLLBACK")

    assert flagged == locked
    # with the default policy the down sets a lock timeout, and the rule is quiet
    _, timed = rollback("postgres", case.history, case.migration)
    assert "lock-without-timeout" not in {f.rule for f in timed.findings()}
