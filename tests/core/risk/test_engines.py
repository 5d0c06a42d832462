"""The rules' claims about engines, checked on the real ones: what a rule calls "might fail"
fails with the offending rows, and where a rule stays quiet the engine really copes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.render import to_script
from bot.core.render.session import Timeouts, preamble
from bot.core.replay import Migration, replay
from bot.core.risk import Category
from bot.core.risk.analyse import assess
from bot.core.split import split_statements
from bot.engines import EngineError, ScratchDatabase
from tests.core.risk.helpers import rollback

MakeDb = Callable[[str], ScratchDatabase]
DIALECTS = ("postgres", "mysql", "sqlite")

# What each engine says when the data refuses the down: its code (SQLSTATE, MariaDB error
# number, SQLite error name) and words of its message. Any other failure, a syntax error
# from a broken renderer first of all, is not the failure these rules predict.
SET_NOT_NULL_ERROR = {
    "postgres": ("23502", 'column "email" of relation "users" contains null values'),
    "mysql": ("1265", "Data truncated for column 'email'"),
}
DUPLICATE_ERROR = {
    "postgres": ("23505", 'could not create unique index "users_email"'),
    "mysql": ("1062", "Duplicate entry 'a@x' for key 'users_email'"),
    "sqlite": ("SQLITE_CONSTRAINT_UNIQUE", "UNIQUE constraint failed: users.email"),
}
NOT_NULL_COLUMN_ERROR = {
    "postgres": ("23502", 'column "legacy" of relation "users" contains null values'),
    "sqlite": ("SQLITE_CONSTRAINT_NOTNULL", "NOT NULL constraint failed"),
}


def applied(engine_db: MakeDb, dialect: str, *scripts: str) -> ScratchDatabase:
    db = engine_db(dialect)
    for script in scripts:
        db.execute([s.text for s in split_statements(script, Dialect.parse(dialect).value)])
    return db


def run_down(
    engine_db: MakeDb, dialect: str, history: str, migration: str, rows: str
) -> tuple[set[str], EngineError | None]:
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
    # the engine's own refusal of the NULL row, not any failure (a syntax error is 42601/1064)
    assert error is not None
    code, said = SET_NOT_NULL_ERROR[dialect]
    assert error.code == code and said in error.message, (error.code, error.message)


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
    with pytest.raises(EngineError) as failed:
        db.execute([s.sql for s in down.statements])
    assert failed.value.code == "SQLITE_CONSTRAINT_NOTNULL", failed.value.message
    assert "NOT NULL constraint failed: _rp_new_users.email" in failed.value.message


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
    code, said = DUPLICATE_ERROR[dialect]
    assert error.code == code and said in error.message, (error.code, error.message)


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
    if fails:
        assert error is not None
        code, said = NOT_NULL_COLUMN_ERROR[dialect]
        assert error.code == code and said in error.message, (error.code, error.message)
    else:
        assert error is None


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


# -- lock timeouts: with a real blocking transaction -------------------------------------------

ADD_BIO = "ALTER TABLE users ADD COLUMN bio text;"
USERS = "CREATE TABLE users (id int PRIMARY KEY, email varchar(50));"


def _postgres_session(db: ScratchDatabase) -> Any:
    """A second connection to the same scratch database (its socket, port, user and name are
    read from the first one)."""
    import psycopg

    ((sockets,),) = db.query("SHOW unix_socket_directories")
    ((port,),) = db.query("SHOW port")
    ((user, name),) = db.query("SELECT current_user, current_database()")
    return psycopg.connect(host=sockets.split(",")[0].strip(), port=port, user=user, dbname=name)


def test_postgres_down_gives_up_behind_a_long_transaction_instead_of_queueing(
    engine_db: MakeDb,
) -> None:
    down, _ = rollback("postgres", USERS, ADD_BIO)
    shipped = preamble(Dialect.POSTGRES, Timeouts(lock_ms=200, statement_ms=0))
    script = to_script([*shipped, *down.statements])
    db = applied(engine_db, "postgres", USERS, ADD_BIO, "INSERT INTO users VALUES (1, 'a', 'b');")
    before = db.catalog()
    # a net, should the down not limit its own wait: a statement timeout (57014), not a hang
    db.query("SET statement_timeout = '10s'")
    holder = _postgres_session(db)
    try:
        holder.execute("SELECT * FROM users")  # an open transaction: its lock stays held
        with pytest.raises(EngineError) as failed:
            db.query(script)  # one multi-statement query, as golang-migrate sends a file
        # lock_not_available: "canceling statement due to lock timeout", while the
        # transaction ahead of it is still open: it did not wait its turn
        assert failed.value.code == "55P03", failed.value.message
        assert "lock timeout" in failed.value.message
        assert db.catalog() == before  # rolled back whole: safe to run again
        holder.rollback()
    finally:
        holder.close()
    db.query(script)  # the retry the plan advises
    assert [c for (c,) in db.query(_COLUMNS.format(table="users"))] == ["id", "email"]


def test_mariadb_down_gives_up_behind_a_long_transaction_instead_of_queueing(
    engine_db: MakeDb,
) -> None:
    down, _ = rollback("mysql", USERS, ADD_BIO)
    shipped = preamble(Dialect.MYSQL, Timeouts(lock_ms=1_000, statement_ms=0))
    db = applied(engine_db, "mysql", USERS, ADD_BIO, "INSERT INTO users VALUES (1, 'a', 'b');")
    ((name,),) = db.query("SELECT DATABASE()")
    # a net, should the down not limit its own wait: a wait of 5 s, not a hang (checked below)
    db.execute(["SET SESSION lock_wait_timeout = 5"])
    holder = engine_db("mysql")
    holder.execute([f"USE `{name}`", "START TRANSACTION", "SELECT * FROM users"])
    try:
        with pytest.raises(EngineError) as failed:
            db.execute([s.sql for s in [*shipped, *down.statements]])
        # ER_LOCK_WAIT_TIMEOUT on the metadata lock the open transaction holds
        assert failed.value.code == "1205", failed.value.message
        # the down's own limits were the ones in force
        assert db.query("SELECT @@lock_wait_timeout, @@innodb_lock_wait_timeout") == [(1, 1)]
        assert [c for (c,) in db.query(_COLUMNS_MY.format(table="users"))] == [
            "id",
            "email",
            "bio",
        ]
    finally:
        holder.execute(["ROLLBACK"])  # else dropping the scratch database waits for it
    db.execute([s.sql for s in [*shipped, *down.statements]])  # the retry the plan advises
    assert [c for (c,) in db.query(_COLUMNS_MY.format(table="users"))] == ["id", "email"]


_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
    " ORDER BY ordinal_position"
)
_COLUMNS_MY = (
    "SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
    " AND table_schema = DATABASE() ORDER BY ordinal_position"
)


# -- MySQL/MariaDB narrowing: data loss outside strict mode, a failure inside it ---------------


@pytest.mark.parametrize(("mode", "lost"), [("", True), ("STRICT_TRANS_TABLES", False)])
def test_mysql_narrowing_cuts_outside_strict_mode_and_fails_inside_it(
    mode: str, lost: bool, engine_db: MakeDb
) -> None:
    history = "CREATE TABLE t (id int PRIMARY KEY, v varchar(10));"
    migration = "ALTER TABLE t MODIFY v varchar(100);"
    down, assessment = rollback("mysql", history, migration)
    (finding,) = [f for f in assessment.findings() if f.rule == "lossy-type-change"]
    assert finding.category is Category.DATA_LOSS
    assert "sql_mode isn't known" in finding.message
    db = applied(engine_db, "mysql", history, migration, f"INSERT INTO t VALUES (1, '{'x' * 40}');")
    db.execute([f"SET SESSION sql_mode = '{mode}'"])
    if lost:
        db.execute([s.sql for s in down.statements])
        assert db.query("SELECT v FROM t") == [("x" * 10,)]  # cut, silently
    else:
        with pytest.raises(EngineError) as failed:
            db.execute([s.sql for s in down.statements])
        assert failed.value.code == "1406", failed.value.message  # Data too long for column
        assert db.query("SELECT v FROM t") == [("x" * 40,)]
