"""Might-fail rules, word for word: the level, object and message a reviewer reads when a
rollback's step can stop half-way on rows that don't fit, and silence on what can't fail."""

from __future__ import annotations

from bot.core.changes import AddColumn, AddConstraint, AlterEnum, CreateIndex, CreateTable
from bot.core.model import (
    Column,
    Dialect,
    EnumType,
    ForeignKey,
    Index,
    QName,
    Schema,
    Table,
    Unique,
)
from bot.core.risk.analyse import assess
from bot.core.risk.rules.might_fail import is_type
from tests.core.risk.helpers import said, said_between

NOT_NULL_LEGACY = "CREATE TABLE users (id int PRIMARY KEY, email text, legacy int NOT NULL);"
MOOD = "CREATE TYPE mood AS ENUM ('a', 'b');"
DROP_LEGACY = "ALTER TABLE users DROP COLUMN legacy;"
NARROWED = (
    "fails on a value that doesn't fit (value too long, out of range, numeric field overflow); "
    "nothing is changed then"
)


def col(type_: str) -> str:
    return f"CREATE TABLE t (id int PRIMARY KEY, v {type_});"


def test_add_not_null_column_without_a_default() -> None:
    for dialect in ("postgres", "sqlite"):
        assert said(dialect, NOT_NULL_LEGACY, DROP_LEGACY, "add-not-null-column") == [
            (
                "warning",
                "users.legacy",
                "adding users.legacy NOT NULL without a default fails on a non-empty table",
            )
        ]


def test_add_not_null_column_is_quiet_when_something_fills_the_column() -> None:
    filled = [
        "legacy int NOT NULL DEFAULT 0",
        "legacy int NOT NULL GENERATED ALWAYS AS (id + 1) STORED",
        "legacy int NOT NULL GENERATED ALWAYS AS IDENTITY",
        "legacy serial NOT NULL",
        "legacy int",
    ]
    for column in filled:
        history = f"CREATE TABLE users (id int PRIMARY KEY, {column});"
        assert said("postgres", history, DROP_LEGACY, "add-not-null-column") == [], column
    # MySQL fills existing rows with the type's implicit default
    assert said("mysql", NOT_NULL_LEGACY, DROP_LEGACY, "add-not-null-column") == []


def test_add_not_null_column_to_a_table_the_down_creates() -> None:
    table = Table(QName("t"), (Column("id", "INT"),))
    legacy = Column("legacy", "INT", nullable=False)
    changes = [CreateTable(table), AddColumn(QName("t"), legacy)]
    found = assess(changes, Schema(Dialect.POSTGRES)).findings()
    assert "add-not-null-column" not in {f.rule for f in found}
    # the same column added to a table that was there: it fires
    found = assess(changes[1:], Schema(Dialect.POSTGRES, (), {("", "t"): table})).findings()
    assert "add-not-null-column" in {f.rule for f in found}


def test_set_not_null() -> None:
    assert said(
        "mysql", NOT_NULL_LEGACY, "ALTER TABLE users MODIFY legacy int NULL;", "set-not-null"
    ) == [
        (
            "warning",
            "users.legacy",
            "making users.legacy NOT NULL fails if any row holds NULL in it",
        )
    ]
    # a column already NOT NULL whose type changes is not made NOT NULL
    assert (
        said(
            "mysql",
            NOT_NULL_LEGACY,
            "ALTER TABLE users MODIFY legacy bigint NOT NULL;",
            "set-not-null",
        )
        == []
    )


def test_add_unique_constraint_and_unique_index() -> None:
    history = "CREATE TABLE t (id int PRIMARY KEY, a int, b int, CONSTRAINT ab UNIQUE (a, b));"
    assert said("postgres", history, "ALTER TABLE t DROP CONSTRAINT ab;", "add-unique") == [
        ("warning", "t.ab", "adding UNIQUE (a, b) on t fails if existing rows repeat a value")
    ]
    index = "CREATE TABLE t (id int, a int); CREATE UNIQUE INDEX t_a ON t (a);"
    assert said("sqlite", index, "DROP INDEX t_a;", "add-unique") == [
        ("warning", "t_a", "unique index t_a on t fails to build if existing rows repeat a value")
    ]


