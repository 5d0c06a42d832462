"""The rules' claims about engines, checked on the real ones: what a rule calls "might fail"
fails with the offending rows, and where a rule stays quiet the engine really copes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.replay import Migration, replay
from bot.core.risk.analyse import assess
from bot.core.split import split_statements
from bot.engines import EngineError, ScratchDatabase
from tests.core.risk.helpers import rollback

MakeDb = Callable[[str], ScratchDatabase]
DIALECTS = ("postgres", "mysql", "sqlite")


def applied(engine_db: MakeDb, dialect: str, *scripts: str) -> ScratchDatabase:
    db = engine_db(dialect)
    for script in scripts:
        db.execute([s.text for s in split_statements(script, Dialect.parse(dialect).value)])
    return db


def run_down(
    engine_db: MakeDb, dialect: str, history: str, migration: str, rows: str
) -> tuple[set[str], Exception | None]:
    """Rules fired on the rollback of `migration`, and the error running its down with `rows`."""
    down, assessment = rollback(dialect, history, migration)
    db = applied(engine_db, dialect, history, migration, rows)
    try:
        db.execute([s.sql for s in down.statements])
    except EngineError as err:
        return {f.rule for f in assessment.findings()}, err
    return {f.rule for f in assessment.findings()}, None


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_set_not_null_fails_on_a_null_row(dialect: str, engine_db: MakeDb) -> None:
    history = "CREATE TABLE users (id int PRIMARY KEY, email varchar(50) NOT NULL);"
    migration = {
        "postgres": "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
        "mysql": "ALTER TABLE users MODIFY email varchar(50) NULL;",
    }[dialect]
    rules, error = run_down(
        engine_db, dialect, history, migration, "INSERT INTO users VALUES (1, NULL);"
    )
    assert "set-not-null" in rules
    assert error is not None


def test_sqlite_set_not_null_rebuild_fails_on_a_null_row(engine_db: MakeDb) -> None:
    newer = "CREATE TABLE users (id int PRIMARY KEY, email varchar(50));"
    older = "CREATE TABLE users (id int PRIMARY KEY, email varchar(50) NOT NULL);"
    down = down_between([Migration("a.sql", newer)], [Migration("b.sql", older)], Dialect.SQLITE)
    rules = {
        f.rule
        for f in assess(
            down.changes, replay([Migration("a.sql", newer)], Dialect.SQLITE).schema
        ).findings()
    }
    assert {"set-not-null", "sqlite-table-rebuild"} <= rules
    db = applied(engine_db, "sqlite", newer, "INSERT INTO users VALUES (1, NULL);")
    with pytest.raises(EngineError):
        db.execute([s.sql for s in down.statements])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unique_index_fails_on_duplicates(dialect: str, engine_db: MakeDb) -> None:
    history = "CREATE TABLE users (id int PRIMARY KEY, email varchar(50)); CREATE UNIQUE INDEX users_email ON users (email);"
    migration = (
        "DROP INDEX users_email ON users;" if dialect == "mysql" else "DROP INDEX users_email;"
    )
    rows = "INSERT INTO users VALUES (1, 'a@x'), (2, 'a@x');"
    rules, error = run_down(engine_db, dialect, history, migration, rows)
    assert "add-unique" in rules
    assert error is not None


@pytest.mark.parametrize(
    ("dialect", "fails"), [("postgres", True), ("sqlite", True), ("mysql", False)]
)
def test_not_null_column_without_default_fails_except_on_mysql(
    dialect: str, fails: bool, engine_db: MakeDb
) -> None:
    history = "CREATE TABLE users (id int PRIMARY KEY, email text, legacy int NOT NULL);"
    rows = "INSERT INTO users (id, email) VALUES (1, 'a@x');"
    rules, error = run_down(
        engine_db, dialect, history, "ALTER TABLE users DROP COLUMN legacy;", rows
    )
    assert ("add-not-null-column" in rules) is fails
    assert (error is not None) is fails


def _relfilenode(db: ScratchDatabase) -> object:
    return db.query("SELECT relfilenode FROM pg_class WHERE relname = 't'")[0][0]


@pytest.mark.parametrize(
    ("history", "migration", "rewrites"),
    [
        # the down widens varchar: PostgreSQL only changes the catalog
        (
            "CREATE TABLE t (v varchar(255));",
            "ALTER TABLE t ALTER COLUMN v TYPE varchar(50);",
            False,
        ),
        # the down goes int -> bigint: every row is rewritten
        ("CREATE TABLE t (v bigint);", "ALTER TABLE t ALTER COLUMN v TYPE int;", True),
    ],
)
def test_postgres_rewrite_rule_matches_whether_the_table_is_rewritten(
    history: str, migration: str, rewrites: bool, engine_db: MakeDb
) -> None:
    down, assessment = rollback("postgres", history, migration)
    db = applied(engine_db, "postgres", history, migration, "INSERT INTO t VALUES (1);")
    before = _relfilenode(db)
    db.execute([s.sql for s in down.statements])

    assert (_relfilenode(db) != before) is rewrites
    assert ("pg-table-rewrite" in {f.rule for f in assessment.findings()}) is rewrites


def test_postgres_scale_narrowing_rounds_values_away(engine_db: MakeDb) -> None:
    history = "CREATE TABLE t (v numeric(10,2));"
    migration = "ALTER TABLE t ALTER COLUMN v TYPE numeric(12,4);"
    rules, error = run_down(
        engine_db, "postgres", history, migration, "INSERT INTO t VALUES (1.2345);"
    )
    assert "lossy-type-change" in rules and error is None
    db = applied(engine_db, "postgres", history, migration, "INSERT INTO t VALUES (1.2345);")
    db.execute([s.sql for s in rollback("postgres", history, migration)[0].statements])
    assert [str(v) for (v,) in db.query("SELECT v FROM t")] == ["1.23"]  # 0.0045 is gone


def test_sqlite_keeps_long_values_in_a_narrowed_column() -> None:
    # why lossy-type-change is quiet on SQLite for lengths: nothing is cut
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.executescript(
        "CREATE TABLE t (v varchar(255)); INSERT INTO t VALUES ('" + "x" * 100 + "');"
    )
    con.executescript(
        "CREATE TABLE n (v varchar(10)); INSERT INTO n SELECT v FROM t; DROP TABLE t;"
        " ALTER TABLE n RENAME TO t;"
    )
    assert con.execute("SELECT length(v) FROM t").fetchone() == (100,)
