"""When the SQLite renderer uses ALTER TABLE and when it must rebuild, proven on the engine.

SQLite refuses DROP COLUMN on a column a key, a CHECK, an index or a view names, and ADD
COLUMN with a non-constant default or a NOT NULL column defaulting to NULL. Each case here is
one SQLite refuses in place: rendered as ALTER TABLE, the down fails on the engine.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import changes as ch
from bot.core.model import (
    Check,
    Column,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Table,
    Unique,
    View,
)
from bot.core.render.sqlite import render
from bot.engines import ScratchServer
from tests.core.render.test_sqlite import BASE, BASE_SQL, NOTE, SCORE, Case, T, prove, schema

# A table whose CHECK names `note` while a generated column, an index, a partial index and
# a view name other columns: every text the drop must look at, the CHECK first.
CHECKED_SQL = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INT DEFAULT 0,"
    " note TEXT, twice INT GENERATED ALWAYS AS (score * 2) VIRTUAL,"
    " CONSTRAINT note_ok CHECK (note <> ''))"
)
NOTE_OK = Check("note_ok", "note <> ''")
TWICE = Column("twice", "INT", generated="score * 2", generated_stored=False)
CHECKED = replace(
    BASE,
    columns=(*BASE.columns, TWICE),
    checks=(NOTE_OK,),
    indexes=(
        Index("t_name", T, (IndexPart("name"),)),
        Index("t_scored", T, (IndexPart("score"),), where="score > 0"),
    ),
)
CHECKED_EXTRA = [
    "CREATE INDEX t_name ON t (name)",
    "CREATE INDEX t_scored ON t (score) WHERE score > 0",
    "CREATE VIEW v AS SELECT id FROM t",
]
AFTER_SQL = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INT DEFAULT 0,"
    " twice INT GENERATED ALWAYS AS (score * 2) VIRTUAL)"
)
PARTIAL_SQL = "CREATE INDEX t_noted ON t (name) WHERE note IS NOT NULL"
PARTIAL = Index("t_noted", T, (IndexPart("name"),), where="note IS NOT NULL")
CODE_SQL = "CREATE TABLE k (code TEXT PRIMARY KEY, note TEXT)"
K = QName("k")
CODES = Table(K, (Column("code", "TEXT"), Column("note", "TEXT")), PrimaryKey(None, ("code",)))

REBUILT: dict[str, Case] = {
    "a UNIQUE column dropped before its constraint": Case(
        [BASE_SQL.replace("note TEXT", "note TEXT UNIQUE")],
        schema(replace(BASE, uniques=(Unique(None, ("note",)),))),
        [ch.DropColumn(T, NOTE), ch.DropConstraint(T, Unique(None, ("note",)))],
        [BASE_SQL.replace(", note TEXT", "")],
        rows={"SELECT * FROM t": [(1, "a", 5), (2, "b", None)]},
        rebuilds=1,
    ),
    "the primary key column dropped before its key": Case(
        [CODE_SQL],
        schema(CODES),
        [ch.DropColumn(K, CODES.columns[0]), ch.DropConstraint(K, PrimaryKey(None, ("code",)))],
        ["CREATE TABLE k (note TEXT)"],
        data=["INSERT INTO k VALUES ('a', 'x'), ('b', NULL)"],
        rows={"SELECT * FROM k": [("x",), (None,)]},
        rebuilds=1,
    ),
    "a column a CHECK names, next to generated columns, indexes and views": Case(
        [CHECKED_SQL, *CHECKED_EXTRA],
        schema(CHECKED, views=(View(QName("v"), "SELECT id FROM t"),)),
        [ch.DropColumn(T, NOTE), ch.DropConstraint(T, NOTE_OK)],
        [AFTER_SQL, *CHECKED_EXTRA],
        data=["INSERT INTO t (id, name, score, note) VALUES (1, 'a', 5, 'n'), (2, 'b', NULL, 'x')"],
        rows={"SELECT * FROM t": [(1, "a", 5, 10), (2, "b", None, None)]},
        rebuilds=1,
    ),
    "a column a partial index's WHERE names, dropped and added back": Case(
        [BASE_SQL, PARTIAL_SQL],
        schema(replace(BASE, indexes=(PARTIAL,))),
        [ch.DropColumn(T, NOTE), ch.AddColumn(T, Column("note", "BLOB"))],
        [BASE_SQL.replace("note TEXT", "note BLOB"), PARTIAL_SQL],
        rows={"SELECT * FROM t": [(1, "a", 5, None), (2, "b", None, None)]},
        rebuilds=1,
    ),
    "add a column defaulting to CURRENT_TIME": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AddColumn(T, Column("at", "TEXT", default="CURRENT_TIME"))],
        [BASE_SQL.replace(")", ", at TEXT DEFAULT CURRENT_TIME)")],
        rows={"SELECT id, at IS NOT NULL FROM t": [(1, 1), (2, 1)]},
        rebuilds=1,
    ),
    "add a column defaulting to current_date": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AddColumn(T, Column("on_", "TEXT", default="current_date"))],
        [BASE_SQL.replace(")", ", on_ TEXT DEFAULT current_date)")],
        rows={"SELECT id, on_ IS NOT NULL FROM t": [(1, 1), (2, 1)]},
        rebuilds=1,
    ),
    "add a NOT NULL column defaulting to NULL to an empty table": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AddColumn(T, Column("must", "TEXT", nullable=False, default="NULL"))],
        [BASE_SQL.replace(")", ", must TEXT NOT NULL DEFAULT NULL)")],
        data=[],
        rebuilds=1,
    ),
}


@pytest.mark.parametrize("case", REBUILT.values(), ids=REBUILT.keys())
def test_what_alter_table_refuses_is_rebuilt(sqlite_server: ScratchServer, case: Case) -> None:
    prove(sqlite_server, case)


def test_a_column_of_a_table_without_primary_key_is_dropped_in_place(
    sqlite_server: ScratchServer,
) -> None:
    log = Table(QName("log"), (Column("at", "TEXT"), Column("what", "TEXT")))
    statements = prove(
        sqlite_server,
        Case(
            ["CREATE TABLE log (at TEXT, what TEXT)"],
            schema(log),
            [ch.DropColumn(log.name, log.columns[1])],
            ["CREATE TABLE log (at TEXT)"],
            data=["INSERT INTO log VALUES ('1', 'a')"],
            rows={"SELECT * FROM log": [("1",)]},
        ),
    )
    assert [s.sql for s in statements] == ["ALTER TABLE log DROP COLUMN what"]


def test_a_comment_changed_from_one_text_to_another_renders_nothing() -> None:
    """SQLite keeps no comments: only a change beyond the comment needs statements."""
    said = replace(SCORE, comment="points")
    table = replace(BASE, columns=(BASE.columns[0], BASE.columns[1], said, NOTE))
    assert render([ch.AlterColumn(T, said, replace(said, comment="score"))], schema(table)) == []


def test_a_table_moved_to_another_database_is_refused_naming_both() -> None:
    change = ch.RenameTable(T, QName("t", "archive"))
    with pytest.raises(ValueError, match=r"cannot move table t to another database \(archive\.t\)"):
        render([change], schema(BASE))


def test_a_change_kind_sqlite_never_gets_is_refused_by_name() -> None:
    change = ch.SetUnlogged(T, False, True)
    with pytest.raises(TypeError, match=r"not a change the SQLite renderer handles.*SetUnlogged"):
        render([change], schema(BASE))


def test_a_column_moved_takes_a_rebuild_that_keeps_the_rows(sqlite_server: ScratchServer) -> None:
    """The schema diff moves a column when both sides have it in another place."""
    statements = [
        s.sql for s in render([ch.MoveColumn(T, "note", None, True, None, False)], schema(BASE))
    ]
    db = sqlite_server.new_database()
    try:
        db.execute([BASE_SQL, "INSERT INTO t VALUES (1, 'a', 5, 'x')", *statements])
        assert db.query("SELECT * FROM t") == [("x", 1, "a", 5)]
    finally:
        db.close()
