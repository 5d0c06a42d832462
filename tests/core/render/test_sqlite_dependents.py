"""What a SQLite table rebuild drops and makes again around itself, run on the engine: every
view reading the table however deep, and nothing that does not name it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import changes as ch
from bot.core.model import Column, Dialect, Opaque, QName, Table, View
from bot.core.render.sqlite import inside_transaction, render
from bot.core.replay import replay_sql
from bot.engines import EngineError, ScratchServer
from tests.core.render.test_sqlite import (
    BASE,
    BASE_ROWS,
    BASE_SQL,
    NOTE,
    SCORE,
    Case,
    alter,
    fresh,
    prove,
    schema,
    trigger,
)


def test_a_view_made_before_the_view_it_reads_is_dropped_and_made_again(
    sqlite_server: ScratchServer,
) -> None:
    """SQLite lets `a` read `b` before `b` exists; the rebuild's final rename checks both."""
    prior = [BASE_SQL, "CREATE VIEW a AS SELECT * FROM b", "CREATE VIEW b AS SELECT id FROM t"]
    before = schema(
        BASE,
        views=(View(QName("a"), "SELECT * FROM b"), View(QName("b"), "SELECT id FROM t")),
    )
    statements = prove(
        sqlite_server,
        Case(
            prior,
            before,
            [alter(NOTE, type="BLOB")],
            [prior[0].replace("note TEXT", "note BLOB"), *prior[1:]],
            rows={"SELECT * FROM a": [(1,), (2,)]},
            rebuilds=1,
        ),
    )
    assert [s.sql for s in statements if s.sql.startswith("DROP VIEW")] == [
        "DROP VIEW b",
        "DROP VIEW a",
    ]


def test_a_rebuild_leaves_alone_what_does_not_name_the_table(sqlite_server: ScratchServer) -> None:
    """A full-text table with a column called `t` and a trigger on another table keep their
    rows and their definitions: only t is dropped."""
    docs_sql = "CREATE VIRTUAL TABLE docs USING fts5(t, body)"
    log_sql = "CREATE TABLE log (what TEXT)"
    on_log = "CREATE TRIGGER log_ins AFTER INSERT ON log BEGIN SELECT 1; END"
    before = schema(
        BASE,
        Table(QName("log"), (Column("what", "TEXT"),)),
        opaque=(
            Opaque("virtual table", "docs", docs_sql, "DROP TABLE docs"),
            trigger("log_ins", "log", on_log),
        ),
    )
    statements = [s.sql for s in render([alter(NOTE, type="BLOB")], before)]
    assert [s for s in statements if s.startswith("DROP")] == ["DROP TABLE t"]
    prior = [BASE_SQL, log_sql, docs_sql, on_log]
    db = fresh(sqlite_server, [*prior, BASE_ROWS, "INSERT INTO docs VALUES ('x', 'kept')"])
    db.execute(statements)
    assert db.query("SELECT t, body FROM docs") == [("x", "kept")]
    want = fresh(sqlite_server, [prior[0].replace("note TEXT", "note BLOB"), *prior[1:]])
    assert db.catalog().diff(want.catalog(), column_order=True) == []


def test_inside_a_tool_transaction_the_rebuild_leaves_transaction_control_to_the_tool(
    sqlite_server: ScratchServer,
) -> None:
    statements = [s.sql for s in render([alter(NOTE, type="BLOB")], schema(BASE))]
    wrapped = inside_transaction(statements)
    assert wrapped == [s for s in statements if s not in ("BEGIN", "COMMIT")][1:-1]
    assert (
        wrapped[0].startswith("CREATE TABLE _rp_new_t")
        and wrapped[-1] == "PRAGMA foreign_key_check"
    )

    db = fresh(sqlite_server, [BASE_SQL, BASE_ROWS])
    with pytest.raises(EngineError, match="within a transaction"):
        db.execute(["BEGIN", *statements])
    db.execute(["ROLLBACK", "BEGIN", *wrapped, "COMMIT"])
    assert db.rows("t") == [(1, "a", 5, None), (2, "b", None, "x")]
    assert db.query("SELECT type FROM pragma_table_info('t') WHERE name = 'note'") == [("BLOB",)]


def test_a_view_over_a_column_renamed_before_the_rebuild_comes_back_with_the_new_name(
    sqlite_server: ScratchServer,
) -> None:
    """RENAME COLUMN rewrites the view in SQLite; the rebuild after it must make that text."""
    view = "CREATE VIEW v AS SELECT id, note FROM t"
    prove(
        sqlite_server,
        Case(
            [BASE_SQL, view],
            schema(BASE, views=(View(QName("v"), "SELECT id, note FROM t"),)),
            [ch.RenameColumn(BASE.name, "note", "remark"), alter(SCORE, type="REAL")],
            [
                BASE_SQL.replace("note", "remark").replace("score INT", "score REAL"),
                "CREATE VIEW v AS SELECT id, remark FROM t",
            ],
            rows={"SELECT * FROM v": [(1, None), (2, "x")]},
            rebuilds=1,
        ),
    )


def test_a_table_keyed_on_itself_is_rebuilt_inside_a_tool_transaction(
    sqlite_server: ScratchServer,
) -> None:
    """Foreign keys stay on in the tool's transaction: the new table's key on itself must not
    point at the old table, whose DROP would then fail (bench/fuzz_cli.py seed 117)."""
    prior = "CREATE TABLE t (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t (id), note TEXT)"
    before = replay_sql(prior, Dialect.SQLITE).schema
    table = before.table(QName("t"))
    assert table is not None
    note = table.column("note", Dialect.SQLITE)
    assert note is not None
    change = ch.AlterColumn(QName("t"), note, replace(note, type="BLOB"))
    wrapped = inside_transaction([s.sql for s in render([change], before)])
    rows = "INSERT INTO t VALUES (1, NULL, 'a'), (2, 1, 'b')"
    db = fresh(sqlite_server, [prior, rows])
    db.execute(["BEGIN", *wrapped, "COMMIT"])
    assert db.rows("t") == [(1, None, "a"), (2, 1, "b")]
    want = fresh(sqlite_server, [prior.replace("note TEXT", "note BLOB")])
    assert db.catalog().diff(want.catalog(), column_order=True) == []
