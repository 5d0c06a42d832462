"""What a SQLite table rebuild copies, and which new NOT NULL columns it has no value for,
run on the engine with rows in the table."""

from __future__ import annotations

import pytest

from bot.core import changes as ch
from bot.core.down import down_between
from bot.core.model import AutoKind, Column, Dialect, PrimaryKey, QName, Schema, Table, qkey
from bot.core.render.sqlite import Gap, render, render_with_gaps
from bot.core.replay import Migration
from bot.engines import EngineError, ScratchServer
from tests.core.render.test_sqlite import (
    BASE,
    BASE_ROWS,
    BASE_SQL,
    NOTE,
    SQLITE,
    Case,
    T,
    fresh,
    prove,
    schema,
)

LOG = Table(QName("log"), (Column("at", "TEXT"), Column("what", "TEXT")))
LOG_SQL = "CREATE TABLE log (at TEXT, what TEXT)"
LOG_ROWS = "INSERT INTO log VALUES ('1', 'a'), ('2', 'b')"

REBUILT: dict[str, Case] = {
    "a column renamed and retyped by one change keeps its values": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AlterColumn(T, NOTE, Column("remark", "BLOB"))],
        [BASE_SQL.replace("note TEXT", "remark BLOB")],
        rows={"SELECT id, remark FROM t": [(1, None), (2, "x")]},
        rebuilds=1,
    ),
    "a column added by the rebuild, then renamed and retyped in it": Case(
        [BASE_SQL],
        schema(BASE),
        [
            ch.AddColumn(T, Column("extra", "TEXT"), first=True),
            ch.AlterColumn(T, Column("extra", "TEXT"), Column("more", "BLOB")),
        ],
        [BASE_SQL.replace("(id", "(more BLOB, id")],
        rows={"SELECT * FROM t": [(None, 1, "a", 5, None), (None, 2, "b", None, "x")]},
        rebuilds=1,
    ),
    "a column added by the rebuild, then renamed in it": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AddColumn(T, Column("extra", "TEXT"), first=True), ch.RenameColumn(T, "extra", "more")],
        [BASE_SQL.replace("(id", "(more TEXT, id")],
        rows={"SELECT * FROM t": [(None, 1, "a", 5, None), (None, 2, "b", None, "x")]},
        rebuilds=1,
    ),
}


@pytest.mark.parametrize("case", REBUILT.values(), ids=REBUILT.keys())
def test_a_rebuild_copies_each_column_from_where_it_was(
    sqlite_server: ScratchServer, case: Case
) -> None:
    prove(sqlite_server, case)


def test_a_new_integer_primary_key_is_no_gap_the_rowid_fills_it(
    sqlite_server: ScratchServer,
) -> None:
    changes: list[ch.Change] = [
        ch.AddColumn(LOG.name, Column("id", "integer", nullable=False), first=True),
        ch.AddConstraint(LOG.name, PrimaryKey(None, ("id",))),
    ]
    statements, gaps = render_with_gaps(changes, schema(LOG))
    assert gaps == []
    db = fresh(sqlite_server, [LOG_SQL, LOG_ROWS])
    db.execute([s.sql for s in statements])
    assert sorted(db.rows("log")) == [(1, "1", "a"), (2, "2", "b")]


def test_a_new_not_null_integer_outside_the_primary_key_is_a_gap(
    sqlite_server: ScratchServer,
) -> None:
    changes: list[ch.Change] = [ch.AddColumn(T, Column("n", "INTEGER", nullable=False), first=True)]
    statements, gaps = render_with_gaps(changes, schema(BASE))
    assert gaps == [Gap("t.n")]
    db = fresh(sqlite_server, [BASE_SQL, BASE_ROWS])
    with pytest.raises(EngineError, match="NOT NULL constraint failed"):
        db.execute([s.sql for s in statements])


def test_a_table_of_an_attached_database_is_rebuilt_in_that_database(
    sqlite_server: ScratchServer,
) -> None:
    """The temporary table, the copy of the AUTOINCREMENT mark and the rename all stay in
    `aux`: built in main, the table would move there and its ids start over."""
    name = QName("t", "aux")
    table = Table(
        name,
        (Column("id", "INTEGER", auto=AutoKind.AUTOINCREMENT), Column("note", "TEXT")),
        PrimaryKey(None, ("id",)),
    )
    before = Schema(SQLITE, tables={qkey(name, SQLITE): table})
    change = ch.AlterColumn(name, table.columns[1], Column("note", "BLOB"))
    assert [s.sql for s in render([change], before)] == [
        "PRAGMA foreign_keys=OFF",
        "BEGIN",
        "CREATE TABLE aux._rp_new_t (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  note BLOB\n)",
        "INSERT INTO aux.sqlite_sequence (name, seq) SELECT '_rp_new_t', seq"
        " FROM aux.sqlite_sequence WHERE name = 't' COLLATE NOCASE",
        "INSERT INTO aux._rp_new_t (id, note) SELECT id, note FROM aux.t",
        "DROP TABLE aux.t",
        "ALTER TABLE aux._rp_new_t RENAME TO t",
        "PRAGMA foreign_key_check",
        "COMMIT",
        "PRAGMA foreign_keys=ON",
    ]
    db = fresh(
        sqlite_server,
        [
            "ATTACH DATABASE ':memory:' AS aux",
            "CREATE TABLE aux.t (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT)",
            "INSERT INTO aux.t (note) VALUES ('a'), ('b'), ('c')",
            "DELETE FROM aux.t WHERE id = 3",
        ],
    )
    db.execute([s.sql for s in render([change], before)])
    db.execute(["INSERT INTO aux.t (note) VALUES ('d')"])
    assert db.query("SELECT id, note FROM aux.t ORDER BY id") == [(1, "a"), (2, "b"), (4, "d")]
    assert db.query("SELECT name FROM main.sqlite_master") == []


PLAIN_SQL = "CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT)"
AUTO_SQL = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n TEXT)"


def test_a_down_that_brings_back_autoincrement_rebuilds_the_table(
    sqlite_server: ScratchServer,
) -> None:
    """The history edited to drop AUTOINCREMENT: the diff's down puts it back by a rebuild
    that keeps the rows (it was refused as "AUTOINCREMENT needs its table's primary key")."""
    down = down_between(
        [Migration("001.sql", PLAIN_SQL + ";\n")],
        [Migration("001.sql", AUTO_SQL + ";\n")],
        Dialect.SQLITE,
    )
    assert down.complete
    db = fresh(sqlite_server, [PLAIN_SQL, "INSERT INTO t VALUES (1, 'a'), (5, 'b')"])
    db.execute([s.sql for s in down.statements])
    assert db.catalog().diff(fresh(sqlite_server, [AUTO_SQL]).catalog(), column_order=True) == []
    db.execute(["INSERT INTO t (n) VALUES ('c')"])
    assert db.query("SELECT id, n FROM t ORDER BY id") == [(1, "a"), (5, "b"), (6, "c")]
