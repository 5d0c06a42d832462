"""The exact PostgreSQL text of an index: INCLUDE columns, collations quoted exactly, and
expressions parenthesised unless they are one whole function call. Indexes are found through
their table's schema when dropped or renamed.

The first script also runs on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.core import changes as ch
from bot.core.model import Column, Dialect, Index, IndexPart, QName, Schema, Table, qkey
from bot.core.render.postgres import render
from bot.engines import ScratchDatabase

PG = Dialect.POSTGRES
ITEMS = Table(
    QName("items", "app"),
    (Column("id", "INT"), Column("Total", "INT"), Column("label", "TEXT"), Column("a", "INT")),
)


def sql(changes: list[ch.Change], table: Table = ITEMS) -> list[str]:
    before = Schema(PG, namespaces=("app",), tables={qkey(table.name, PG): table})
    return [s.sql for s in render(changes, before)]


def index_sql(*parts: IndexPart, **options: object) -> str:
    (written,) = sql([ch.CreateIndex(Index("i", ITEMS.name, parts, **options))])  # type: ignore[arg-type]
    return written


def expression(text: str) -> str:
    """The index text PostgreSQL gets for one expression part."""
    written = index_sql(IndexPart(text, is_column=False))
    prefix = "CREATE INDEX i ON app.items ("
    assert written.startswith(prefix) and written.endswith(")")
    return written[len(prefix) : -1]


def test_include_collations_and_expressions_as_postgresql_takes_them(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    written = index_sql(
        IndexPart("label", collation="C"),
        IndexPart("label", collation="pg_catalog.C", desc=True),
        IndexPart("label", collation='"POSIX"'),
        IndexPart("a + id", is_column=False),
        IndexPart("LOWER(label)", is_column=False),
        include=("Total", "id"),
    )
    assert written == (
        'CREATE INDEX i ON app.items (label COLLATE "C",'
        ' label COLLATE "pg_catalog"."C" DESC, label COLLATE "POSIX",'
        ' (a + id), LOWER(label)) INCLUDE ("Total", id)'
    )
    db = engine_db("postgres")
    db.execute(
        [
            "CREATE SCHEMA app",
            'CREATE TABLE app.items (id int, "Total" int, label text, a int)',
            written,
        ]
    )
    table = db.catalog().get("tables", "app.items")
    assert table is not None and list(table["indexes"]) == ["i"]


def test_one_whole_function_call_is_written_bare() -> None:
    assert expression("lower(trim(label))") == "lower(trim(label))"
    assert expression("coalesce(label, ')')") == "coalesce(label, ')')"
    assert expression('lower("X""y")') == 'lower("X""y")'
    assert expression("lower(Xlabel)") == "lower(Xlabel)"
    assert expression("ANYX(label)") == "ANYX(label)"


def test_anything_else_is_parenthesised() -> None:
    """Keywords before a parenthesis, two calls, or quotes the scan cannot follow: wrapping in
    parentheses is always valid."""
    assert expression("row(a, id)") == "(row(a, id))"
    assert expression("ROW(a, id)") == "(ROW(a, id))"
    assert expression("lower(label) || upper(label)") == "(lower(label) || upper(label))"
    assert expression("a + id") == "(a + id)"
    assert expression("lower(E'it\\'s')") == "(lower(E'it\\'s'))"


def test_indexes_are_dropped_and_renamed_in_their_tables_schema() -> None:
    index = Index("i", ITEMS.name, (IndexPart("id"),))
    indexed = replace(ITEMS, indexes=(index,))
    assert sql([ch.DropIndex(index)], indexed) == ["DROP INDEX app.i"]
    assert sql([ch.RenameIndex(ITEMS.name, "i", "j")], indexed) == ["ALTER INDEX app.i RENAME TO j"]
