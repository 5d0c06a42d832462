"""Data-loss rules, word for word: the level, object and message a reviewer reads when a
rollback drops a schema, a table, a column, or changes a type so that values change."""

from __future__ import annotations

from bot.core.changes import AlterColumn, CreateTable, DropNamespace
from bot.core.model import Column, Dialect, QName, Schema, Table
from bot.core.risk.analyse import assess
from bot.core.risk.rules.data_loss import MYSQL_MODE, enum_removed
from tests.core.risk.helpers import said, said_between

USERS = "CREATE TABLE users (id int PRIMARY KEY, email varchar(50), name text);"


def col(type_: str) -> str:
    return f"CREATE TABLE t (id int PRIMARY KEY, v {type_});"


def _reports(dialect: Dialect, *names: str) -> Schema:
    tables = {("reports", n): Table(QName(n, "reports")) for n in names}
    other = Table(QName("kept", "other"))
    return Schema(dialect, ("reports", "other"), {**tables, ("other", "kept"): other})


def test_drop_schema_names_every_table_still_in_it_in_order() -> None:
    found = assess([DropNamespace("reports")], _reports(Dialect.POSTGRES, "zeta", "alpha"))
    assert [(f.rule, f.level.value, f.object, f.message) for f in found.findings()] == [
        (
            "drop-schema",
            "danger",
            "reports",
            "schema reports still holds reports.alpha, reports.zeta; dropping it deletes their rows",
        )
    ]


def test_drop_schema_on_mysql_is_drop_database_whatever_it_holds() -> None:
    for schema in (Schema(Dialect.MYSQL), _reports(Dialect.MYSQL, "daily")):
        found = assess([DropNamespace("reports")], schema).findings()
        assert [(f.rule, f.level.value, f.message) for f in found] == [
            (
                "drop-schema",
                "danger",
                "DROP SCHEMA reports deletes every table in it and all their rows",
            )
        ]


def test_drop_schema_of_an_empty_postgres_schema_loses_nothing() -> None:
    assert assess([DropNamespace("reports")], _reports(Dialect.POSTGRES)).findings() == []


def test_drop_table_and_virtual_table() -> None:
    assert said("postgres", USERS, "CREATE TABLE audit (id int);", "drop-table") == [
        ("danger", "audit", "dropping table audit deletes all of its rows")
    ]
    assert said(
        "sqlite", USERS, "CREATE VIRTUAL TABLE search USING fts5(title);", "drop-table"
    ) == [
        (
            "danger",
            "virtual table search",
            "dropping virtual table search deletes all of its rows",
        )
    ]


def test_dropping_another_kind_of_object_is_not_drop_table() -> None:
    trigger = "CREATE TRIGGER stamp AFTER INSERT ON users BEGIN UPDATE users SET name = 'x'; END;"
    assert said("sqlite", USERS, trigger, "drop-table") == []


def test_drop_column_names_the_column_unless_it_is_generated() -> None:
    assert said("mysql", USERS, "ALTER TABLE users ADD COLUMN bio text;", "drop-column") == [
        ("danger", "users.bio", "dropping column users.bio deletes every value written to it")
    ]
    generated = "ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS (id + 1) STORED;"
    assert said("mysql", USERS, generated, "drop-column") == []


def test_lossy_type_change_on_postgres_rounds_or_cuts() -> None:
    assert said(
        "postgres",
        col("numeric(10,2)"),
        "ALTER TABLE t ALTER COLUMN v TYPE numeric(12,4);",
        "lossy-type-change",
    ) == [
        (
            "danger",
            "t.v",
            "changing t.v from DECIMAL(12, 4) to DECIMAL(10, 2) changes values without an error: "
            "they are rounded or cut",
        )
    ]


def test_lossy_type_change_on_mysql_depends_on_the_sql_mode() -> None:
    assert said("mysql", col("int"), "ALTER TABLE t MODIFY v bigint;", "lossy-type-change") == [
        ("danger", "t.v", f"changing t.v from BIGINT to INT cannot keep every value: {MYSQL_MODE}")
    ]
    assert MYSQL_MODE == (
        "outside strict mode MySQL/MariaDB cut or clamp the values that don't fit, silently; in "
        "strict mode (STRICT_TRANS_TABLES) the step fails on them instead. The server's "
        "sql_mode isn't known here, so this counts as data loss"
    )


