"""The exact MySQL/MariaDB script: AUTO_INCREMENT taken off and put back around its key
(through renames of its column and table), foreign keys that lose their index, one restatement
per column run, moved columns, and columns re-created into or out of VIRTUAL.

Each script is compared as text; the first ones also run on MariaDB.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core import changes as ch
from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Dialect,
    EnumType,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Schema,
    Table,
    Unique,
    qkey,
)
from bot.core.render.mysql import render
from bot.engines import ScratchDatabase

MY = Dialect.MYSQL
T = QName("t")
ID = Column("Id", "INT", nullable=False, auto=AutoKind.AUTO_INCREMENT)
N = Column("n", "INT")


def schema(*tables: Table) -> Schema:
    return Schema(MY, tables={qkey(t.name, MY): t for t in tables})


def sql(changes: list[ch.Change], *tables: Table) -> list[str]:
    return [s.sql for s in render(changes, schema(*tables))]


# -- AUTO_INCREMENT and its key ----------------------------------------------------------------


def test_auto_increment_comes_off_before_its_key_goes_and_back_after_it_returns(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    table = Table(T, (N, ID), primary_key=PrimaryKey(None, ("Id",)))
    pk = PrimaryKey(None, ("Id",))
    index = Index("t_n", T, (IndexPart("n"),))
    written = sql([ch.DropConstraint(T, pk), ch.AddConstraint(T, pk), ch.CreateIndex(index)], table)
    assert written == [
        "ALTER TABLE t MODIFY COLUMN Id INT NOT NULL, DROP PRIMARY KEY",
        "ALTER TABLE t ADD PRIMARY KEY (Id), MODIFY COLUMN Id INT NOT NULL AUTO_INCREMENT",
        "CREATE INDEX t_n ON t (n)",
    ]
    db = engine_db("mysql")
    db.execute(["CREATE TABLE t (n INT, Id INT NOT NULL AUTO_INCREMENT PRIMARY KEY)"])
    db.execute(written)
    db.execute(["INSERT INTO t (n) VALUES (1)"])
    assert db.rows("t") == [(1, 1)]


def test_auto_increment_follows_its_column_and_table_through_renames() -> None:
    table = Table(T, (N, ID), primary_key=PrimaryKey(None, ("Id",)))
    written = sql(
        [
            ch.DropConstraint(T, PrimaryKey(None, ("Id",))),
            ch.RenameColumn(T, "id", "Key"),
            ch.RenameTable(T, QName("U")),
            ch.AddConstraint(QName("U"), PrimaryKey(None, ("Key",))),
        ],
        table,
    )
    assert written == [
        "ALTER TABLE t MODIFY COLUMN Id INT NOT NULL, DROP PRIMARY KEY",
        "ALTER TABLE t RENAME COLUMN id TO `Key`",
        "RENAME TABLE t TO U",
        "ALTER TABLE U ADD PRIMARY KEY (`Key`), MODIFY COLUMN `Key` INT NOT NULL AUTO_INCREMENT",
    ]


def test_a_model_column_without_its_key_gets_auto_increment_when_an_index_comes() -> None:
    keyless = Table(T, (N, ID))
    index = Index("t_id", T, (IndexPart("Id"),))
    assert sql([ch.CreateIndex(index)], keyless) == [
        "ALTER TABLE t ADD KEY t_id (Id), MODIFY COLUMN Id INT NOT NULL AUTO_INCREMENT"
    ]
    keyed = Table(T, (N, ID), indexes=(index,))
    assert sql([ch.DropIndex(index)], keyed) == [
        "ALTER TABLE t MODIFY COLUMN Id INT NOT NULL, DROP INDEX t_id"
    ]


def test_a_dropped_table_forgets_its_columns_not_the_others() -> None:
    other = Table(QName("o"), (ID,))
    keyless = Table(T, (ID,))
    assert sql(
        [ch.DropTable(keyless), ch.AddConstraint(other.name, PrimaryKey(None, ("Id",)))],
        keyless,
        other,
    ) == [
        "DROP TABLE t",
        "ALTER TABLE o ADD PRIMARY KEY (Id), MODIFY COLUMN Id INT NOT NULL AUTO_INCREMENT",
    ]


# -- foreign keys and the index behind them ----------------------------------------------------

PARENT = Table(QName("parent"), (Column("id", "INT", nullable=False),), PrimaryKey(None, ("id",)))
FK = ForeignKey("child_parent", ("pid",), PARENT.name, ("id",))


def child(**keys: object) -> Table:
    return Table(
        QName("child"),
        (Column("id", "INT", nullable=False), Column("pid", "INT")),
        foreign_keys=(FK,),
        **keys,  # type: ignore[arg-type]
    )


def test_dropping_the_index_a_foreign_key_uses_drops_and_re_adds_the_key() -> None:
    index = Index("child_pid", QName("child"), (IndexPart("pid"),))
    assert sql([ch.DropIndex(index)], PARENT, child(indexes=(index,))) == [
        "ALTER TABLE child DROP FOREIGN KEY child_parent",
        "ALTER TABLE child DROP INDEX child_pid,"
        " ADD CONSTRAINT child_parent FOREIGN KEY (pid) REFERENCES parent (id)",
    ]


def test_a_foreign_key_without_an_index_of_ours_takes_the_engines_along() -> None:
    keyed = child(primary_key=PrimaryKey(None, ("id",)))
    assert sql([ch.DropConstraint(keyed.name, FK)], PARENT, keyed) == [
        "ALTER TABLE child DROP FOREIGN KEY child_parent, DROP INDEX child_parent"
    ]
    led = child(primary_key=PrimaryKey(None, ("pid", "id")))
    assert sql([ch.DropConstraint(led.name, FK)], PARENT, led) == [
        "ALTER TABLE child DROP FOREIGN KEY child_parent"
    ]


# -- one restatement per column run ------------------------------------------------------------

A = Column("a", "INT")
C = Column("c", "INT")
BASE = Table(T, (A,))


def test_a_column_added_with_its_own_check_is_one_add() -> None:
    own = Check("c", "c > 0", "c")
    for where, tail in (({"first": True}, " FIRST"), ({"after": "a"}, " AFTER a")):
        written = render(
            [ch.AddColumn(T, C, **where), ch.AddConstraint(T, own)],
            schema(BASE),
        )
        assert [(s.sql, s.change) for s in written] == [
            (f"ALTER TABLE t ADD COLUMN c INT CHECK (c > 0){tail}", "add_constraint")
        ]


def test_a_column_added_then_renamed_or_dropped_is_written_step_by_step() -> None:
    assert sql([ch.AddColumn(T, C, first=True), ch.RenameColumn(T, "c", "d")], BASE) == [
        "ALTER TABLE t ADD COLUMN c INT FIRST",
        "ALTER TABLE t RENAME COLUMN c TO d",
    ]
    assert sql([ch.AddColumn(T, C), ch.DropColumn(T, C)], BASE) == [
        "ALTER TABLE t ADD COLUMN c INT",
        "ALTER TABLE t DROP COLUMN c",
    ]


def test_a_check_changed_on_a_column_then_dropped_is_the_drop() -> None:
    table = Table(T, (A, C), checks=(Check("c", "c > 0", "c"),))
    written = render(
        [
            ch.DropConstraint(T, table.checks[0]),
            ch.AddConstraint(T, Check("c", "c > 1", "c")),
            ch.DropColumn(T, C),
        ],
        schema(table),
    )
    assert [(s.sql, s.change) for s in written] == [("ALTER TABLE t DROP COLUMN c", "drop_column")]


def test_checks_named_after_no_column_are_table_checks() -> None:
    check = Check("t_pos", "a > 0")
    assert sql([ch.AddConstraint(T, check), ch.DropConstraint(T, check)], BASE) == [
        "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0)",
        "ALTER TABLE t DROP CONSTRAINT t_pos",
    ]


def test_a_column_check_dropped_restates_the_column_without_it() -> None:
    table = Table(T, (A, C), checks=(Check("c", "c > 0", "c"),))
    assert sql([ch.DropConstraint(T, table.checks[0])], table) == [
        "ALTER TABLE t MODIFY COLUMN c INT"
    ]


def test_an_auto_increment_column_retyped_and_renamed_is_one_change_keeping_it() -> None:
    table = Table(T, (ID,), primary_key=PrimaryKey(None, ("Id",)))
    wide = Column("Id", "BIGINT", nullable=False, auto=AutoKind.AUTO_INCREMENT)
    assert sql([ch.AlterColumn(T, ID, wide), ch.RenameColumn(T, "Id", "Key")], table) == [
        "ALTER TABLE t CHANGE COLUMN Id `Key` BIGINT NOT NULL AUTO_INCREMENT"
    ]


def test_a_column_retyped_with_its_check_re_added_is_one_modify() -> None:
    table = Table(T, (A, C), checks=(Check("c", "c > 0", "c"),))
    wide = Column("c", "BIGINT")
    assert sql(
        [
            ch.DropConstraint(T, table.checks[0]),
            ch.AlterColumn(T, C, wide),
            ch.AddConstraint(T, Check("c", "c > 1", "c")),
        ],
        table,
    ) == ["ALTER TABLE t MODIFY COLUMN c BIGINT CHECK (c > 1)"]


def test_a_renamed_column_takes_its_own_check_along() -> None:
    table = Table(T, (A,), checks=(Check("a", "a > 0", "a"),))
    b = Column("b", "BIGINT")
    assert sql([ch.AlterColumn(T, A, b)], table) == [
        "ALTER TABLE t CHANGE COLUMN a b BIGINT CHECK (b > 0)"
    ]


# -- moved columns, odd texts ------------------------------------------------------------------


def test_a_moved_column_keeps_its_check_and_auto_increment() -> None:
    table = Table(
        T, (A, ID, C), primary_key=PrimaryKey(None, ("Id",)), checks=(Check("c", "c > 0", "c"),)
    )
    assert sql(
        [
            ch.MoveColumn(T, "Id", None, True, "a", False),
            ch.MoveColumn(T, "c", "a", False, "Id", False),
        ],
        table,
    ) == [
        "ALTER TABLE t MODIFY COLUMN Id INT NOT NULL AUTO_INCREMENT FIRST",
        "ALTER TABLE t MODIFY COLUMN c INT CHECK (c > 0) AFTER a",
    ]


def test_backslashes_in_comments_are_doubled() -> None:
    table = Table(T, (A,), comment="C:\\data")
    assert sql(
        [ch.CreateTable(table)],
    ) == ["CREATE TABLE t (\n  a INT\n) COMMENT='C:\\\\data'"]
    assert sql([ch.SetTableComment(T, None, "a\\b")], BASE) == ["ALTER TABLE t COMMENT = 'a\\\\b'"]
    noted = Column("a", "INT", comment="x\\y")
    assert sql([ch.AlterColumn(T, A, noted)], BASE) == [
        "ALTER TABLE t MODIFY COLUMN a INT COMMENT 'x\\\\y'"
    ]


def test_unnamed_unique_keys_unique_indexes_and_methods() -> None:
    table = Table(T, (A,), uniques=(Unique(None, ("a",)),))
    assert sql([ch.CreateTable(table)]) == ["CREATE TABLE t (\n  a INT,\n  UNIQUE KEY (a)\n)"]
    index = Index("t_a", T, (IndexPart("a"),), unique=True, method="btree")
    assert sql([ch.CreateIndex(index)], BASE) == ["CREATE UNIQUE INDEX t_a ON t (a) USING BTREE"]


def test_enum_types_are_refused_with_what_they_were() -> None:
    with pytest.raises(ValueError, match=r"MySQL has no enum types \(create_enum mood\)"):
        sql([ch.CreateEnum(EnumType(QName("mood"), ("a",)))])


# -- columns re-created into or out of VIRTUAL --------------------------------------------------


def test_a_first_column_made_virtual_is_re_added_in_place_with_its_keys() -> None:
    b = Column("b", "INT")
    table = Table(
        T,
        (b, A),
        uniques=(Unique("t_b_u", ("b",)),),
        indexes=(Index("t_b", T, (IndexPart("B"),)), Index("t_a", T, (IndexPart("a"),))),
    )
    virtual = Column("b", "INT", generated="a * 2", generated_stored=False)
    assert sql([ch.AlterColumn(T, b, virtual)], table) == [
        "-- t.b: MySQL cannot change a column into or out of VIRTUAL in place;"
        " it is re-created (values recomputed)\n"
        "ALTER TABLE t DROP INDEX t_b_u, DROP INDEX t_b, DROP COLUMN b,"
        " ADD COLUMN b INT GENERATED ALWAYS AS (a * 2) VIRTUAL FIRST,"
        " ADD UNIQUE KEY t_b_u (b), ADD KEY t_b (B)"
    ]


def test_a_virtual_column_made_plain_and_renamed_gets_its_values_copied(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    virtual = Column("b", "INT", generated="a * 2", generated_stored=False)
    table = Table(
        T,
        (Column("a", "INT", nullable=False), virtual),
        primary_key=PrimaryKey(None, ("a",)),
        checks=(Check("c", "c > 0", "c"),),
    )
    plain = Column("c", "INT", nullable=False)
    written = sql([ch.AlterColumn(T, virtual, plain)], table)
    assert written == [
        "ALTER TABLE t RENAME COLUMN b TO c",
        "-- t.c: MySQL cannot change a column into or out of VIRTUAL in place;"
        " it is re-created (values copied)\n"
        "ALTER TABLE t ADD COLUMN c__new INT NOT NULL CHECK (c > 0) AFTER c",
        "UPDATE t SET c__new = c",
        "ALTER TABLE t DROP COLUMN c, RENAME COLUMN c__new TO c",
    ]
    db = engine_db("mysql")
    db.execute(
        [
            "CREATE TABLE t (a INT NOT NULL PRIMARY KEY, b INT AS (a * 2) VIRTUAL)",
            "INSERT INTO t (a) VALUES (1), (2)",
            *written,
        ]
    )
    assert db.rows("t") == [(1, 2), (2, 4)]


def test_a_middle_column_made_virtual_comes_back_after_its_neighbour_with_its_check() -> None:
    c = Column("c", "INT")
    table = Table(T, (A, Column("b", "INT"), c), checks=(Check("c", "c > 0", "c"),))
    virtual = Column("c", "INT", generated="a * 2", generated_stored=False)
    assert sql([ch.AlterColumn(T, c, virtual)], table) == [
        "-- t.c: MySQL cannot change a column into or out of VIRTUAL in place;"
        " it is re-created (values recomputed)\n"
        "ALTER TABLE t DROP COLUMN c,"
        " ADD COLUMN c INT GENERATED ALWAYS AS (a * 2) VIRTUAL CHECK (c > 0) AFTER b"
    ]


def test_an_auto_increment_column_added_before_its_key_gets_it_with_the_key(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    written = sql([ch.AddColumn(T, ID), ch.AddConstraint(T, PrimaryKey(None, ("Id",)))], BASE)
    assert written == [
        "ALTER TABLE t ADD COLUMN Id INT NOT NULL",
        "ALTER TABLE t ADD PRIMARY KEY (Id), MODIFY COLUMN Id INT NOT NULL AUTO_INCREMENT",
    ]
    db = engine_db("mysql")
    db.execute(["CREATE TABLE t (a INT)", *written, "INSERT INTO t (a) VALUES (7)"])
    assert db.rows("t") == [(7, 1)]


def test_a_renamed_table_takes_its_own_columns_along_not_the_others() -> None:
    other = Table(QName("o"), (ID,))
    keyless = Table(T, (ID,))
    assert sql(
        [ch.RenameTable(T, QName("u")), ch.AddConstraint(other.name, PrimaryKey(None, ("Id",)))],
        keyless,
        other,
    ) == [
        "RENAME TABLE t TO u",
        "ALTER TABLE o ADD PRIMARY KEY (Id), MODIFY COLUMN Id INT NOT NULL AUTO_INCREMENT",
    ]


def test_unnamed_constraints_cannot_be_dropped_and_say_which() -> None:
    table = Table(
        T,
        (A, C),
        uniques=(Unique(None, ("a",)),),
        checks=(Check(None, "a > c"),),
        foreign_keys=(ForeignKey(None, ("c",), T, ("a",)),),
    )
    for con, kind in (
        (table.uniques[0], "unique"),
        (table.checks[0], "check"),
        (table.foreign_keys[0], "foreign key"),
    ):
        with pytest.raises(ValueError, match=f"cannot drop an unnamed {kind} constraint on t"):
            sql([ch.DropConstraint(T, con)], table)
    indexed = Table(
        QName("child"),
        (Column("pid", "INT"),),
        foreign_keys=(ForeignKey(None, ("pid",), PARENT.name, ("id",)),),
        indexes=(Index("child_pid", QName("child"), (IndexPart("pid"),)),),
    )
    with pytest.raises(ValueError, match="cannot drop an unnamed foreign key constraint on child"):
        sql([ch.DropIndex(indexed.indexes[0])], PARENT, indexed)


def test_a_foreign_key_named_by_innodb_is_dropped_under_the_renamed_tables_name() -> None:
    fk = ForeignKey("child_ibfk_1", ("pid",), PARENT.name, ("id",))
    table = Table(
        QName("child"),
        (Column("pid", "INT"),),
        foreign_keys=(fk,),
        indexes=(Index("child_pid", QName("child"), (IndexPart("pid"),)),),
    )
    renamed = ForeignKey("kid_ibfk_1", ("pid",), PARENT.name, ("id",))
    assert sql(
        [ch.RenameTable(table.name, QName("kid")), ch.DropConstraint(QName("kid"), renamed)],
        PARENT,
        table,
    ) == ["RENAME TABLE child TO kid", "ALTER TABLE kid DROP FOREIGN KEY kid_ibfk_1"]


# -- indexes InnoDB made for a foreign key, replaced by a later index ----------------------------

REF = QName("ref")
REFS = Table(REF, (Column("id", "VARCHAR(20)", nullable=False),), PrimaryKey(None, ("id",)))
KID = QName("kid")
BY_PID = Index("kid_pid", KID, (IndexPart("pid"),), implicit=True)
BY_OTHER = Index("kid_other", KID, (IndexPart("other"),), implicit=True)
KIDS = Table(
    KID,
    (Column("pid", "VARCHAR(20)"), Column("code", "INT"), Column("other", "VARCHAR(20)")),
    foreign_keys=(
        ForeignKey("kid_pid", ("pid",), REF, ("id",)),
        ForeignKey("kid_other", ("other",), REF, ("id",)),
    ),
    indexes=(BY_PID, BY_OTHER),
)


def kid_sql(changes: list[ch.Change], kids: Table = KIDS) -> list[str]:
    return sql(changes, REFS, kids)


def test_indexes_innodb_dropped_itself_are_not_dropped_again_but_a_new_one_of_the_name_is() -> None:
    again = Index("kid_pid", KID, (IndexPart("pid"),))
    assert kid_sql(
        [
            ch.CreateIndex(Index("i1", KID, (IndexPart("pid"), IndexPart("code")))),
            ch.CreateIndex(Index("i2", KID, (IndexPart("other"),))),
            ch.DropIndex(BY_PID),
            ch.DropIndex(BY_OTHER),
            ch.CreateIndex(again),
            ch.DropIndex(again),
        ]
    ) == [
        "CREATE INDEX i1 ON kid (pid, code)",
        "CREATE INDEX i2 ON kid (other)",
        "CREATE INDEX kid_pid ON kid (pid)",
        "DROP INDEX kid_pid ON kid",
    ]


def test_only_innodb_indexes_on_the_new_indexes_leading_columns_are_replaced() -> None:
    """A prefix or FULLTEXT index can't serve a foreign key; an index of our own stays."""
    for index in (
        Index("i3", KID, (IndexPart("pid", length=5),)),
        Index("i4", KID, (IndexPart("pid"),), kind="FULLTEXT"),
    ):
        written = kid_sql([ch.CreateIndex(index), ch.DropIndex(BY_PID)])
        assert written[-1] == "DROP INDEX kid_pid ON kid", index
    assert kid_sql(
        [ch.CreateIndex(Index("i5", KID, (IndexPart("pid"),))), ch.DropIndex(BY_OTHER)]
    ) == [
        "CREATE INDEX i5 ON kid (pid)",
        "ALTER TABLE kid DROP FOREIGN KEY kid_other",
        "ALTER TABLE kid DROP INDEX kid_other,"
        " ADD CONSTRAINT kid_other FOREIGN KEY (other) REFERENCES ref (id)",
    ]
    own = Index("own", KID, (IndexPart("other"),))
    kids = Table(KID, KIDS.columns, foreign_keys=KIDS.foreign_keys, indexes=(BY_PID, own))
    assert (
        kid_sql(
            [
                ch.CreateIndex(Index("i6", KID, (IndexPart("other"), IndexPart("pid")))),
                ch.DropIndex(own),
            ],
            kids,
        )[-1]
        == "DROP INDEX own ON kid"
    )
