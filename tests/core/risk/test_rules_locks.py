"""lock-without-timeout, word for word: with the policy's lock timeout off, each step names
the existing tables it waits on an exclusive lock for; nothing when the timeout is set, on
SQLite, or for tables the down itself created."""

from __future__ import annotations

import pytest

from bot.core.changes import AlterEnum, CreateTable, DropColumn
from bot.core.model import Column, Dialect, EnumType, QName, Schema, Table
from bot.core.render.session import Timeouts
from bot.core.risk import Policy
from bot.core.risk.analyse import assess, statement_findings
from tests.core.risk.helpers import rollback, said

NO_LOCK_TIMEOUT = Policy(timeouts=Timeouts(lock_ms=0))
RULE = "lock-without-timeout"
T = "CREATE TABLE t (id int PRIMARY KEY, v int, w int);"
ORDERS = "CREATE TABLE users (id int PRIMARY KEY); CREATE TABLE orders (id int, user_id int);"
ADD_FK = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);"


def waits(lock: str, table: str) -> tuple[str, str, str]:
    return (
        "warning",
        table,
        f"this step waits for {lock} on {table} with no lock timeout: behind one long query, "
        f"every later query on {table} queues behind it (set policy timeouts.lock)",
    )


PG = "an ACCESS EXCLUSIVE lock"
MY = "a metadata lock"


@pytest.mark.parametrize(
    ("dialect", "history", "migration", "tables"),
    [
        # dropping a foreign key: PostgreSQL also drops the trigger on the referenced table
        ("postgres", ORDERS, ADD_FK, ["orders", "users"]),
        # MySQL drops the foreign key, then the index it made for it
        ("mysql", ORDERS, ADD_FK, ["orders", "orders"]),
        # adding one back: SHARE ROW EXCLUSIVE on PostgreSQL, which lets reads through
        ("postgres", ORDERS + ADD_FK, "ALTER TABLE orders DROP CONSTRAINT fk;", []),
        ("mysql", ORDERS + ADD_FK, "ALTER TABLE orders DROP FOREIGN KEY fk;", ["orders"]),
        ("postgres", T, "ALTER TABLE t ADD CONSTRAINT c UNIQUE (v);", ["t"]),
        (
            "postgres",
            T + "ALTER TABLE t ADD CONSTRAINT c UNIQUE (v);",
            "ALTER TABLE t DROP CONSTRAINT c;",
            ["t"],
        ),
        (
            "postgres",
            T + "ALTER TABLE t ADD CONSTRAINT c UNIQUE (v);",
            "ALTER TABLE t RENAME CONSTRAINT c TO d;",
            ["t"],
        ),
        # a comment alone is COMMENT ON COLUMN on PostgreSQL: queries pass
        ("postgres", T, "COMMENT ON COLUMN t.v IS 'hello';", []),
        ("mysql", T, "ALTER TABLE t MODIFY v int COMMENT 'hello';", ["t"]),
        ("postgres", T, "ALTER TABLE t ALTER COLUMN v SET DEFAULT 1;", ["t"]),
        ("postgres", T, "ALTER TABLE t ADD COLUMN x int;", ["t"]),
        ("postgres", T, "ALTER TABLE t DROP COLUMN w;", ["t"]),
        ("postgres", T, "ALTER TABLE t RENAME COLUMN v TO x;", ["t"]),
        ("postgres", T, "ALTER TABLE t RENAME TO u;", ["u"]),
        ("postgres", T, "CREATE TABLE audit (id int);", ["audit"]),
        ("postgres", T, "CREATE INDEX i ON t (v);", ["t"]),
        ("postgres", T + "CREATE INDEX i ON t (v);", "DROP INDEX i;", []),
        (
            "mysql",
            "CREATE TABLE t (id int PRIMARY KEY, v int, INDEX i (v));",
            "DROP INDEX i ON t;",
            ["t"],
        ),
        ("postgres", T, "CREATE VIEW w AS SELECT id FROM t;", ["w"]),
        (
            "postgres",
            T + "CREATE VIEW w AS SELECT id FROM t;",
            "CREATE OR REPLACE VIEW w AS SELECT id, v FROM t;",
            ["w"],
        ),
        ("postgres", T + "CREATE VIEW w AS SELECT id FROM t;", "DROP VIEW w;", []),
        # renaming an index, moving a column, a table comment: MySQL rebuilds the table definition
        (
            "mysql",
            "CREATE TABLE t (id int PRIMARY KEY, v int, INDEX i (v));",
            "ALTER TABLE t RENAME INDEX i TO j;",
            ["t"],
        ),
        ("postgres", T + "CREATE INDEX i ON t (v);", "ALTER INDEX i RENAME TO j;", []),
        ("mysql", T, "ALTER TABLE t MODIFY w int FIRST;", ["t"]),
        ("mysql", T, "ALTER TABLE t COMMENT = 'x';", ["t"]),
        ("postgres", T, "COMMENT ON TABLE t IS 'x';", []),
    ],
)
def test_each_step_names_the_tables_it_waits_on(
    dialect: str, history: str, migration: str, tables: list[str]
) -> None:
    lock = PG if dialect == "postgres" else MY
    assert said(dialect, history, migration, RULE, NO_LOCK_TIMEOUT) == [
        waits(lock, t) for t in tables
    ]
    # with the default policy's lock timeout, the step gives up instead of queueing
    assert said(dialect, history, migration, RULE) == []