def test_add_unique_on_a_table_the_down_creates_is_quiet() -> None:
    table = Table(QName("t"), (Column("a", "INT"),))
    changes = [
        CreateTable(table),
        AddConstraint(QName("t"), Unique("t_a", ("a",))),
        CreateIndex(Index("t_a2", QName("t"), ("a",), unique=True)),
    ]
    assert assess(changes, Schema(Dialect.POSTGRES)).findings() == []


def test_add_primary_key_names_every_column() -> None:
    history = (
        "CREATE TABLE t (a int NOT NULL, b int NOT NULL, CONSTRAINT t_pkey PRIMARY KEY (a, b));"
    )
    assert said(
        "postgres", history, "ALTER TABLE t DROP CONSTRAINT t_pkey;", "add-primary-key"
    ) == [
        (
            "warning",
            "t.t_pkey",
            "adding PRIMARY KEY (a, b) on t fails if existing rows repeat a value or hold NULL",
        )
    ]


def test_add_foreign_key_names_its_columns_and_the_referenced_table() -> None:
    history = (
        "CREATE TABLE p (x int, y int, PRIMARY KEY (x, y));"
        "CREATE TABLE t (id int, a int, b int,"
        " CONSTRAINT fk FOREIGN KEY (a, b) REFERENCES p (x, y));"
    )
    assert said("postgres", history, "ALTER TABLE t DROP CONSTRAINT fk;", "add-foreign-key") == [
        (
            "warning",
            "t.fk",
            "adding the foreign key (a, b) -> p on t fails if an existing row references a "
            "missing p row",
        )
    ]


def test_add_foreign_key_and_check_on_a_table_the_down_creates_are_quiet() -> None:
    table = Table(QName("t"), (Column("a", "INT"),))
    changes = [
        CreateTable(table),
        AddConstraint(QName("t"), ForeignKey("fk", ("a",), QName("p"), ("id",))),
    ]
    assert assess(changes, Schema(Dialect.MYSQL)).findings() == []
    history = "CREATE TABLE t (id int, v int, CONSTRAINT positive CHECK (v > 0));"
    assert said("postgres", history, "DROP TABLE t;", "add-check") == []


def test_add_check_shows_the_expression() -> None:
    history = "CREATE TABLE t (id int, v int, CONSTRAINT positive CHECK (v > 0));"
    assert said("mysql", history, "ALTER TABLE t DROP CHECK positive;", "add-check") == [
        ("warning", "t.positive", "adding CHECK (v > 0) on t fails if an existing row violates it")
    ]


def test_narrowing_may_fail_on_postgres_only() -> None:
    assert said(
        "postgres",
        col("bigint"),
        "ALTER TABLE t ALTER COLUMN v TYPE numeric(30,0);",
        "narrowing-may-fail",
    ) == [("warning", "t.v", f"changing t.v from DECIMAL(30, 0) to BIGINT {NARROWED}")]
    assert said(
        "postgres",
        col("varchar(5)"),
        "ALTER TABLE t ALTER COLUMN v TYPE varchar(9);",
        "narrowing-may-fail",
    ) == [("warning", "t.v", f"changing t.v from VARCHAR(9) to VARCHAR(5) {NARROWED}")]
    assert said("mysql", col("int"), "ALTER TABLE t MODIFY v bigint;", "narrowing-may-fail") == []
    # a widening cannot fail
    assert (
        said(
            "postgres",
            col("bigint"),
            "ALTER TABLE t ALTER COLUMN v TYPE int;",
            "narrowing-may-fail",
        )
        == []
    )


def test_narrowing_across_kinds_is_a_cast_not_a_narrowing() -> None:
    # text to varchar(3) is a narrowing; text from a date is a cast (type-cast-may-fail's)
    migration = "ALTER TABLE t ALTER COLUMN v TYPE text;"
    assert said("postgres", col("date"), migration, "narrowing-may-fail") == []
    assert said("postgres", col("date"), migration, "type-cast-may-fail") == [
        (
            "warning",
            "t.v",
            "converting t.v from TEXT to DATE fails on any value that doesn't convert",
        )
    ]


