"""SQLite definitions as the renderer writes them: defaults, collations, deferrable keys,
indexes of attached databases, and the refusals a user reads when SQLite lacks a feature.

Defaults are compared through the engine's catalog, which keeps their text: a default put
back with other parentheses is a down that does not restore the schema.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.core import changes as ch
from bot.core.model import (
    AutoKind,
    Column,
    Dialect,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Schema,
    Table,
    Unique,
    View,
    qkey,
)
from bot.core.render.sqlite import create_table, render
from bot.engines import ScratchServer
from tests.core.render.test_sqlite import (
    BASE,
    BASE_SQL,
    NOTE,
    SQLITE,
    Case,
    T,
    alter,
    fresh,
    prove,
    schema,
)

# -- defaults -------------------------------------------------------------------------------

# A column made NOT NULL takes its default where it was NULL: the default as a value.
FILLED = {
    "a bare word is its own text": ("unknown", "unknown"),
    'a "quoted" word is its own text': ('"say ""hi"""', 'say "hi"'),
    'a "quoted" word naming a column is still text': ('"name"', "name"),
    "TRUE is the keyword": ("TRUE", "1"),
}


@pytest.mark.parametrize(("default", "value"), FILLED.values(), ids=FILLED.keys())
def test_a_column_made_not_null_fills_its_nulls_with_the_default_value(
    sqlite_server: ScratchServer, default: str, value: object
) -> None:
    prove(
        sqlite_server,
        Case(
            [BASE_SQL],
            schema(BASE),
            [alter(NOTE, nullable=False, default=default)],
            [BASE_SQL.replace("note TEXT", f"note TEXT NOT NULL DEFAULT {default}")],
            rows={"SELECT id, note FROM t": [(1, value), (2, "x")]},
            rebuilds=1,
        ),
    )


# Expression defaults written in one pair of parentheses come back exactly as written.
EXPRESSIONS = {
    "a function named with X": "(HEX(RANDOMBLOB(16)))",
    "a string holding a parenthesis": "('a)b')",
    "a bracket-quoted function name": "([abs](-1))",
}