def test_sqlite_has_no_lock_queue() -> None:
    assert said("sqlite", T, "ALTER TABLE t ADD COLUMN x int;", RULE, NO_LOCK_TIMEOUT) == []


def test_a_re_created_enum_waits_on_every_table_using_it_at_its_alter_table() -> None:
    history = (
        "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE zz (id int, m mood);"
        "CREATE TABLE aa (id int, m mood); CREATE TABLE other (id int);"
    )
    down, assessment = rollback(
        "postgres", history, "ALTER TYPE mood ADD VALUE 'c';", NO_LOCK_TIMEOUT
    )
    found = [f for f in assessment.findings() if f.rule == RULE]
    assert [(f.level.value, f.object, f.message) for f in found] == [
        waits(PG, "zz"),
        waits(PG, "aa"),
    ]
    placed = [
        (r.sql, [f.object for f in fs if f.rule == RULE])
        for r, fs in statement_findings(assessment, down.statements)
    ]
    assert placed == [
        ("ALTER TYPE mood RENAME TO mood__old", []),
        ("CREATE TYPE mood AS ENUM ('a', 'b')", []),
        ("ALTER TABLE zz ALTER COLUMN m TYPE mood USING m::text::mood", ["zz", "aa"]),
        ("ALTER TABLE aa ALTER COLUMN m TYPE mood USING m::text::mood", []),
        ("DROP TYPE mood__old", []),
    ]


def test_an_enum_altered_in_place_waits_on_no_table() -> None:
    history = "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE zz (id int, m mood);"
    assert (
        said("postgres", history, "ALTER TYPE mood RENAME VALUE 'a' TO 'z';", RULE, NO_LOCK_TIMEOUT)
        == []
    )


def test_a_reordered_enum_is_re_created() -> None:
    mood = QName("mood")
    zz = Table(QName("zz"), (Column("id", "INT"), Column("m", "mood")))
    schema = Schema(
        Dialect.POSTGRES, (), {("", "zz"): zz}, enums={("", "mood"): EnumType(mood, ("a", "b"))}
    )
    change = AlterEnum(EnumType(mood, ("a", "b")), EnumType(mood, ("b", "a")))
    found = assess([change], schema, policy=NO_LOCK_TIMEOUT).findings()
    assert [(f.rule, f.object) for f in found if f.rule == RULE] == [(RULE, "zz")]


def test_tables_the_down_created_are_not_waited_on() -> None:
    table = Table(QName("t"), (Column("id", "INT"), Column("v", "INT")))
    changes = [CreateTable(table), DropColumn(QName("t"), Column("v", "INT"))]
    found = assess(changes, Schema(Dialect.POSTGRES), policy=NO_LOCK_TIMEOUT).findings()
    assert [f for f in found if f.rule == RULE] == []
