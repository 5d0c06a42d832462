"""mysql-table-copy, word for word: which ALTERs InnoDB can only do by copying the table
(the VARCHAR length byte, ENUM order, collations, stored generated and AUTO_INCREMENT
columns, primary keys, FULLTEXT/SPATIAL indexes), and which it does in place."""

from __future__ import annotations

import re

import pytest

from bot.core.changes import AddColumn, AlterColumn, CreateIndex, CreateTable
from bot.core.model import AutoKind, Column, Dialect, Index, QName, Schema, Table
from bot.core.risk.analyse import assess
from tests.core.risk.helpers import said

RULE = "mysql-table-copy"
COPIES = "copies t row by row and blocks writes to it until done"


def col(type_: str) -> str:
    return f"CREATE TABLE t (id int PRIMARY KEY, v {type_});"


def copy_of(now: str, back_to: str) -> list[tuple[str, str, str]]:
    """The finding for the down that turns `v` from `now` back to `back_to`."""
    return said("mysql", col(back_to), f"ALTER TABLE t MODIFY v {now};", RULE)


@pytest.mark.parametrize(
    ("now", "back_to", "copies"),
    [
        # the length byte: 1 up to 255 bytes, 2 beyond; utf8mb4 (4 bytes a character) unless
        # the collation says otherwise
        ("varchar(50)", "varchar(63)", False),
        ("varchar(63)", "varchar(64)", True),
        ("varchar(64)", "varchar(100)", False),
        ("varchar(80) COLLATE utf8mb3_general_ci", "varchar(85) COLLATE utf8mb3_general_ci", False),
        ("varchar(85) COLLATE utf8mb3_general_ci", "varchar(86) COLLATE utf8mb3_general_ci", True),
        ("varchar(85) COLLATE utf8_general_ci", "varchar(86) COLLATE utf8_general_ci", True),
        ("varchar(80) COLLATE utf8_general_ci", "varchar(85) COLLATE utf8_general_ci", False),
        ("varchar(100) COLLATE latin1_swedish_ci", "varchar(255) COLLATE latin1_swedish_ci", False),
        ("varchar(255) COLLATE latin1_swedish_ci", "varchar(256) COLLATE latin1_swedish_ci", True),
        ("varchar(200) COLLATE ascii_general_ci", "varchar(255) COLLATE ascii_general_ci", False),
        ("varchar(200) COLLATE cp1250_general_ci", "varchar(255) COLLATE cp1250_general_ci", False),
        ("varchar(100) COLLATE utf8mb4_bin", "varchar(200) COLLATE utf8mb4_bin", False),
        # 1 byte a character: 400 bytes would need the second length byte in utf8mb4
        *[
            (f"varchar(50) COLLATE {c}", f"varchar(100) COLLATE {c}", False)
            for c in ("latin1_swedish_ci", "ascii_general_ci", "binary", "cp1250_general_ci")
        ],
        # shortening, or to another kind of string
        ("varchar(50)", "varchar(40)", True),
        ("varchar(50)", "text", True),
        ("char(5)", "char(9)", True),
        ("varchar(50)", "char(50)", True),
        # ENUM/SET members added at the end keep the stored numbers of the others
        ("enum('x', 'y')", "enum('x', 'y', 'z')", False),
        ("enum('x', 'y')", "enum('w', 'x', 'y')", True),
        ("enum('x', 'y')", "enum('y', 'x')", True),
        ("set('x', 'y')", "set('x', 'y', 'z')", False),
        ("enum('x', 'y')", "set('x', 'y', 'z')", True),
        ("int", "bigint", True),
        ("varchar(5)", "enum('a', 'b')", True),
    ],
)
def test_a_type_change_is_done_in_place_or_by_a_copy(now: str, back_to: str, copies: bool) -> None:
    found = copy_of(now, back_to)
    if copies:
        # as the model spells them: the type's name in capitals, members as written
        before, after = (re.sub(r"^\w+", lambda m: m[0].upper(), x) for x in (now, back_to))
        before, after = before.split(" COLLATE")[0], after.split(" COLLATE")[0]
        assert found == [("warning", "t.v", f"changing t.v from {before} to {after} {COPIES}")]
    else:
        assert found == []