def test_lossy_type_change_on_sqlite_is_an_affinity_change() -> None:
    assert said_between(
        "sqlite", "CREATE TABLE t (v text);", "CREATE TABLE t (v integer);", "lossy-type-change"
    ) == [
        (
            "danger",
            "t.v",
            "changing t.v from text to integer converts values that look like another kind "
            "(text '007' to 7)",
        )
    ]


def test_a_type_change_that_keeps_every_value_is_not_lossy() -> None:
    # the same type spelled another way, and a widening
    assert (
        said(
            "postgres",
            col("int4"),
            "ALTER TABLE t ALTER COLUMN v TYPE integer;",
            "lossy-type-change",
        )
        == []
    )
    assert said("mysql", col("bigint"), "ALTER TABLE t MODIFY v int;", "lossy-type-change") == []


def test_a_table_the_down_creates_is_empty_so_its_type_change_loses_nothing() -> None:
    before = Column("v", "BIGINT")
    table = Table(QName("t"), (before,))
    changes = [CreateTable(table), AlterColumn(QName("t"), before, Column("v", "INT"))]
    for dialect in (Dialect.MYSQL, Dialect.POSTGRES):
        assert assess(changes, Schema(dialect)).findings() == []


def test_enum_values_removed_lists_each_removed_value_in_order() -> None:
    assert said(
        "mysql",
        col("enum('x', 'y')"),
        "ALTER TABLE t MODIFY v enum('x', 'z', 'y', 'w');",
        "enum-values-removed",
    ) == [
        (
            "danger",
            "t.v",
            f"removing 'z', 'w' from t.v: rows holding them lose their value; {MYSQL_MODE}",
        )
    ]
    # the same removal is not also reported as a lossy type change
    assert (
        said(
            "mysql",
            col("enum('x', 'y')"),
            "ALTER TABLE t MODIFY v enum('x', 'y', 'z');",
            "lossy-type-change",
        )
        == []
    )


def test_enum_values_removed_on_a_set_and_not_on_a_table_the_down_creates() -> None:
    assert said(
        "mysql",
        col("set('a', 'b')"),
        "ALTER TABLE t MODIFY v set('a', 'b', 'c');",
        "enum-values-removed",
    ) == [
        (
            "danger",
            "t.v",
            f"removing 'c' from t.v: rows holding them lose their value; {MYSQL_MODE}",
        )
    ]
    before = Column("v", "ENUM('x', 'y')")
    changes = [
        CreateTable(Table(QName("t"), (before,))),
        AlterColumn(QName("t"), before, Column("v", "ENUM('x')")),
    ]
    assert assess(changes, Schema(Dialect.MYSQL)).findings() == []


def test_enum_removed_leaves_out_a_value_renamed_in_place() -> None:
    # PostgreSQL renders a same-position replacement as RENAME VALUE: rows follow it
    assert enum_removed(("a", "b", "c"), ("a", "z", "c")) == []
    # not a rename: the new label was already there, or the old one stays elsewhere
    assert enum_removed(("a", "b"), ("a", "a")) == ["b"]
    assert enum_removed(("a", "b"), ("b", "c")) == ["a"]
    # a different number of labels: nothing is a rename
    assert enum_removed(("a", "b", "c"), ("a", "z")) == ["b", "c"]
    assert enum_removed(("a", "b"), ("a", "b", "c")) == []


def test_removed_enum_values_are_named_as_stored() -> None:
    # the empty member and a member with a quote in it
    history = col("enum('a')")
    migration = "ALTER TABLE t MODIFY v enum('', 'it''s', 'a');"
    assert said("mysql", history, migration, "enum-values-removed") == [
        (
            "danger",
            "t.v",
            f"removing '', 'it's' from t.v: rows holding them lose their value; {MYSQL_MODE}",
        )
    ]
