"""The MySQL/MariaDB renderer, proven on a real MariaDB 10.11.

Each case builds the prior state from hand-written SQL (and the matching model values), inserts
rows, runs the rendered changes, and compares the catalog (column order included) with a
database where the expected end state was written by hand; then it renders the reverse changes
and checks that they bring the catalog back to the prior state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

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
    Opaque,
    PrimaryKey,
    QName,
    Schema,
    Sequence,
    Table,
    Unique,
    View,
    qkey,
)
from bot.core.render import Rendered, to_script
from bot.core.render.mysql import render
from bot.core.state import apply_changes
from bot.engines import ScratchDatabase
from bot.engines.scratch import sort_rows

MY = Dialect.MYSQL
T = QName("t")
MakeDb = Callable[[str], ScratchDatabase]


def schema(
    *tables: Table,
    sequences: tuple[Sequence, ...] = (),
    views: tuple[View, ...] = (),
    opaque: tuple[Opaque, ...] = (),
) -> Schema:
    return Schema(
        MY,
        tables={qkey(t.name, MY): t for t in tables},
        views={qkey(v.name, MY): v for v in views},
        sequences={qkey(s.name, MY): s for s in sequences},
        opaque={(o.kind, o.identity): o for o in opaque},
    )


def creation(model: Schema) -> list[ch.Change]:
    """Changes that build `model` from nothing, in creation order."""
    made: list[ch.Change] = [ch.CreateSequence(s) for s in model.sequences.values()]
    made += [ch.CreateTable(t) for t in model.tables.values()]
    made += [ch.CreateView(v) for v in model.views.values()]
    made += [ch.CreateOpaque(o) for o in model.opaque.values()]
    return made


@dataclass
class Case:
    """Changes on a database built by hand, and the end state written by hand."""

    prior: list[str]  # DDL of the state before
    before: Schema  # the same state as model values
    changes: list[ch.Change]
    expected: list[str]  # DDL of the state after
    data: list[str] = field(default_factory=list)  # rows inserted before the changes
    then: list[str] = field(default_factory=list)  # run after the changes, before `rows`
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)  # query -> rows


def fresh(make: MakeDb, statements: list[str]) -> ScratchDatabase:
    """A new database (closed when the test ends) holding `statements`."""
    db = make("mysql")
    db.execute(statements)
    return db


def run(db: ScratchDatabase, statements: list[Rendered]) -> None:
    db.execute([s.sql for s in statements])


def prove(make: MakeDb, case: Case) -> list[Rendered]:
    """Run the case forward and back; assert catalogs (with column order) and rows."""
    prior = fresh(make, case.prior).catalog()
    # the hand-built model must describe the hand-written SQL, or the proof proves nothing
    from_model = fresh(make, [r.sql for r in render(creation(case.before), Schema(MY))])
    assert from_model.catalog().diff(prior, column_order=True) == []

    db = fresh(make, case.prior + case.data)
    statements = render(case.changes, case.before)
    run(db, statements)
    want = fresh(make, case.expected).catalog()
    assert db.catalog().diff(want, column_order=True) == []
    after = apply_changes(case.before, case.changes)
    modelled = fresh(make, [r.sql for r in render(creation(after), Schema(MY))])
    assert modelled.catalog().diff(want, column_order=True) == []

    back = render(ch.reverse_all(case.changes), after)
    if case.then:  # rows added after the changes may not fit the prior state
        reverted = fresh(make, case.prior + case.data)
        run(reverted, statements)
        run(reverted, back)
        assert reverted.catalog().diff(prior, column_order=True) == []
    db.execute(case.then)
    for query, rows in case.rows.items():
        assert sort_rows(db.query(query)) == sort_rows(rows), query
    if not case.then:
        run(db, back)
        assert db.catalog().diff(prior, column_order=True) == []
    return statements


def alter(table: Table, name: str, **changed: Any) -> ch.AlterColumn:
    before = table.column(name, MY)
    assert before is not None
    return ch.AlterColumn(table.name, before, replace(before, **changed))


# -- fixtures of model and SQL ------------------------------------------------------------

PARENT_SQL = "CREATE TABLE parent (id INT PRIMARY KEY)"
PARENT = Table(
    QName("parent"),
    (Column("id", "INT", nullable=False),),
    primary_key=PrimaryKey("PRIMARY", ("id",)),
)

ORDERS = Table(
    QName("orders"),
    (
        Column("id", "BIGINT UNSIGNED", nullable=False, auto=AutoKind.AUTO_INCREMENT),
        Column("code", "VARCHAR(20)", nullable=False, default="'x'", collation="utf8mb4_bin"),
        Column("status", "ENUM('new', 'done')", default="'new'"),
        Column(
            "updated",
            "TIMESTAMP",
            nullable=False,
            default="CURRENT_TIMESTAMP",
            on_update="CURRENT_TIMESTAMP",
        ),
        Column("total", "DECIMAL(10, 2)", default="0", comment="in cents"),
        Column("doubled", "DECIMAL(12, 2)", generated="total * 2"),
        Column("parent_id", "INT"),
        Column("order", "INT"),
        Column("note", "TEXT"),
    ),
    primary_key=PrimaryKey("PRIMARY", ("id",)),
    uniques=(Unique("orders_code", ("code",)),),
    checks=(Check("orders_total", "total >= 0"),),
    foreign_keys=(
        ForeignKey("orders_parent", ("parent_id",), QName("parent"), ("id",), on_delete="CASCADE"),
    ),
    indexes=(
        Index(
            "orders_multi",
            QName("orders"),
            (IndexPart("code", length=5, desc=True), IndexPart("order")),
            method="btree",
        ),
        Index("orders_note", QName("orders"), (IndexPart("note"),), kind="FULLTEXT"),
    ),
    comment="all orders",
)
ORDERS_SQL = """CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code VARCHAR(20) COLLATE utf8mb4_bin NOT NULL DEFAULT 'x',
  status ENUM('new', 'done') DEFAULT 'new',
  updated TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  total DECIMAL(10, 2) DEFAULT 0 COMMENT 'in cents',
  doubled DECIMAL(12, 2) AS (total * 2) PERSISTENT,
  parent_id INT,
  `order` INT,
  note TEXT,
  UNIQUE KEY orders_code (code),
  CONSTRAINT orders_total CHECK (total >= 0),
  CONSTRAINT orders_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE,
  KEY orders_multi (code(5) DESC, `order`) USING BTREE,
  FULLTEXT KEY orders_note (note)
) COMMENT 'all orders'"""

# A small table most cases start from.
BASE_SQL = "CREATE TABLE t (id INT NOT NULL, name VARCHAR(50) NOT NULL, score INT DEFAULT 0)"
BASE = Table(
    T,
    (
        Column("id", "INT", nullable=False),
        Column("name", "VARCHAR(50)", nullable=False),
        Column("score", "INT", default="0"),
    ),
)
BASE_ROWS = "INSERT INTO t VALUES (1, 'a', 5), (2, 'b', NULL)"
CHECKED_SQL = BASE_SQL.replace("score INT DEFAULT 0", "score INT DEFAULT 0 CHECK (score >= 0)")
CHECKED = replace(BASE, checks=(Check("score", "score >= 0", "score"),))

KEYED_SQL = "CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(50), KEY t_id (id))"
KEYED = Table(
    T,
    (
        Column("id", "INT", nullable=False, auto=AutoKind.AUTO_INCREMENT),
        Column("name", "VARCHAR(50)"),
    ),
    indexes=(Index("t_id", T, (IndexPart("id"),)),),
)

CONSTRAINED_SQL = "CREATE TABLE t (id INT NOT NULL, code VARCHAR(10), parent INT, qty INT)"
CONSTRAINED = Table(
    T,
    (
        Column("id", "INT", nullable=False),
        Column("code", "VARCHAR(10)"),
        Column("parent", "INT"),
        Column("qty", "INT"),
    ),
)

VIEW = View(QName("named"), "SELECT id, name FROM t WHERE id > 0", columns=("ident", "label"))
VIEW_SQL = "CREATE VIEW named (ident, label) AS SELECT id, name FROM t WHERE id > 0"

TOUCH = Opaque(
    "function",
    "touch",
    "CREATE FUNCTION touch() RETURNS INT DETERMINISTIC RETURN 1",
    "DROP FUNCTION touch",
)
TOUCH_2 = replace(TOUCH, definition=TOUCH.definition.replace("RETURN 1", "RETURN 2"))

CASES: dict[str, Case] = {
    # -- tables --------------------------------------------------------------------------------
    "create table with every column and key kind": Case(
        [PARENT_SQL],
        schema(PARENT),
        [ch.CreateTable(ORDERS)],
        [PARENT_SQL, ORDERS_SQL],
    ),
    "drop table": Case(
        [PARENT_SQL, ORDERS_SQL],
        schema(PARENT, ORDERS),
        [ch.DropTable(ORDERS)],
        [PARENT_SQL],
    ),
    "rename table keeps rows": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.RenameTable(T, QName("people"))],
        [BASE_SQL.replace("TABLE t", "TABLE people")],
        data=[BASE_ROWS],
        rows={"SELECT * FROM people": [(1, "a", 5), (2, "b", None)]},
    ),
    "set and clear table comment": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.SetTableComment(T, None, "it's \\new")],
        [BASE_SQL + " COMMENT 'it''s \\\\new'"],
    ),
    # -- columns -------------------------------------------------------------------------------
    "add columns first, after another and at the end": Case(
        [BASE_SQL],
        schema(BASE),
        [
            ch.AddColumn(T, Column("pos", "INT", nullable=False, default="9"), first=True),
            ch.AddColumn(T, Column("note", "TEXT", comment="why"), after="id"),
            ch.AddColumn(T, Column("tail", "DATE")),
        ],
        [
            """CREATE TABLE t (pos INT NOT NULL DEFAULT 9, id INT NOT NULL, note TEXT COMMENT 'why',
                 name VARCHAR(50) NOT NULL, score INT DEFAULT 0, tail DATE)"""
        ],
        data=[BASE_ROWS],
        rows={"SELECT pos, id, note, tail FROM t": [(9, 1, None, None), (9, 2, None, None)]},
    ),
    "drop column from the middle (comes back in place)": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.DropColumn(T, BASE.columns[1], after="id")],
        ["CREATE TABLE t (id INT NOT NULL, score INT DEFAULT 0)"],
        data=[BASE_ROWS],
        rows={"SELECT * FROM t": [(1, 5), (2, None)]},
    ),
    "rename reserved-word column keeps rows": Case(
        ["CREATE TABLE t (id INT, `order` INT)"],
        schema(Table(T, (Column("id", "INT"), Column("order", "INT")))),
        [ch.RenameColumn(T, "order", "user")],
        ["CREATE TABLE t (id INT, `user` INT)"],
        data=["INSERT INTO t VALUES (1, 7)"],
        rows={"SELECT `user` FROM t": [(7,)]},
    ),
    "modify keeps position and values": Case(
        [BASE_SQL],
        schema(BASE),
        [
            alter(BASE, "id", type="BIGINT", comment="the id"),
            alter(BASE, "name", nullable=True, collation="utf8mb4_bin"),
            alter(BASE, "score", nullable=False, default="1"),
        ],
        [
            """CREATE TABLE t (id BIGINT NOT NULL COMMENT 'the id',
                 name VARCHAR(50) COLLATE utf8mb4_bin, score INT NOT NULL DEFAULT 1)"""
        ],
        data=["INSERT INTO t VALUES (1, 'a', 5), (2, 'b', 6)"],
        then=["INSERT INTO t (id) VALUES (9000000000)"],
        rows={"SELECT * FROM t": [(1, "a", 5), (2, "b", 6), (9000000000, None, 1)]},
    ),
    "modify adds on update and generated expression": Case(
        ["CREATE TABLE t (a INT, changed TIMESTAMP NULL, twice INT AS (a * 2) VIRTUAL)"],
        schema(
            Table(
                T,
                (
                    Column("a", "INT"),
                    Column("changed", "TIMESTAMP"),
                    Column("twice", "INT", generated="a * 2", generated_stored=False),
                ),
            )
        ),
        [
            ch.AlterColumn(
                T,
                Column("changed", "TIMESTAMP"),
                Column(
                    "changed",
                    "TIMESTAMP",
                    nullable=False,
                    default="CURRENT_TIMESTAMP",
                    on_update="CURRENT_TIMESTAMP",
                ),
            ),
            ch.AlterColumn(
                T,
                Column("twice", "INT", generated="a * 2", generated_stored=False),
                Column("twice", "INT", generated="a * 3", generated_stored=True),
            ),
        ],
        [
            """CREATE TABLE t (a INT,
                 changed TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
                 twice INT AS (a * 3) STORED)"""
        ],
        data=["INSERT INTO t (a, changed) VALUES (2, '2020-01-01 00:00:00')"],
        rows={"SELECT a, twice FROM t": [(2, 6)]},
    ),
    "generation into and out of VIRTUAL re-creates the column in place with its keys": Case(
        [
            """CREATE TABLE g (a INT, v INT AS (a * 3) VIRTUAL, p INT NOT NULL, z INT,
                 KEY g_v (v), KEY g_av (a, v), UNIQUE KEY g_p (p))"""
        ],
        schema(
            Table(
                QName("g"),
                (
                    Column("a", "INT"),
                    Column("v", "INT", generated="a * 3", generated_stored=False),
                    Column("p", "INT", nullable=False),
                    Column("z", "INT"),
                ),
                uniques=(Unique("g_p", ("p",)),),
                indexes=(
                    Index("g_v", QName("g"), (IndexPart("v"),)),
                    Index("g_av", QName("g"), (IndexPart("a"), IndexPart("v"))),
                ),
            )
        ),
        [
            ch.AlterColumn(
                QName("g"),
                Column("v", "INT", generated="a * 3", generated_stored=False),
                Column("v", "INT", nullable=False, comment="kept"),
            ),
            ch.AlterColumn(
                QName("g"),
                Column("p", "INT", nullable=False),
                Column("p", "INT", generated="a + 1", generated_stored=False),
            ),
        ],
        [
            """CREATE TABLE g (a INT, v INT NOT NULL COMMENT 'kept', p INT AS (a + 1) VIRTUAL,
                 z INT, KEY g_v (v), KEY g_av (a, v), UNIQUE KEY g_p (p))"""
        ],
        data=["INSERT INTO g (a, p) VALUES (1, 10), (2, 20)"],
        rows={"SELECT a, v, p FROM g": [(1, 3, 2), (2, 6, 3)]},
    ),
    # -- AUTO_INCREMENT ------------------------------------------------------------------------
    "add auto-increment column, then its key: rows get numbers": Case(
        [BASE_SQL],
        schema(BASE),
        [
            ch.AddColumn(
                T, Column("seq", "INT", nullable=False, auto=AutoKind.AUTO_INCREMENT), first=True
            ),
            ch.AddConstraint(T, PrimaryKey("PRIMARY", ("seq",))),
        ],
        [
            """CREATE TABLE t (seq INT NOT NULL AUTO_INCREMENT PRIMARY KEY, id INT NOT NULL,
                 name VARCHAR(50) NOT NULL, score INT DEFAULT 0)"""
        ],
        data=[BASE_ROWS],
        rows={"SELECT seq, id FROM t": [(1, 1), (2, 2)]},
    ),
    "drop the only key of an auto-increment column, then the increment": Case(
        [KEYED_SQL],
        schema(KEYED),
        [ch.DropIndex(KEYED.indexes[0]), alter(KEYED, "id", auto=None)],
        ["CREATE TABLE t (id INT NOT NULL, name VARCHAR(50))"],
        data=["INSERT INTO t (name) VALUES ('a'), ('b')"],
        rows={"SELECT * FROM t": [(1, "a"), (2, "b")]},
    ),
    # -- constraints and indexes ---------------------------------------------------------------
    "add every constraint kind": Case(
        [PARENT_SQL, CONSTRAINED_SQL],
        schema(PARENT, CONSTRAINED),
        [
            ch.AddConstraint(T, PrimaryKey("PRIMARY", ("id",))),
            ch.AddConstraint(T, Unique("t_code", ("code", "qty"))),
            ch.AddConstraint(
                T,
                ForeignKey(
                    "t_parent", ("parent",), QName("parent"), ("id",), "SET NULL", "CASCADE"
                ),
            ),
            ch.AddConstraint(T, Check("t_qty", "qty > 0")),
        ],
        [
            PARENT_SQL,
            """CREATE TABLE t (id INT NOT NULL PRIMARY KEY, code VARCHAR(10), parent INT, qty INT,
                 UNIQUE KEY t_code (code, qty),
                 CONSTRAINT t_parent FOREIGN KEY (parent) REFERENCES parent (id)
                   ON DELETE SET NULL ON UPDATE CASCADE,
                 CONSTRAINT t_qty CHECK (qty > 0))""",
        ],
        data=["INSERT INTO parent VALUES (1)", "INSERT INTO t VALUES (1, 'x', 1, 2)"],
        rows={"SELECT * FROM t": [(1, "x", 1, 2)]},
    ),
    "foreign key over an explicit index leaves that index": Case(
        [PARENT_SQL, CONSTRAINED_SQL, "CREATE INDEX t_parent_idx ON t (parent)"],
        schema(
            PARENT,
            replace(CONSTRAINED, indexes=(Index("t_parent_idx", T, (IndexPart("parent"),)),)),
        ),
        [ch.AddConstraint(T, ForeignKey("t_parent", ("parent",), QName("parent"), ("id",)))],
        [
            PARENT_SQL,
            CONSTRAINED_SQL,
            "CREATE INDEX t_parent_idx ON t (parent)",
            "ALTER TABLE t ADD CONSTRAINT t_parent FOREIGN KEY (parent) REFERENCES parent (id)",
        ],
    ),
    "drop the index a foreign key relies on": Case(
        [
            PARENT_SQL,
            """CREATE TABLE t (id INT NOT NULL, code VARCHAR(10), parent INT, qty INT,
                 KEY t_parent_idx (parent, qty),
                 CONSTRAINT t_parent FOREIGN KEY (parent) REFERENCES parent (id))""",
        ],
        schema(
            PARENT,
            replace(
                CONSTRAINED,
                foreign_keys=(ForeignKey("t_parent", ("parent",), QName("parent"), ("id",)),),
                indexes=(Index("t_parent_idx", T, (IndexPart("parent"), IndexPart("qty"))),),
            ),
        ),
        [ch.DropIndex(Index("t_parent_idx", T, (IndexPart("parent"), IndexPart("qty"))))],
        [
            PARENT_SQL,
            """CREATE TABLE t (id INT NOT NULL, code VARCHAR(10), parent INT, qty INT,
                 CONSTRAINT t_parent FOREIGN KEY (parent) REFERENCES parent (id))""",
        ],
    ),
    "create indexes of each kind": Case(
        [CONSTRAINED_SQL.replace("qty INT", "qty INT, body TEXT")],
        schema(replace(CONSTRAINED, columns=(*CONSTRAINED.columns, Column("body", "TEXT")))),
        [
            ch.CreateIndex(
                Index("t_code", T, (IndexPart("code", length=3, desc=True), IndexPart("qty")))
            ),
            ch.CreateIndex(Index("t_uq", T, (IndexPart("parent"),), unique=True, method="BTREE")),
            ch.CreateIndex(Index("t_body", T, (IndexPart("body"),), kind="FULLTEXT")),
        ],
        [
            CONSTRAINED_SQL.replace("qty INT", "qty INT, body TEXT"),
            "CREATE INDEX t_code ON t (code(3) DESC, qty)",
            "CREATE UNIQUE INDEX t_uq ON t (parent) USING BTREE",
            "CREATE FULLTEXT INDEX t_body ON t (body)",
        ],
    ),
    "rename index": Case(
        [KEYED_SQL],
        schema(KEYED),
        [ch.RenameIndex(T, "t_id", "Key")],
        [KEYED_SQL.replace("KEY t_id", "KEY `Key`")],
    ),
    # -- views, sequences, routines ------------------------------------------------------------
    "create view with column names": Case(
        [BASE_SQL], schema(BASE), [ch.CreateView(VIEW)], [BASE_SQL, VIEW_SQL]
    ),
    "replace view with options": Case(
        [BASE_SQL, VIEW_SQL],
        schema(BASE, views=(VIEW,)),
        [
            ch.ReplaceView(
                VIEW,
                View(
                    VIEW.name,
                    "SELECT id FROM t WHERE id > 1",
                    options="ALGORITHM=MERGE SQL SECURITY INVOKER WITH CASCADED CHECK OPTION",
                ),
            )
        ],
        [
            BASE_SQL,
            """CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW named AS
                 SELECT id FROM t WHERE id > 1 WITH CASCADED CHECK OPTION""",
        ],
    ),
    "create sequence": Case(
        [],
        schema(),
        [ch.CreateSequence(Sequence(QName("ticket"), "START WITH 10 INCREMENT BY 2"))],
        ["CREATE SEQUENCE ticket START WITH 10 INCREMENT BY 2"],
    ),
    "alter sequence resets options it no longer sets": Case(
        ["CREATE SEQUENCE ticket START WITH 10 INCREMENT BY 2 CACHE 5 MAXVALUE 99 CYCLE"],
        schema(
            sequences=(
                Sequence(QName("ticket"), "START WITH 10 INCREMENT BY 2 CACHE 5 MAXVALUE 99 CYCLE"),
            )
        ),
        [
            ch.AlterSequence(
                Sequence(QName("ticket"), "START WITH 10 INCREMENT BY 2 CACHE 5 MAXVALUE 99 CYCLE"),
                Sequence(QName("ticket"), "INCREMENT BY 3"),
            )
        ],
        ["CREATE SEQUENCE ticket INCREMENT BY 3"],
    ),
    # MariaDB keeps a column-level CHECK (named after the column) in the column definition:
    # DROP CONSTRAINT can't remove it, and a MODIFY without it drops it.
    "column-level check dropped by restating the column": Case(
        [CHECKED_SQL],
        schema(CHECKED),
        [ch.DropConstraint(T, Check("score", "score >= 0", "score"))],
        [BASE_SQL],
        data=[BASE_ROWS],
        rows={"SELECT * FROM t": [(1, "a", 5), (2, "b", None)]},
    ),
    "column-level check kept by a MODIFY of its column": Case(
        [CHECKED_SQL],
        schema(CHECKED),
        [alter(CHECKED, "score", type="BIGINT", default="1")],
        [BASE_SQL.replace("score INT DEFAULT 0", "score BIGINT DEFAULT 1 CHECK (score >= 0)")],
        data=[BASE_ROWS],
        rows={"SELECT * FROM t": [(1, "a", 5), (2, "b", None)]},
    ),
    "column-level check added to its column": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AddConstraint(T, Check("score", "score >= 0", "score"))],
        [CHECKED_SQL],
        data=[BASE_ROWS],
    ),
    "function created and replaced": Case(
        [],
        schema(),
        [ch.CreateOpaque(TOUCH), ch.ReplaceOpaque(TOUCH, TOUCH_2)],
        [TOUCH_2.definition],
        rows={"SELECT touch()": [(2,)]},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_change_reaches_hand_written_state_and_back(engine_db: MakeDb, case: Case) -> None:
    prove(engine_db, case)


def test_dropping_the_primary_key_of_an_auto_increment_column(engine_db: MakeDb) -> None:
    """MySQL refuses to drop the key an AUTO_INCREMENT column needs; the increment goes in
    the same statement, and comes back with the key."""
    table = Table(
        T,
        (Column("id", "INT", nullable=False, auto=AutoKind.AUTO_INCREMENT), Column("v", "INT")),
        primary_key=PrimaryKey("PRIMARY", ("id",)),
    )
    db = fresh(engine_db, ["CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)"])
    drop: list[ch.Change] = [ch.DropConstraint(T, PrimaryKey("PRIMARY", ("id",)))]
    statements = render(drop, schema(table))
    assert [s.sql for s in statements] == [
        "ALTER TABLE t MODIFY COLUMN id INT NOT NULL, DROP PRIMARY KEY"
    ]
    run(db, statements)
    without = fresh(engine_db, ["CREATE TABLE t (id INT NOT NULL, v INT)"]).catalog()
    assert db.catalog().diff(without) == []
    run(db, render(ch.reverse_all(drop), apply_changes(schema(table), drop)))
    original = fresh(engine_db, ["CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)"])
    assert db.catalog().diff(original.catalog()) == []


def test_dropping_a_foreign_key_drops_the_index_made_for_it(engine_db: MakeDb) -> None:
    fk = ForeignKey("t_parent", ("parent",), QName("parent"), ("id",))
    before = schema(PARENT, replace(CONSTRAINED, foreign_keys=(fk,)))
    db = fresh(
        engine_db,
        [
            PARENT_SQL,
            CONSTRAINED_SQL.replace(
                "qty INT",
                "qty INT, CONSTRAINT t_parent FOREIGN KEY (parent) REFERENCES parent (id)",
            ),
        ],
    )
    statements = render([ch.DropConstraint(T, fk)], before)
    assert [s.sql for s in statements] == [
        "ALTER TABLE t DROP FOREIGN KEY t_parent, DROP INDEX t_parent"
    ]
    run(db, statements)
    assert db.catalog().diff(fresh(engine_db, [PARENT_SQL, CONSTRAINED_SQL]).catalog()) == []


def test_trigger_replaced_by_drop_and_create(engine_db: MakeDb) -> None:
    old = Opaque(
        "trigger",
        "stamp",
        "CREATE TRIGGER stamp BEFORE INSERT ON t FOR EACH ROW SET NEW.score = 1",
        "DROP TRIGGER stamp",
        T,
    )
    new = replace(old, definition=old.definition.replace("= 1", "= 2"))
    db = fresh(engine_db, [BASE_SQL, old.definition])
    run(db, render([ch.ReplaceOpaque(old, new)], schema(BASE, opaque=(old,))))
    assert db.catalog().diff(fresh(engine_db, [BASE_SQL, new.definition]).catalog()) == []


def test_sequence_drop(engine_db: MakeDb) -> None:
    seq = Sequence(QName("ticket"), "START WITH 10")
    db = fresh(engine_db, ["CREATE SEQUENCE ticket START WITH 10"])
    run(db, render([ch.DropSequence(seq)], schema(sequences=(seq,))))
    assert db.catalog().names("sequences") == []


# -- pure: the text itself -------------------------------------------------------------------


def test_reserved_and_odd_names_are_backquoted() -> None:
    table = Table(
        QName("order"),
        (
            Column("user", "INT"),
            Column("key", "INT"),
            Column("Mixed Case", "INT"),
            Column("plain", "INT"),
        ),
        uniques=(Unique("select", ("user",)),),
    )
    sql = to_script(render([ch.CreateTable(table)], schema()))
    assert "CREATE TABLE `order`" in sql
    assert "`user` INT" in sql and "`key` INT" in sql and "`Mixed Case` INT" in sql
    assert "plain INT" in sql and "UNIQUE KEY `select` (`user`)" in sql


def test_functional_index_part_and_prefix() -> None:
    index = Index(
        "t_expr", T, (IndexPart("lower(name)", is_column=False), IndexPart("name", length=4))
    )
    (stmt,) = render([ch.CreateIndex(index)], schema(BASE))
    assert stmt.sql == "CREATE INDEX t_expr ON t ((lower(name)), name(4))"


def test_modify_restates_the_whole_column() -> None:
    """MySQL has no SET NOT NULL: the full definition is restated, comment included."""
    col = Column("name", "VARCHAR(50)", default="'x'", comment="who")
    (stmt,) = render(
        [ch.AlterColumn(T, col, replace(col, nullable=False))],
        schema(replace(BASE, columns=(BASE.columns[0], col, BASE.columns[2]))),
    )
    assert (
        stmt.sql
        == "ALTER TABLE t MODIFY COLUMN name VARCHAR(50) NOT NULL DEFAULT 'x' COMMENT 'who'"
    )


def test_rename_inside_alter_column_uses_change_column() -> None:
    before = Column("score", "INT", default="0")
    (stmt,) = render([ch.AlterColumn(T, before, replace(before, name="points"))], schema(BASE))
    assert stmt.sql == "ALTER TABLE t CHANGE COLUMN score points INT DEFAULT 0"


def test_column_level_check_is_written_inline_and_restated() -> None:
    """CREATE TABLE puts a check named after its column into the column (CHECK goes last,
    after COMMENT); changes to the column restate it."""
    table = replace(
        CHECKED,
        columns=(*BASE.columns[:2], replace(BASE.columns[2], comment="pts")),
        checks=(*CHECKED.checks, Check("t_name", "name <> ''")),
    )
    create, modify = render(
        [ch.CreateTable(table), alter(table, "score", nullable=False)], schema()
    )
    assert "score INT DEFAULT 0 COMMENT 'pts' CHECK (score >= 0)," in create.sql
    assert "CONSTRAINT t_name CHECK (name <> '')" in create.sql
    assert "CONSTRAINT score" not in create.sql
    assert modify.sql == (
        "ALTER TABLE t MODIFY COLUMN score INT NOT NULL DEFAULT 0 COMMENT 'pts' CHECK (score >= 0)"
    )


def test_changes_to_one_column_are_one_restatement(engine_db: MakeDb) -> None:
    """A type change, a rename and a check on the same column are one CHANGE (each MODIFY is a
    table rebuild); the rows survive."""
    statements = prove(
        engine_db,
        Case(
            [CHECKED_SQL],
            schema(CHECKED),
            [
                ch.DropConstraint(T, Check("score", "score >= 0", "score")),
                alter(CHECKED, "score", type="BIGINT"),
                ch.RenameColumn(T, "score", "points"),
                ch.AddConstraint(T, Check("points", "points >= 0", "points")),
            ],
            [
                BASE_SQL.replace(
                    "score INT DEFAULT 0", "points BIGINT DEFAULT 0 CHECK (points >= 0)"
                )
            ],
            data=[BASE_ROWS],
            rows={"SELECT * FROM t": [(1, "a", 5), (2, "b", None)]},
        ),
    )
    assert [(s.sql, s.change) for s in statements] == [
        (
            "ALTER TABLE t CHANGE COLUMN score points BIGINT DEFAULT 0 CHECK (points >= 0)",
            "alter_column",
        )
    ]


def test_changes_to_a_column_that_is_then_dropped_are_skipped() -> None:
    (stmt,) = render(
        [
            alter(CHECKED, "score", nullable=False),
            ch.DropConstraint(T, Check("score", "score >= 0", "score")),
            ch.DropColumn(T, replace(BASE.columns[2], nullable=False)),
        ],
        schema(CHECKED),
    )
    assert stmt.sql == "ALTER TABLE t DROP COLUMN score"


def test_a_lone_rename_stays_a_rename() -> None:
    (stmt,) = render([ch.RenameColumn(T, "score", "points")], schema(BASE))
    assert stmt.sql == "ALTER TABLE t RENAME COLUMN score TO points"


def test_namespace_is_a_database() -> None:
    statements = render([ch.CreateNamespace("reporting"), ch.DropNamespace("reporting")], schema())
    assert [s.sql for s in statements] == ["CREATE SCHEMA reporting", "DROP SCHEMA reporting"]


def test_changes_mysql_cannot_express_say_why() -> None:
    mood = EnumType(QName("mood"), ("a",))
    with pytest.raises(ValueError, match="no enum types"):
        render([ch.AlterEnum(mood, replace(mood, values=("a", "b")))], schema())
    with pytest.raises(ValueError, match="no materialized views"):
        render([ch.CreateView(View(QName("v"), "SELECT 1", materialized=True))], schema())
    with pytest.raises(ValueError, match="partial"):
        render([ch.CreateIndex(Index("i", T, (IndexPart("id"),), where="id > 0"))], schema(BASE))