@pytest.mark.parametrize("default", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_an_expression_default_keeps_its_parentheses(
    sqlite_server: ScratchServer, default: str
) -> None:
    prove(
        sqlite_server,
        Case(
            [BASE_SQL],
            schema(BASE),
            [ch.AddColumn(T, Column("extra", "TEXT", default=default))],
            [BASE_SQL.replace(")", f", extra TEXT DEFAULT {default})", 1)],
            rows={"SELECT count(*) FROM t WHERE extra IS NOT NULL": [(2,)]},
            rebuilds=1,
        ),
    )


# -- collations, generated columns, keys ----------------------------------------------------


def test_collations_are_bare_words_unless_they_cannot_be() -> None:
    table = Table(
        QName("c"),
        (
            Column("a", "TEXT", collation="BINARY"),
            Column("b", "TEXT", collation="de-DE"),
            Column("len", "INT", generated="length(a)"),
        ),
    )
    assert create_table(table) == (
        "CREATE TABLE c (\n"
        "  a TEXT COLLATE BINARY,\n"
        '  b TEXT COLLATE "de-DE",\n'
        "  len INT GENERATED ALWAYS AS (length(a)) STORED\n"
        ")"
    )


def test_a_deferrable_foreign_key_is_checked_at_commit(sqlite_server: ScratchServer) -> None:
    parent = Table(QName("parent"), (Column("id", "INTEGER"),), PrimaryKey(None, ("id",)))
    fk = ForeignKey(
        None, ("pid",), parent.name, ("id",), deferrable="DEFERRABLE INITIALLY DEFERRED"
    )
    child = Table(QName("child"), (Column("pid", "INT"),), foreign_keys=(fk,))
    sql = create_table(child)
    assert sql == (
        "CREATE TABLE child (\n  pid INT,\n"
        "  FOREIGN KEY (pid) REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED\n)"
    )
    db = fresh(sqlite_server, [create_table(parent), sql])
    db.execute(
        [
            "BEGIN",
            "INSERT INTO child VALUES (1)",  # the parent row comes later in the transaction
            "INSERT INTO parent VALUES (1)",
            "COMMIT",
        ]
    )
    assert db.rows("child") == [(1,)]


def test_an_index_of_an_attached_database_is_named_in_it(sqlite_server: ScratchServer) -> None:
    aux_t = replace(BASE, name=QName("t", "aux"))
    index = Index("t_note", aux_t.name, (IndexPart("note"),))
    before = Schema(SQLITE, tables={qkey(aux_t.name, SQLITE): aux_t})
    made = [s.sql for s in render([ch.CreateIndex(index)], before)]
    assert made == ["CREATE INDEX aux.t_note ON t (note)"]
    db = fresh(
        sqlite_server, ["ATTACH DATABASE ':memory:' AS aux", BASE_SQL.replace(" t ", " aux.t ")]
    )
    db.execute(made)
    assert db.query("SELECT name FROM aux.sqlite_master WHERE type = 'index'") == [("t_note",)]
    with_index = Schema(SQLITE, tables={qkey(aux_t.name, SQLITE): replace(aux_t, indexes=(index,))})
    dropped = [s.sql for s in render([ch.DropIndex(index)], with_index)]
    assert dropped == ["DROP INDEX aux.t_note"]
    db.execute(dropped)
    assert db.query("SELECT name FROM aux.sqlite_master WHERE type = 'index'") == []


def test_a_view_naming_the_table_in_other_case_is_made_again_after_a_rebuild(
    sqlite_server: ScratchServer,
) -> None:
    view = "CREATE VIEW v AS SELECT id FROM T"
    prove(
        sqlite_server,
        Case(
            [BASE_SQL, view],
            schema(BASE, views=(View(QName("v"), "SELECT id FROM T"),)),
            [alter(NOTE, type="BLOB")],
            [BASE_SQL.replace("note TEXT", "note BLOB"), view],
            rows={"SELECT * FROM v": [(1,), (2,)]},
            rebuilds=1,
        ),
    )


# -- what SQLite lacks, said plainly -----------------------------------------------------------

A = QName("a")
INTEGER = Column("id", "INTEGER")
AUTO = replace(INTEGER, auto=AutoKind.AUTOINCREMENT)
AUTO_N = Column("n", "INTEGER", auto=AutoKind.AUTOINCREMENT)
WHOLE_KEY = "AUTOINCREMENT needs the column to be the whole primary key"
REFUSED = {
    "INCLUDE": (
        ch.CreateIndex(Index("i", T, (IndexPart("note"),), include=("name",))),
        "index i: SQLite has no INCLUDE",
    ),
    "index kind": (
        ch.CreateIndex(Index("i", T, (IndexPart("note"),), kind="fulltext")),
        "index i: SQLite has no index kinds (fulltext)",
    ),
    "NULLS order": (
        ch.CreateIndex(Index("i", T, (IndexPart("note", nulls="first"),))),
        "index i: SQLite index columns have no NULLS order, prefix length or opclass",
    ),
    "prefix length": (
        ch.CreateIndex(Index("i", T, (IndexPart("note", length=10),))),
        "index i: SQLite index columns have no NULLS order, prefix length or opclass",
    ),
    "opclass": (
        ch.CreateIndex(Index("i", T, (IndexPart("note", opclass="text_ops"),))),
        "index i: SQLite index columns have no NULLS order, prefix length or opclass",
    ),
    "renaming a missing index": (
        ch.RenameIndex(T, "nope", "other"),
        "index nope does not exist on t",
    ),
    "view options": (
        ch.CreateView(View(QName("v"), "SELECT 1", options="WITH CHECK OPTION")),
        "view v: SQLite views take no options (WITH CHECK OPTION)",
    ),
    "ON UPDATE": (
        ch.AddColumn(T, Column("at", "TEXT", on_update="CURRENT_TIMESTAMP")),
        "column at: SQLite has no ON UPDATE for columns",
    ),
    "NULLS NOT DISTINCT": (
        ch.AddConstraint(T, Unique("u_note", ("note",), nulls_not_distinct=True)),
        "SQLite has no UNIQUE NULLS NOT DISTINCT (u_note)",
    ),
    "AUTOINCREMENT outside the key": (
        ch.CreateTable(Table(A, (INTEGER, AUTO_N), PrimaryKey(None, ("id",)))),
        f"a.n: {WHOLE_KEY}",
    ),
    "AUTOINCREMENT without a key": (ch.CreateTable(Table(A, (AUTO,))), f"a.id: {WHOLE_KEY}"),
    "two AUTOINCREMENT columns": (
        ch.CreateTable(Table(A, (AUTO, AUTO_N), PrimaryKey(None, ("id",)))),
        f"a.id: {WHOLE_KEY}",
    ),
    "AUTOINCREMENT in a two-column key": (
        ch.CreateTable(Table(A, (AUTO, replace(AUTO_N, auto=None)), PrimaryKey(None, ("id", "n")))),
        f"a.id: {WHOLE_KEY}",
    ),
}


@pytest.mark.parametrize(("change", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_what_sqlite_lacks_is_refused_with_what_and_where(change: ch.Change, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        render([change], schema(BASE))


def test_a_schema_of_another_dialect_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^the SQLite renderer got a postgres schema$"):
        render([], Schema(Dialect.POSTGRES))