def test_a_changed_collation_copies_the_table() -> None:
    expected = [("warning", "t.v", f"changing the collation of t.v {COPIES}")]
    assert copy_of("varchar(10)", "varchar(10) COLLATE utf8mb4_bin") == expected
    assert copy_of("varchar(10) COLLATE utf8mb4_bin", "varchar(10)") == expected
    assert copy_of("varchar(9)", "varchar(9) BINARY") == expected
    assert copy_of("varchar(9) BINARY", "varchar(9)") == expected
    # the same type, nullability only: in place
    assert copy_of("varchar(10) NOT NULL", "varchar(10)") == []


def test_adding_a_stored_generated_or_auto_increment_column_copies() -> None:
    stored = "CREATE TABLE t (id int PRIMARY KEY, a int, b int AS (a + 1) STORED);"
    assert said("mysql", stored, "ALTER TABLE t DROP COLUMN b;", RULE) == [
        ("warning", "t.b", f"adding the stored generated column t.b {COPIES}")
    ]
    auto = "CREATE TABLE t (id int PRIMARY KEY, n int AUTO_INCREMENT, KEY (n));"
    assert said("mysql", auto, "ALTER TABLE t DROP COLUMN n;", RULE) == [
        ("warning", "t.n", f"adding the AUTO_INCREMENT column t.n {COPIES}")
    ]
    virtual = "CREATE TABLE t (id int PRIMARY KEY, a int, b int AS (a + 1) VIRTUAL);"
    assert said("mysql", virtual, "ALTER TABLE t DROP COLUMN b;", RULE) == []
    assert said("mysql", col("int"), "ALTER TABLE t ADD COLUMN w int;", RULE) == []


def test_adding_or_dropping_the_primary_key_copies() -> None:
    assert said(
        "mysql", "CREATE TABLE t (id int NOT NULL);", "ALTER TABLE t ADD PRIMARY KEY (id);", RULE
    ) == [("warning", "t.PRIMARY", f"dropping the primary key of t {COPIES}")]
    events = "CREATE TABLE t (id int NOT NULL, CONSTRAINT t_pkey PRIMARY KEY (id));"
    assert said("mysql", events, "ALTER TABLE t DROP PRIMARY KEY;", RULE) == [
        ("warning", "t.t_pkey", f"adding the primary key of t {COPIES}")
    ]
    unique = "CREATE TABLE t (id int, v int, CONSTRAINT u UNIQUE (v));"
    assert said("mysql", unique, "ALTER TABLE t DROP INDEX u;", RULE) == []


def test_building_a_fulltext_or_spatial_index_copies() -> None:
    fulltext = "CREATE TABLE t (id int PRIMARY KEY, body text, FULLTEXT INDEX ft (body));"
    assert said("mysql", fulltext, "DROP INDEX ft ON t;", RULE) == [
        ("warning", "ft", f"building the FULLTEXT index ft {COPIES}")
    ]
    spatial = "CREATE TABLE t (id int PRIMARY KEY, g geometry NOT NULL, SPATIAL INDEX sp (g));"
    assert said("mysql", spatial, "DROP INDEX sp ON t;", RULE) == [
        ("warning", "sp", f"building the SPATIAL index sp {COPIES}")
    ]
    plain = "CREATE TABLE t (id int PRIMARY KEY, v int, INDEX i (v));"
    assert said("mysql", plain, "DROP INDEX i ON t;", RULE) == []


def test_only_mysql_copies_and_never_a_table_the_down_created() -> None:
    assert said("postgres", col("bigint"), "ALTER TABLE t ALTER COLUMN v TYPE int;", RULE) == []
    t = QName("t")
    table = Table(t, (Column("id", "INT"), Column("v", "BIGINT")))
    changes = [
        CreateTable(table),
        AlterColumn(t, Column("v", "BIGINT"), Column("v", "INT")),
        AddColumn(t, Column("n", "INT", auto=AutoKind.AUTO_INCREMENT)),
        CreateIndex(Index("ft", t, ("v",), kind="FULLTEXT")),
    ]
    found = assess(changes, Schema(Dialect.MYSQL)).findings()
    assert [f for f in found if f.rule == RULE] == []