def test_type_cast_may_fail_on_mysql_and_strict_sqlite_only() -> None:
    assert said(
        "mysql", col("date"), "ALTER TABLE t MODIFY v varchar(40);", "type-cast-may-fail"
    ) == [
        (
            "warning",
            "t.v",
            "converting t.v from VARCHAR(40) to DATE fails on any value that doesn't convert",
        )
    ]
    strict = "CREATE TABLE t (id int PRIMARY KEY, v {}) STRICT;"
    assert said_between(
        "sqlite", strict.format("text"), strict.format("integer"), "type-cast-may-fail"
    ) == [
        (
            "warning",
            "t.v",
            "converting t.v from text to integer fails on any value that doesn't convert",
        )
    ]
    # SQLite without STRICT stores any value in any column
    plain = "CREATE TABLE t (id int PRIMARY KEY, v {});"
    assert (
        said_between("sqlite", plain.format("text"), plain.format("integer"), "type-cast-may-fail")
        == []
    )


def test_numbers_are_one_kind_so_converting_between_them_is_no_cast() -> None:
    for old, new in [("float8", "int"), ("numeric(10,2)", "int"), ("int", "real")]:
        assert (
            said(
                "postgres",
                col(new),
                f"ALTER TABLE t ALTER COLUMN v TYPE {old};",
                "type-cast-may-fail",
            )
            == []
        ), (old, new)


def test_removing_an_enum_value_fails_on_every_column_of_the_type() -> None:
    history = (
        MOOD + "CREATE TABLE zz (id int, m mood);"
        "CREATE TABLE aa (id int, m public.mood, n mood[]);"
        "CREATE TABLE other (id int, m text);"
    )
    assert said("postgres", history, "ALTER TYPE mood ADD VALUE 'c';", "type-cast-may-fail") == [
        (
            "warning",
            "mood",
            "removing 'c' from enum mood fails if a row of aa.m, aa.n, zz.m holds it: the cast "
            "to the re-created type refuses it",
        )
    ]


def test_removing_enum_values_no_row_can_hold_is_quiet() -> None:
    # no column of the type; a renamed value
    assert said("postgres", MOOD, "ALTER TYPE mood ADD VALUE 'c';", "type-cast-may-fail") == []
    history = MOOD + "CREATE TABLE zz (id int, m mood);"
    renamed = "ALTER TYPE mood RENAME VALUE 'a' TO 'z';"
    assert said("postgres", history, renamed, "type-cast-may-fail") == []


def test_is_type_reads_quoted_qualified_and_array_types() -> None:
    for text in ("mood", '"mood"', "public.mood", '"public"."mood"', "mood[]", " mood [] "):
        assert is_type(text, "mood"), text
    assert not is_type("moods", "mood")
    assert not is_type("text", "mood")


def test_removing_several_enum_values_at_once_names_each() -> None:
    mood = QName("mood")
    zz = Table(QName("zz"), (Column("id", "INT"), Column("m", "mood")))
    schema = Schema(
        Dialect.POSTGRES,
        (),
        {("", "zz"): zz},
        enums={("", "mood"): EnumType(mood, ("a", "b", "c", "d"))},
    )
    change = AlterEnum(EnumType(mood, ("a", "b", "c", "d")), EnumType(mood, ("a", "b")))
    found = [f for f in assess([change], schema).findings() if f.rule == "type-cast-may-fail"]
    assert [(f.level.value, f.object, f.message) for f in found] == [
        (
            "warning",
            "mood",
            "removing 'c', 'd' from enum mood fails if a row of zz.m holds it: the cast to the "
            "re-created type refuses it",
        )
    ]


def test_is_type_takes_the_last_part_of_a_three_part_name() -> None:
    assert is_type("app.public.mood", "mood")
    assert is_type('"app"."public"."mood"[]', "mood")
