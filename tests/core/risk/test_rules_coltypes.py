"""What a column type change does to the values, as the rules tell a reviewer: every value
kept (no finding), values that may be refused (narrowing-may-fail, type-cast-may-fail), or
values changed without an error (lossy-type-change), for each engine's types.

Each case is the type a rolled-back migration set and the type the down restores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from bot.core.changes import AlterColumn
from bot.core.down import down_between
from bot.core.model import Column, Dialect, QName, Schema, Table, qkey
from bot.core.replay import Migration, replay
from bot.core.risk.analyse import assess
from bot.core.risk.rules.coltypes import ColType, Family, parse_type
from bot.engines import ScratchDatabase
from tests.core.risk.helpers import rollback

LOSSY = "lossy-type-change"
NARROWS = "narrowing-may-fail"
CAST = "type-cast-may-fail"
MakeDb = Callable[[str], ScratchDatabase]


def col(type_: str) -> str:
    return f"CREATE TABLE t (id int PRIMARY KEY, v {type_});"


def type_findings(dialect: str, now: str, back_to: str) -> set[str]:
    """The value rules fired by the down turning `t.v` from `now` back to `back_to`."""
    if dialect == "sqlite":  # SQLite has no ALTER COLUMN: the schemas are diffed
        newer = [Migration("newer.sql", col(now))]
        down = down_between(newer, [Migration("older.sql", col(back_to))], Dialect.SQLITE)
        found = assess(down.changes, replay(newer, Dialect.SQLITE).schema).findings()
    else:
        verb = "ALTER COLUMN v TYPE" if dialect == "postgres" else "MODIFY v"
        down, assessment = rollback(dialect, col(back_to), f"ALTER TABLE t {verb} {now};")
        found = assessment.findings()
    assert [type(c) for c in down.changes] == [AlterColumn] and not down.unmodelled
    return {f.rule for f in found} & {LOSSY, NARROWS, CAST}


CASES = [
    ("postgres", "bigint", "float8", (LOSSY,)),
    ("postgres", "bigint", "int", (NARROWS,)),
    ("postgres", "bigint", "varchar(19)", (LOSSY,)),
    ("postgres", "bigint", "varchar(20)", ()),
    ("postgres", "boolean", "int", ()),
    ("postgres", "boolean", "text", ()),
    ("postgres", "boolean", "varchar(4)", (LOSSY,)),
    ("postgres", "boolean", "varchar(5)", ()),
    ("postgres", "bytea", "text", (LOSSY,)),
    ("postgres", "char", "varchar(1)", ()),
    ("postgres", "char(3)", "varchar(3)", ()),
    ("postgres", "date", "int", (LOSSY, CAST)),
    ("postgres", "date", "timestamp", ()),
    ("postgres", "date", "timestamptz", ()),
    ("postgres", "date", "varchar(10)", ()),
    ("postgres", "date", "varchar(9)", (LOSSY,)),
    ("postgres", "float(24)", "float(25)", ()),
    ("postgres", "float(24)", "float8", ()),
    ("postgres", "float(24)", "real", ()),
    ("postgres", "float(25)", "float(24)", (LOSSY,)),
    ("postgres", "float8", "float(24)", (LOSSY,)),
    ("postgres", "float8", "real", (LOSSY,)),
    ("postgres", "inet", "text", ()),
    ("postgres", "int", "bigint", ()),
    ("postgres", "int", "boolean", (LOSSY, CAST)),
    ("postgres", "int", "float8", ()),
    ("postgres", "int", "numeric", ()),
    ("postgres", "int", "numeric(10, 0)", ()),
    ("postgres", "int", "numeric(11, 2)", (NARROWS,)),
    ("postgres", "int", "numeric(12, 2)", ()),
    ("postgres", "int", "numeric(9, 0)", (NARROWS,)),
    ("postgres", "int", "real", (LOSSY,)),
    ("postgres", "int", "smallint", (NARROWS,)),
    ("postgres", "int", "varchar(10)", (LOSSY,)),
    ("postgres", "int", "varchar(11)", ()),
    ("postgres", "int[]", "text", ()),
    ("postgres", "json", "jsonb", ()),
    ("postgres", "jsonb", "json", ()),
    ("postgres", "money", "numeric(18, 2)", (NARROWS,)),
    ("postgres", "money", "numeric(19, 1)", (LOSSY,)),
    ("postgres", "money", "numeric(19, 2)", ()),
    ("postgres", "numeric", "int", (LOSSY,)),
    ("postgres", "numeric", "numeric(10, 2)", (LOSSY,)),
    ("postgres", "numeric", "varchar(100)", (LOSSY,)),
    ("postgres", "numeric(10, 0)", "int", (NARROWS,)),
    ("postgres", "numeric(10, 2)", "numeric", ()),
    ("postgres", "numeric(10, 2)", "numeric(10, 3)", ()),
    ("postgres", "numeric(10, 2)", "numeric(11, 1)", (LOSSY,)),
    ("postgres", "numeric(10, 2)", "numeric(12, 2)", ()),
    ("postgres", "numeric(18, 0)", "bigint", ()),
    ("postgres", "numeric(19, 0)", "bigint", (NARROWS,)),
    ("postgres", "numeric(5)", "numeric(5, 0)", ()),
    ("postgres", "numeric(5, 0)", "int", ()),
    ("postgres", "numeric(5, 2)", "int", (LOSSY,)),
    ("postgres", "numeric(5, 2)", "numeric(6, 2)", ()),
    ("postgres", "numeric(5, 2)", "varchar(6)", (LOSSY,)),
    ("postgres", "numeric(5, 2)", "varchar(7)", ()),
    ("postgres", "numeric(6)", "numeric(5, 0)", (NARROWS,)),
    ("postgres", "numeric(9, 0)", "int", ()),
    ("postgres", "real", "float8", ()),
    ("postgres", "smallint", "int", ()),
    ("postgres", "smallint", "numeric(4, 0)", (NARROWS,)),
    ("postgres", "smallint", "numeric(5, 0)", ()),
    ("postgres", "smallint", "numeric(5, 1)", (NARROWS,)),
    ("postgres", "smallint", "real", ()),
    ("postgres", "smallint", "varchar(5)", (LOSSY,)),
    ("postgres", "smallint", "varchar(6)", ()),
    ("postgres", "text", "bytea", (LOSSY, CAST)),
    ("postgres", "text", "inet", (LOSSY, CAST)),
    ("postgres", "text", "uuid", (LOSSY, CAST)),
    ("postgres", "time", "time(3)", (LOSSY,)),
    ("postgres", "time", "timetz", ()),
    ("postgres", "time(3)", "time(6)", ()),
    ("postgres", "time(6)", "time(3)", (LOSSY,)),
    ("postgres", "timestamp", "timestamp(3)", (LOSSY,)),
    ("postgres", "timestamp", "timestamptz", ()),
    ("postgres", "timestamp(3)", "timestamp", ()),
    ("postgres", "timestamp(6)", "timestamptz(3)", (LOSSY,)),
    ("postgres", "timestamptz", "date", (LOSSY,)),
    ("postgres", "timestamptz", "timestamp", (LOSSY,)),
    ("postgres", "timestamptz", "timestamptz(3)", (LOSSY,)),
    ("postgres", "timestamptz(3)", "timestamptz", ()),
    ("postgres", "timestamptz(6)", "timestamp(6)", (LOSSY,)),
    ("postgres", "timestamp", "timestamp(6)", ()),
    ("postgres", "timestamp(0)", "timestamptz(0)", ()),
    ("postgres", "timestamp(1)", "timestamptz(0)", (LOSSY,)),
    ("postgres", "timetz", "time", (LOSSY,)),
    ("postgres", "timetz(3)", "timetz", ()),
    ("postgres", "uuid", "text", ()),
    ("postgres", "uuid", "varchar(35)", (LOSSY,)),
    ("postgres", "uuid", "varchar(36)", ()),
    ("postgres", "varchar", "varchar(50)", (NARROWS,)),
    ("postgres", "varchar(20)", "char", (NARROWS,)),
    ("postgres", "varchar(3)", "char(2)", (NARROWS,)),
    ("mysql", "bigint", "decimal(18, 0)", (LOSSY,)),
    ("mysql", "bigint", "decimal(19, 0)", ()),
    ("mysql", "bigint", "double", (LOSSY,)),
    ("mysql", "bigint", "int", (LOSSY,)),
    ("mysql", "bigint unsigned", "bigint", (LOSSY,)),
    ("mysql", "bigint unsigned", "decimal(20, 0)", ()),
    ("mysql", "binary", "binary(1)", ()),
    ("mysql", "binary", "varbinary(1)", ()),
    ("mysql", "binary(4)", "varbinary(4)", ()),
    ("mysql", "blob", "tinyblob", (LOSSY,)),
    ("mysql", "blob", "varbinary(5)", (LOSSY,)),
    ("mysql", "boolean", "int", ()),
    ("mysql", "boolean", "tinyint", ()),
    ("mysql", "char", "varchar(1)", ()),
    ("mysql", "char(2)", "varchar(1)", (LOSSY,)),
    ("mysql", "date", "datetime", ()),
    ("mysql", "date", "timestamp", (LOSSY, CAST)),
    ("mysql", "datetime", "timestamp", (LOSSY, CAST)),
    ("mysql", "datetime(3)", "datetime", (LOSSY,)),
    ("mysql", "decimal", "decimal(10, 0)", ()),
    ("mysql", "decimal", "int", (LOSSY,)),
    ("mysql", "decimal(10, 0)", "int", (LOSSY,)),
    ("mysql", "decimal(10, 0) unsigned", "int unsigned", (LOSSY,)),
    ("mysql", "decimal(10, 2)", "decimal", (LOSSY,)),
    ("mysql", "decimal(10, 2)", "decimal(10, 2) unsigned", (LOSSY,)),
    ("mysql", "decimal(10, 2) unsigned", "decimal(10, 2)", ()),
    ("mysql", "decimal(10, 2) unsigned", "decimal(11, 2)", ()),
    ("mysql", "decimal(11, 0)", "decimal", (LOSSY,)),
    ("mysql", "decimal(2, 0)", "tinyint", ()),
    ("mysql", "decimal(2, 0) unsigned", "tinyint", ()),
    ("mysql", "decimal(3, 0)", "tinyint", (LOSSY,)),
    ("mysql", "decimal(3, 0) unsigned", "tinyint unsigned", (LOSSY,)),
    ("mysql", "decimal(4, 0)", "smallint unsigned", (LOSSY,)),
    ("mysql", "decimal(4, 0) unsigned", "smallint unsigned", ()),
    ("mysql", "decimal(5, 0)", "smallint unsigned", (LOSSY,)),
    ("mysql", "decimal(5, 1)", "int", (LOSSY,)),
    ("mysql", "decimal(5, 2)", "decimal unsigned", (LOSSY,)),
    ("mysql", "decimal(5, 2)", "decimal(6, 1)", (LOSSY,)),
    ("mysql", "decimal(5, 2) unsigned", "decimal", (LOSSY,)),
    ("mysql", "decimal(9, 0) unsigned", "int unsigned", ()),
    ("mysql", "double", "float", (LOSSY,)),
    ("mysql", "double", "float(24)", (LOSSY,)),
    ("mysql", "double(10, 2)", "float(10, 2)", (LOSSY,)),
    ("mysql", "enum('a', 'b')", "enum('a', 'b', 'c')", ()),
    ("mysql", "enum('a', 'b')", "enum('b', 'a')", ()),
    ("mysql", "enum('a', 'bbbb')", "char(4)", ()),
    ("mysql", "enum('a', 'bbbb')", "varchar(3)", (LOSSY, CAST)),
    ("mysql", "enum('a', 'bbbb')", "varchar(4)", ()),
    ("mysql", "float", "double", ()),
    ("mysql", "float(10, 2)", "double(10, 2)", ()),
    ("mysql", "float(25)", "double", ()),
    ("mysql", "int", "bigint", ()),
    ("mysql", "int", "decimal", ()),
    ("mysql", "int", "decimal(10, 0)", ()),
    ("mysql", "int", "decimal(10, 0) unsigned", (LOSSY,)),
    ("mysql", "int", "decimal(9, 0)", (LOSSY,)),
    ("mysql", "int", "double", ()),
    ("mysql", "int", "float", (LOSSY,)),
    ("mysql", "int", "int unsigned", (LOSSY,)),
    ("mysql", "int", "mediumint", (LOSSY,)),
    ("mysql", "int", "text", ()),
    ("mysql", "int", "tinytext", ()),
    ("mysql", "int", "varchar(10)", (LOSSY, CAST)),
    ("mysql", "int", "varchar(11)", ()),
    ("mysql", "int unsigned", "bigint", ()),
    ("mysql", "int unsigned", "decimal(10, 0)", ()),
    ("mysql", "int unsigned", "decimal(10, 0) unsigned", ()),
    ("mysql", "int unsigned", "double", ()),
    ("mysql", "int unsigned", "int", (LOSSY,)),
    ("mysql", "int unsigned", "varchar(10)", ()),
    ("mysql", "int unsigned", "varchar(9)", (LOSSY, CAST)),
    ("mysql", "longblob", "mediumblob", (LOSSY,)),
    ("mysql", "longtext", "mediumtext", (LOSSY,)),
    ("mysql", "longtext", "text", (LOSSY,)),
    ("mysql", "mediumblob", "blob", (LOSSY,)),
    ("mysql", "mediumint", "float", ()),
    ("postgres", "numeric(10, 1)", "numeric(10, 0)", (LOSSY,)),
    ("mysql", "decimal(5, 1)", "decimal(5, 0)", (LOSSY,)),
    ("postgres", "numeric(5, 1)", "int", (LOSSY,)),
    ("postgres", "timestamp", "int", (LOSSY, CAST)),
    ("postgres", "int", "time", (LOSSY, CAST)),
    ("mysql", "datetime(1)", "datetime", (LOSSY,)),
    ("mysql", "time(0)", "time", ()),
    ("mysql", "timestamp(1)", "timestamp", (LOSSY,)),
    ("mysql", "timestamp(0)", "timestamp", ()),
    ("mysql", "mediumint unsigned", "float", ()),
    ("mysql", "tinyint unsigned", "smallint unsigned", ()),
    ("mysql", "set('abc')", "varchar(3)", ()),
    ("mysql", "mediumint", "int", ()),
    ("mysql", "mediumint unsigned", "int", ()),
    ("mysql", "mediumtext", "longtext", ()),
    ("mysql", "mediumtext", "text", (LOSSY,)),
    ("mysql", "set('a', 'b')", "enum('a', 'b')", (LOSSY,)),
    ("mysql", "set('a', 'bb')", "varchar(3)", (LOSSY, CAST)),
    ("mysql", "set('a', 'bb')", "varchar(4)", ()),
    ("mysql", "set('a', 'bb')", "varchar(5)", ()),
    ("mysql", "smallint unsigned", "float", ()),
    ("mysql", "text", "mediumtext", ()),
    ("mysql", "text", "tinytext", (LOSSY,)),
    ("mysql", "text", "varchar(65535)", ()),
    ("mysql", "time", "time(2)", ()),
    ("mysql", "time(2)", "time", (LOSSY,)),
    ("mysql", "timestamp", "datetime", ()),
    ("mysql", "timestamp", "datetime(3)", ()),
    ("mysql", "timestamp(2)", "timestamp", (LOSSY,)),
    ("mysql", "timestamp(3)", "datetime", (LOSSY, CAST)),
    ("mysql", "timestamp(1)", "datetime(0)", (LOSSY, CAST)),
    ("mysql", "timestamp(3)", "datetime(3)", ()),
    ("mysql", "tinyblob", "blob", ()),
    ("mysql", "tinyint", "tinyint unsigned", (LOSSY,)),
    ("mysql", "tinyint unsigned", "smallint", ()),
    ("mysql", "tinyint(1)", "int", ()),
    ("mysql", "tinytext", "text", ()),
    ("mysql", "uuid", "varchar(36)", ()),
    ("mysql", "varbinary(10)", "blob", ()),
    ("mysql", "varbinary(4)", "binary(3)", (LOSSY,)),
    ("mysql", "varbinary(4)", "varbinary(5)", ()),
    ("mysql", "varbinary(5)", "blob", ()),
    ("mysql", "varbinary(5)", "varbinary(4)", (LOSSY,)),
    ("mysql", "varchar(255)", "tinytext", ()),
    ("mysql", "varchar(256)", "tinytext", (LOSSY,)),
    ("sqlite", "bigint", "int", ()),
    ("sqlite", "blob", "integer", (LOSSY,)),
    ("sqlite", "blob", "text", ()),
    ("sqlite", "boolean", "integer", ()),
    ("sqlite", "clob", "varchar(5)", ()),
    ("sqlite", "date", "text", ()),
    ("sqlite", "decimal(10, 2)", "integer", ()),
    ("sqlite", "decimal(20, 0)", "double", (LOSSY,)),
    ("sqlite", "float", "double", ()),
    ("sqlite", "integer", "float", (LOSSY,)),
    ("sqlite", "integer", "float(24)", (LOSSY,)),
    ("sqlite", "clob", "integer", (LOSSY,)),
    ("sqlite", "integer", "clob", ()),
    ("sqlite", "integer", "mytype", ()),
    ("sqlite", "integer", "numeric", ()),
    ("sqlite", "integer", "real", (LOSSY,)),
    ("sqlite", "integer", "text", ()),
    ("sqlite", "numeric", "float", (LOSSY,)),
    ("sqlite", "numeric", "integer", ()),
    ("sqlite", "numeric", "real", (LOSSY,)),
    ("sqlite", "real", "integer", (LOSSY,)),
    ("sqlite", "text", "blob", ()),
    ("sqlite", "text", "date", (LOSSY,)),
    ("sqlite", "text", "integer", (LOSSY,)),
    ("sqlite", "text", "real", (LOSSY,)),
    ("sqlite", "varchar(255)", "varchar(10)", ()),
]


@pytest.mark.parametrize(("dialect", "now", "back_to", "rules"), CASES)
def test_what_a_type_change_does_to_the_values(
    dialect: str, now: str, back_to: str, rules: tuple[str, ...]
) -> None:
    assert type_findings(dialect, now, back_to) == set(rules)


@pytest.mark.parametrize(
    ("dialect", "history", "migration"),
    [
        ("postgres", col("int"), "ALTER TABLE t ALTER COLUMN v SET NOT NULL;"),
        ("postgres", col("varchar(9)"), "ALTER TABLE t ALTER COLUMN v SET DEFAULT 'x';"),
        ("mysql", col("int"), "ALTER TABLE t MODIFY v int NOT NULL;"),
        ("mysql", col("decimal(5,2)"), "ALTER TABLE t MODIFY v decimal(5,2) DEFAULT 1;"),
    ],
)
def test_a_column_whose_type_stays_keeps_its_values(
    dialect: str, history: str, migration: str
) -> None:
    down, assessment = rollback(dialect, history, migration)
    assert [type(c) for c in down.changes] == [AlterColumn]
    assert {f.rule for f in assessment.findings()} & {LOSSY, NARROWS, CAST} == set()


def test_sqlite_numeric_to_real_loses_the_digits_of_big_integers() -> None:
    # NUMERIC keeps 2**53 + 1 an integer; REAL rounds it. sqlglot spells NUMERIC as REAL for
    # SQLite, so the rule must read the declared name to see the affinity change.
    newer = [Migration("newer.sql", col("numeric"))]
    down = down_between(newer, [Migration("older.sql", col("real"))], Dialect.SQLITE)
    found = assess(down.changes, replay(newer, Dialect.SQLITE).schema).findings()
    assert [(f.rule, f.level.value, f.message) for f in found if f.rule == LOSSY] == [
        (
            LOSSY,
            "danger",
            "changing t.v from numeric to real converts values that look like another kind "
            "(text '007' to 7)",
        )
    ]
    con = sqlite3.connect(":memory:")
    con.executescript(col("numeric") + "INSERT INTO t VALUES (1, 9007199254740993);")
    con.executescript(";\n".join(s.sql for s in down.statements) + ";")
    assert con.execute("SELECT v FROM t").fetchone() != (9007199254740993,)


def test_postgres_float_24_is_real(engine_db: MakeDb) -> None:
    # float(1) to float(24) is real, 4 bytes: going back to it from double precision rounds
    assert type_findings("postgres", "float8", "float(24)") == {LOSSY}
    db = engine_db("postgres")
    db.execute(["CREATE TABLE t (v float(24), w float(25))"])
    assert db.query(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum"
    ) == [("real",), ("double precision",)]


def test_postgres_timetz_to_time_drops_the_zone_offset(engine_db: MakeDb) -> None:
    # the down's assignment cast keeps the wall-clock time and forgets the offset, no error
    assert type_findings("postgres", "timetz", "time") == {LOSSY}
    db = engine_db("postgres")
    db.execute(["CREATE TABLE t (v timetz)", "INSERT INTO t VALUES ('12:00+02')"])
    db.execute(["ALTER TABLE t ALTER COLUMN v TYPE time"])
    assert [str(v) for (v,) in db.query("SELECT v FROM t")] == ["12:00:00"]


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_a_type_sqlglot_cannot_read_is_a_type_of_its_own(dialect: str) -> None:
    """An unclosed quote stops sqlglot's tokenizer: the type is still assessed, as a type
    equal only to itself (its text, lower-cased), not a crash."""
    d = Dialect.parse(dialect)
    unread = Column("v", "My  'Type")
    other = Column("v", "mood")  # a name sqlglot does not know
    table = Table(QName("t"), (Column("id", "int"), unread))
    schema = Schema(d, tables={qkey(table.name, d): table})
    assert parse_type(unread.type, d) == ColType(Family.OTHER, "my 'type")
    assert assess([AlterColumn(table.name, unread, unread)], schema).findings() == []
    found = assess([AlterColumn(table.name, unread, other)], schema).findings()
    assert {f.rule for f in found} & {LOSSY, NARROWS, CAST} == (
        set() if d is Dialect.SQLITE else {LOSSY}
    )
