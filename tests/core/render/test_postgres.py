"""The PostgreSQL renderer, proven on a real PostgreSQL 18.

Each case builds the prior state from hand-written SQL (and the matching model values), inserts
rows, runs the rendered changes, and compares the catalog with a database where the expected
end state was written by hand; then it renders the reverse changes and checks that they bring
the catalog back to the prior state.
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
from bot.core.render.postgres import object_name, pg_type, render, serial_sequence
from bot.core.state import apply_changes
from bot.engines import Catalog, EngineError, ScratchDatabase
from bot.engines.scratch import sort_rows

PG = Dialect.POSTGRES
T = QName("t")


def schema(
    *tables: Table,
    namespaces: tuple[str, ...] = (),
    enums: tuple[EnumType, ...] = (),
    sequences: tuple[Sequence, ...] = (),
    views: tuple[View, ...] = (),
    opaque: tuple[Opaque, ...] = (),
) -> Schema:
    return Schema(
        PG,
        namespaces=namespaces,
        tables={qkey(t.name, PG): t for t in tables},
        views={qkey(v.name, PG): v for v in views},
        enums={qkey(e.name, PG): e for e in enums},
        sequences={qkey(s.name, PG): s for s in sequences},
        opaque={(o.kind, o.identity): o for o in opaque},
    )


def creation(model: Schema) -> list[ch.Change]:
    """Changes that build `model` from nothing, in creation order."""
    made: list[ch.Change] = [ch.CreateNamespace(n) for n in model.namespaces]
    made += [ch.CreateEnum(e) for e in model.enums.values()]
    made += [ch.CreateSequence(s) for s in model.sequences.values()]
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


MakeDb = Callable[[str], ScratchDatabase]


def fresh(make: MakeDb, statements: list[str]) -> ScratchDatabase:
    """A new database (closed when the test ends) holding `statements`."""
    db = make("postgres")
    db.execute(statements)
    return db


def run(db: ScratchDatabase, statements: list[Rendered]) -> None:
    db.execute([s.sql for s in statements])


def prove(make: MakeDb, case: Case) -> list[Rendered]:
    """Run the case forward and back; assert catalogs and rows."""
    prior = fresh(make, case.prior).catalog()
    # the hand-built model must describe the hand-written SQL, or the proof proves nothing
    from_model = fresh(make, [r.sql for r in render(creation(case.before), Schema(PG))])
    assert unnamed_not_null(from_model.catalog()).diff(unnamed_not_null(prior)) == []

    db = fresh(make, case.prior + case.data)
    statements = render(case.changes, case.before)
    run(db, statements)
    want = fresh(make, case.expected).catalog()
    assert db.catalog().diff(want) == []
    after = apply_changes(case.before, case.changes)
    modelled = fresh(make, [r.sql for r in render(creation(after), Schema(PG))])
    assert unnamed_not_null(modelled.catalog()).diff(unnamed_not_null(want)) == []

    back = render(ch.reverse_all(case.changes), after)
    if case.then:  # rows added after the changes may not fit the prior state
        reverted = fresh(make, case.prior + case.data)
        run(reverted, statements)
        run(reverted, back)
        assert reverted.catalog().diff(prior) == []
    db.execute(case.then)
    for query, rows in case.rows.items():
        assert sort_rows(db.query(query)) == sort_rows(rows), query
    if not case.then:
        run(db, back)
        assert db.catalog().diff(prior) == []
    return statements


def unnamed_not_null(catalog: Catalog) -> Catalog:
    """The catalog with NOT NULL constraints keyed by their column: the model doesn't keep
    their names (PostgreSQL 18 names them `<table>_<column>_not_null` when they are made and
    keeps that name through renames)."""
    objects = catalog.objects
    for table in objects.get("tables", {}).values():
        constraints = table.get("constraints", {})
        for name in [n for n, c in constraints.items() if c["type"] == "not null"]:
            record = constraints.pop(name)
            constraints[record["definition"]] = record
    return Catalog.build(catalog.dialect, objects)


def alter(table: Table, name: str, **changed: Any) -> ch.AlterColumn:
    before = table.column(name, PG)
    assert before is not None
    return ch.AlterColumn(table.name, before, replace(before, **changed))


# -- fixtures of model and SQL ------------------------------------------------------------

PARENT_SQL = "CREATE TABLE parent (id int PRIMARY KEY)"
PARENT = Table(
    QName("parent"),
    (Column("id", "INT", nullable=False),),
    primary_key=PrimaryKey("parent_pkey", ("id",)),
)

ORDERS = Table(
    QName("orders"),
    (
        Column("id", "BIGINT", nullable=False, auto=AutoKind.BIGSERIAL),
        Column("code", "VARCHAR(20)", nullable=False, default="'x'", collation="C"),
        Column("total", "NUMERIC(10, 2)", default="0", comment="in cents"),
        Column("doubled", "NUMERIC", generated="total * 2"),
        Column("parent_id", "INT"),
        Column("n", "INT", nullable=False, auto=AutoKind.IDENTITY_BY_DEFAULT),
        Column("Order", "TEXT"),
    ),
    primary_key=PrimaryKey("orders_pkey", ("id",)),
    uniques=(Unique("orders_code_key", ("code",), nulls_not_distinct=True),),
    checks=(Check("orders_total_check", "total >= 0"),),
    foreign_keys=(
        ForeignKey(
            "orders_parent_id_fkey",
            ("parent_id",),
            QName("parent"),
            ("id",),
            on_delete="CASCADE",
            deferrable="DEFERRABLE INITIALLY DEFERRED",
        ),
    ),
    indexes=(
        Index(
            "orders_lower_code",
            QName("orders"),
            (IndexPart("lower(code)", is_column=False),),
            where="total > 0",
        ),
        Index(
            "orders_multi",
            QName("orders"),
            (
                IndexPart("code", desc=True, nulls="LAST", opclass="text_pattern_ops"),
                IndexPart("Order", collation="C"),
            ),
            method="btree",
            include=("n",),
        ),
    ),
    comment="all orders",
)
ORDERS_SQL = [
    """CREATE TABLE orders (
         id bigserial PRIMARY KEY,
         code varchar(20) COLLATE "C" NOT NULL DEFAULT 'x' UNIQUE NULLS NOT DISTINCT,
         total numeric(10, 2) DEFAULT 0 CHECK (total >= 0),
         doubled numeric GENERATED ALWAYS AS (total * 2) STORED,
         parent_id int REFERENCES parent ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
         n int GENERATED BY DEFAULT AS IDENTITY,
         "Order" text)""",
    "CREATE INDEX orders_lower_code ON orders ((lower(code))) WHERE total > 0",
    """CREATE INDEX orders_multi ON orders
         (code text_pattern_ops DESC NULLS LAST, "Order" COLLATE "C") INCLUDE (n)""",
    "COMMENT ON TABLE orders IS 'all orders'",
    "COMMENT ON COLUMN orders.total IS 'in cents'",
]

# A small table most cases start from.
BASE_SQL = "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, score int DEFAULT 0)"
BASE = Table(
    T,
    (
        Column("id", "INT", nullable=False),
        Column("name", "TEXT", nullable=False),
        Column("score", "INT", default="0"),
    ),
    primary_key=PrimaryKey("t_pkey", ("id",)),
)
BASE_ROWS = "INSERT INTO t VALUES (1, 'a', 5), (2, 'b', NULL)"
T_SCORE = Index("t_score", T, (IndexPart("score"), IndexPart("name")))

MOOD = EnumType(QName("mood"), ("sad", "happy"))
MOOD_SQL = "CREATE TYPE mood AS ENUM ('sad', 'happy')"
FEELINGS_SQL = "CREATE TABLE feelings (id int, m mood DEFAULT 'sad', ms mood[])"
FEELINGS = Table(
    QName("feelings"),
    (Column("id", "INT"), Column("m", "mood", default="'sad'"), Column("ms", "mood[]")),
)
FEELINGS_ROWS = "INSERT INTO feelings VALUES (1, 'sad', '{happy,sad}'), (2, 'happy', NULL)"

GEN_SQL = """CREATE TABLE g (
  a int,
  b int GENERATED ALWAYS AS (a * 2) STORED,
  c int GENERATED ALWAYS AS (a + 1) STORED,
  d int,
  e int GENERATED ALWAYS AS (a * 3) VIRTUAL)"""
GEN = Table(
    QName("g"),
    (
        Column("a", "INT"),
        Column("b", "INT", generated="a * 2"),
        Column("c", "INT", generated="a + 1"),
        Column("d", "INT"),
        Column("e", "INT", generated="a * 3", generated_stored=False),
    ),
)

IDENT_SQL = """CREATE TABLE ids (
  a int NOT NULL,
  b int GENERATED ALWAYS AS IDENTITY,
  c int GENERATED BY DEFAULT AS IDENTITY,
  d int DEFAULT 7)"""
IDENTS = Table(
    QName("ids"),
    (
        Column("a", "INT", nullable=False),
        Column("b", "INT", nullable=False, auto=AutoKind.IDENTITY_ALWAYS),
        Column("c", "INT", nullable=False, auto=AutoKind.IDENTITY_BY_DEFAULT),
        Column("d", "INT", default="7"),
    ),
)

SERIAL_SQL = "CREATE TABLE s (a serial, b int NOT NULL, c smallserial)"
SERIALS = Table(
    QName("s"),
    (
        Column("a", "INT", nullable=False, auto=AutoKind.SERIAL),
        Column("b", "INT", nullable=False),
        Column("c", "SMALLINT", nullable=False, auto=AutoKind.SMALLSERIAL),
    ),
)

CONSTRAINED_SQL = "CREATE TABLE t (id int NOT NULL, code text, parent int, qty int)"
CONSTRAINED = Table(
    T,
    (
        Column("id", "INT", nullable=False),
        Column("code", "TEXT"),
        Column("parent", "INT"),
        Column("qty", "INT"),
    ),
)
FK = ForeignKey(
    "t_parent_fkey",
    ("parent",),
    QName("parent"),
    ("id",),
    on_delete="SET NULL",
    on_update="CASCADE",
    deferrable="DEFERRABLE INITIALLY DEFERRED",
)

APP_SQL = ["CREATE SCHEMA app", "CREATE TABLE app.items (id int, label text, tags text[])"]
ITEMS = Table(
    QName("items", "app"), (Column("id", "INT"), Column("label", "TEXT"), Column("tags", "TEXT[]"))
)
ITEMS_INDEX = Index(
    "items_label",
    QName("items", "app"),
    (
        IndexPart("lower(label)", is_column=False, desc=True, nulls="FIRST"),
        IndexPart("label", collation="C", opclass="text_pattern_ops"),
    ),
    unique=True,
    include=("id",),
    where="id > 0",
)
ITEMS_INDEX_SQL = """CREATE UNIQUE INDEX items_label ON app.items
  ((lower(label)) DESC NULLS FIRST, label COLLATE "C" text_pattern_ops) INCLUDE (id)
  WHERE id > 0"""

VIEW = View(QName("named"), "SELECT id, name FROM t WHERE id > 0", columns=("ident", "label"))
VIEW_SQL = "CREATE VIEW named (ident, label) AS SELECT id, name FROM t WHERE id > 0"

TOUCH = Opaque(
    "function",
    "touch()",
    "CREATE OR REPLACE FUNCTION touch() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
    "DROP FUNCTION touch()",
)
TOUCH_2 = replace(TOUCH, definition=TOUCH.definition.replace("SELECT 1", "SELECT 2"))

CASES: dict[str, Case] = {
    # -- tables and schemas ------------------------------------------------------------------
    "create table with every column and constraint kind": Case(
        [PARENT_SQL],
        schema(PARENT),
        [ch.CreateTable(ORDERS)],
        [PARENT_SQL, *ORDERS_SQL],
    ),
    "drop table": Case(
        [PARENT_SQL, *ORDERS_SQL],
        schema(PARENT, ORDERS),
        [ch.DropTable(ORDERS)],
        [PARENT_SQL],
    ),
    "rename table keeps rows": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.RenameTable(T, QName("people"))],
        # the primary key and NOT NULL constraints keep the names they got under "t"
        [
            """CREATE TABLE people (id int CONSTRAINT t_id_not_null NOT NULL,
                 name text CONSTRAINT t_name_not_null NOT NULL, score int DEFAULT 0,
                 CONSTRAINT t_pkey PRIMARY KEY (id))"""
        ],
        data=[BASE_ROWS],
        rows={"SELECT * FROM people": [(1, "a", 5), (2, "b", None)]},
    ),
    "move table to a new schema and rename it": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.CreateNamespace("archive"), ch.RenameTable(T, QName("old_t", "archive"))],
        [
            "CREATE SCHEMA archive",
            """CREATE TABLE archive.old_t (id int CONSTRAINT t_id_not_null NOT NULL,
                 name text CONSTRAINT t_name_not_null NOT NULL, score int DEFAULT 0,
                 CONSTRAINT t_pkey PRIMARY KEY (id))""",
        ],
        data=[BASE_ROWS],
        rows={"SELECT id FROM archive.old_t": [(1,), (2,)]},
    ),
    "set and clear table comment": Case(
        [BASE_SQL, "COMMENT ON TABLE t IS 'old'"],
        schema(replace(BASE, comment="old")),
        [ch.SetTableComment(T, "old", "it's new")],
        [BASE_SQL, "COMMENT ON TABLE t IS 'it''s new'"],
    ),
    # -- columns -----------------------------------------------------------------------------
    "add column fills the default": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AddColumn(T, Column("note", "TEXT", nullable=False, default="'none'", comment="n"))],
        [
            BASE_SQL.replace(")", ", note text NOT NULL DEFAULT 'none')"),
            "COMMENT ON COLUMN t.note IS 'n'",
        ],
        data=[BASE_ROWS],
        rows={"SELECT id, note FROM t": [(1, "none"), (2, "none")]},
    ),
    "add serial and identity columns numbers the rows": Case(
        [BASE_SQL],
        schema(BASE),
        [
            ch.AddColumn(T, Column("seq", "INT", nullable=False, auto=AutoKind.SERIAL)),
            ch.AddColumn(
                T, Column("ident", "BIGINT", nullable=False, auto=AutoKind.IDENTITY_ALWAYS)
            ),
        ],
        [BASE_SQL.replace(")", ", seq serial, ident bigint GENERATED ALWAYS AS IDENTITY)")],
        data=[BASE_ROWS],
        rows={"SELECT seq, ident FROM t": [(1, 1), (2, 2)]},
    ),
    "drop column": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.DropColumn(T, BASE.columns[2])],
        [BASE_SQL.replace(", score int DEFAULT 0", "")],
        data=[BASE_ROWS],
        rows={"SELECT * FROM t": [(1, "a"), (2, "b")]},
    ),
    "rename reserved-word column to mixed case keeps rows": Case(
        ['CREATE TABLE t (id int, "user" text NOT NULL)'],
        schema(Table(T, (Column("id", "INT"), Column("user", "TEXT", nullable=False)))),
        [ch.RenameColumn(T, "user", "Owner")],
        ['CREATE TABLE t (id int, "Owner" text CONSTRAINT t_user_not_null NOT NULL)'],
        data=["INSERT INTO t VALUES (1, 'ann')"],
        rows={'SELECT "Owner" FROM t': [("ann",)]},
    ),
    "widen type keeps values": Case(
        [BASE_SQL],
        schema(BASE),
        [alter(BASE, "score", type="BIGINT")],
        [BASE_SQL.replace("score int", "score bigint")],
        data=[BASE_ROWS],
        then=["INSERT INTO t VALUES (3, 'c', 9000000000)"],
        rows={"SELECT id, score FROM t": [(1, 5), (2, None), (3, 9000000000)]},
    ),
    "change type through a cast, default retyped": Case(
        ["CREATE TABLE t (v varchar(10) DEFAULT '1')"],
        schema(Table(T, (Column("v", "VARCHAR(10)", default="'1'"),))),
        [
            ch.AlterColumn(
                T, Column("v", "VARCHAR(10)", default="'1'"), Column("v", "INT", default="1")
            )
        ],
        ["CREATE TABLE t (v int DEFAULT 1)"],
        data=["INSERT INTO t VALUES ('1'), ('22')"],
        rows={"SELECT v FROM t": [(1,), (22,)]},
    ),
    "nullability and defaults": Case(
        ["CREATE TABLE t (a int, b int NOT NULL DEFAULT 5)"],
        schema(Table(T, (Column("a", "INT"), Column("b", "INT", nullable=False, default="5")))),
        [
            ch.AlterColumn(T, Column("a", "INT"), Column("a", "INT", nullable=False, default="7")),
            ch.AlterColumn(T, Column("b", "INT", nullable=False, default="5"), Column("b", "INT")),
        ],
        ["CREATE TABLE t (a int NOT NULL DEFAULT 7, b int)"],
        data=["INSERT INTO t VALUES (1, 2)"],
        rows={"SELECT * FROM t": [(1, 2)]},
    ),
    "collation alone and with a type change": Case(
        ['CREATE TABLE t (a text, b varchar(10) COLLATE "C")'],
        schema(Table(T, (Column("a", "TEXT"), Column("b", "VARCHAR(10)", collation="C")))),
        [
            ch.AlterColumn(T, Column("a", "TEXT"), Column("a", "TEXT", collation="C")),
            ch.AlterColumn(T, Column("b", "VARCHAR(10)", collation="C"), Column("b", "TEXT")),
        ],
        ['CREATE TABLE t (a text COLLATE "C", b text)'],
        data=["INSERT INTO t VALUES ('x', 'y')"],
        rows={"SELECT * FROM t": [("x", "y")]},
    ),
    "identity added, removed and switched; new ids follow existing ones": Case(
        [IDENT_SQL],
        schema(IDENTS),
        [
            alter(IDENTS, "a", auto=AutoKind.IDENTITY_ALWAYS),
            alter(IDENTS, "b", auto=None, nullable=True),
            alter(IDENTS, "c", auto=AutoKind.IDENTITY_ALWAYS),
            alter(IDENTS, "d", auto=AutoKind.IDENTITY_BY_DEFAULT, nullable=False, default=None),
        ],
        [
            """CREATE TABLE ids (
                 a int GENERATED ALWAYS AS IDENTITY,
                 b int,
                 c int GENERATED ALWAYS AS IDENTITY,
                 d int GENERATED BY DEFAULT AS IDENTITY)"""
        ],
        data=["INSERT INTO ids (a, c) OVERRIDING SYSTEM VALUE VALUES (5, 1), (6, 2)"],
        then=["INSERT INTO ids (b) VALUES (NULL)"],
        rows={"SELECT a, b, c, d FROM ids": [(5, 1, 1, 7), (6, 2, 2, 7), (7, None, 1, 8)]},
    ),
    "serial to plain and back, new ids follow existing ones": Case(
        [SERIAL_SQL],
        schema(SERIALS),
        [
            alter(SERIALS, "a", auto=None),
            alter(SERIALS, "b", auto=AutoKind.SERIAL),
            alter(SERIALS, "c", type="BIGINT", auto=AutoKind.BIGSERIAL),
        ],
        ["CREATE TABLE s (a int NOT NULL, b serial, c bigserial)"],
        data=["INSERT INTO s (b) VALUES (10), (11)"],
        then=["INSERT INTO s (a) VALUES (3)"],
        rows={"SELECT * FROM s": [(1, 10, 1), (2, 11, 2), (3, 12, 3)]},
    ),
    "serial to identity and identity to serial": Case(
        ["CREATE TABLE s (a serial, b int GENERATED BY DEFAULT AS IDENTITY)"],
        schema(
            Table(
                QName("s"),
                (
                    Column("a", "INT", nullable=False, auto=AutoKind.SERIAL),
                    Column("b", "INT", nullable=False, auto=AutoKind.IDENTITY_BY_DEFAULT),
                ),
            )
        ),
        [
            ch.AlterColumn(
                QName("s"),
                Column("a", "INT", nullable=False, auto=AutoKind.SERIAL),
                Column("a", "INT", nullable=False, auto=AutoKind.IDENTITY_ALWAYS),
            ),
            ch.AlterColumn(
                QName("s"),
                Column("b", "INT", nullable=False, auto=AutoKind.IDENTITY_BY_DEFAULT),
                Column("b", "INT", nullable=False, auto=AutoKind.SERIAL),
            ),
        ],
        ["CREATE TABLE s (a int GENERATED ALWAYS AS IDENTITY, b serial)"],
        data=["INSERT INTO s DEFAULT VALUES", "INSERT INTO s DEFAULT VALUES"],
        then=["INSERT INTO s DEFAULT VALUES"],
        rows={"SELECT a, b FROM s": [(1, 1), (2, 2), (3, 3)]},
    ),
    "generation changed every way PostgreSQL allows": Case(
        [GEN_SQL],
        schema(GEN),
        [
            alter(GEN, "b", generated="a * 3"),
            alter(GEN, "c", generated=None),
            alter(GEN, "d", generated="a * 4"),
            alter(GEN, "e", generated=None, generated_stored=True),
        ],
        [
            """CREATE TABLE g (
                 a int,
                 b int GENERATED ALWAYS AS (a * 3) STORED,
                 c int,
                 d int GENERATED ALWAYS AS (a * 4) STORED,
                 e int)"""
        ],
        data=["INSERT INTO g (a, d) VALUES (1, 100)"],
        rows={"SELECT a, b, c, d, e FROM g": [(1, 3, 2, 4, 3)]},
    ),
    "re-created column gets its index and constraint back": Case(
        [
            "CREATE TABLE g (a int, d int, CONSTRAINT g_d_check CHECK (d > 0))",
            "CREATE INDEX g_d_idx ON g (d)",
        ],
        schema(
            Table(
                QName("g"),
                (Column("a", "INT"), Column("d", "INT")),
                checks=(Check("g_d_check", "d > 0"),),
                indexes=(Index("g_d_idx", QName("g"), (IndexPart("d"),)),),
            )
        ),
        [ch.AlterColumn(QName("g"), Column("d", "INT"), Column("d", "INT", generated="a + 1"))],
        [
            """CREATE TABLE g (a int, d int GENERATED ALWAYS AS (a + 1) STORED,
                 CONSTRAINT g_d_check CHECK (d > 0))""",
            "CREATE INDEX g_d_idx ON g (d)",
        ],
        data=["INSERT INTO g (a, d) VALUES (1, 5)"],
        rows={"SELECT a, d FROM g": [(1, 2)]},
    ),
    "column comment": Case(
        [BASE_SQL],
        schema(BASE),
        [alter(BASE, "name", comment="who")],
        [BASE_SQL, "COMMENT ON COLUMN t.name IS 'who'"],
    ),
    # -- constraints and indexes -------------------------------------------------------------
    "add every constraint kind": Case(
        [PARENT_SQL, CONSTRAINED_SQL],
        schema(PARENT, CONSTRAINED),
        [
            ch.AddConstraint(T, PrimaryKey("t_pkey", ("id",))),
            ch.AddConstraint(T, Unique("t_code_key", ("code", "qty"), nulls_not_distinct=True)),
            ch.AddConstraint(T, FK),
            ch.AddConstraint(T, Check("t_qty_check", "qty > 0")),
        ],
        [
            PARENT_SQL,
            CONSTRAINED_SQL,
            "ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id)",
            "ALTER TABLE t ADD CONSTRAINT t_code_key UNIQUE NULLS NOT DISTINCT (code, qty)",
            """ALTER TABLE t ADD CONSTRAINT t_parent_fkey FOREIGN KEY (parent) REFERENCES parent
                 ON DELETE SET NULL ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED""",
            "ALTER TABLE t ADD CONSTRAINT t_qty_check CHECK (qty > 0)",
        ],
    ),
    "create index with every part option in another schema": Case(
        APP_SQL,
        schema(ITEMS, namespaces=("app",)),
        [ch.CreateIndex(ITEMS_INDEX)],
        [*APP_SQL, ITEMS_INDEX_SQL],
    ),
    "create gin index": Case(
        APP_SQL,
        schema(ITEMS, namespaces=("app",)),
        [ch.CreateIndex(Index("items_tags", ITEMS.name, (IndexPart("tags"),), method="gin"))],
        [*APP_SQL, "CREATE INDEX items_tags ON app.items USING gin (tags)"],
    ),
    "rename index": Case(
        [*APP_SQL, ITEMS_INDEX_SQL],
        schema(replace(ITEMS, indexes=(ITEMS_INDEX,)), namespaces=("app",)),
        [ch.RenameIndex(ITEMS.name, "items_label", "Items Label")],
        [*APP_SQL, ITEMS_INDEX_SQL.replace("INDEX items_label", 'INDEX "Items Label"')],
    ),
    # -- views -------------------------------------------------------------------------------
    "create view with column names": Case(
        [BASE_SQL], schema(BASE), [ch.CreateView(VIEW)], [BASE_SQL, VIEW_SQL]
    ),
    "replace view dropping a column": Case(
        [BASE_SQL, VIEW_SQL],
        schema(BASE, views=(VIEW,)),
        [ch.ReplaceView(VIEW, View(VIEW.name, "SELECT id FROM t"))],
        [BASE_SQL, "CREATE VIEW named AS SELECT id FROM t"],
    ),
    "materialized view": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.CreateView(View(QName("totals"), "SELECT sum(score) AS s FROM t", materialized=True))],
        [BASE_SQL, "CREATE MATERIALIZED VIEW totals AS SELECT sum(score) AS s FROM t"],
        data=[BASE_ROWS],
        rows={"SELECT s FROM totals": [(5,)]},
    ),
    # -- enums -------------------------------------------------------------------------------
    "create enum": Case([], schema(), [ch.CreateEnum(MOOD)], [MOOD_SQL]),
    "add enum values in place, in the target order": Case(
        [MOOD_SQL, FEELINGS_SQL],
        schema(FEELINGS, enums=(MOOD,)),
        [ch.AlterEnum(MOOD, replace(MOOD, values=("angry", "sad", "ok", "happy", "ecstatic")))],
        [
            "CREATE TYPE mood AS ENUM ('angry', 'sad', 'ok', 'happy', 'ecstatic')",
            FEELINGS_SQL,
        ],
        data=[FEELINGS_ROWS],
        rows={
            "SELECT id, m::text, ms::text FROM feelings": [
                (1, "sad", "{happy,sad}"),
                (2, "happy", None),
            ]
        },
    ),
    "rename enum value keeps rows": Case(
        [MOOD_SQL, FEELINGS_SQL],
        schema(FEELINGS, enums=(MOOD,)),
        [ch.AlterEnum(MOOD, replace(MOOD, values=("sad", "glad")))],
        ["CREATE TYPE mood AS ENUM ('sad', 'glad')", FEELINGS_SQL],
        data=[FEELINGS_ROWS],
        rows={"SELECT id, m::text FROM feelings": [(1, "sad"), (2, "glad")]},
    ),
    "reorder enum re-creates the type and keeps rows": Case(
        [MOOD_SQL, FEELINGS_SQL],
        schema(FEELINGS, enums=(MOOD,)),
        [ch.AlterEnum(MOOD, replace(MOOD, values=("happy", "sad")))],
        ["CREATE TYPE mood AS ENUM ('happy', 'sad')", FEELINGS_SQL],
        data=[FEELINGS_ROWS],
        rows={
            "SELECT id, m::text, ms::text FROM feelings": [
                (1, "sad", "{happy,sad}"),
                (2, "happy", None),
            ]
        },
    ),
    "rename enum": Case(
        [MOOD_SQL, "CREATE TABLE feelings (id int, m mood DEFAULT 'sad')"],
        schema(replace(FEELINGS, columns=FEELINGS.columns[:2]), enums=(MOOD,)),
        [ch.RenameEnum(MOOD.name, QName("feeling"))],
        [
            "CREATE TYPE feeling AS ENUM ('sad', 'happy')",
            "CREATE TABLE feelings (id int, m feeling DEFAULT 'sad')",
        ],
    ),
    # -- sequences, opaque objects -------------------------------------------------------------
    "create sequence": Case(
        [],
        schema(),
        [ch.CreateSequence(Sequence(QName("ticket"), "AS int START WITH 10 INCREMENT BY 2"))],
        ["CREATE SEQUENCE ticket AS int START WITH 10 INCREMENT BY 2"],
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
    "serial column made bigint keeps its integer sequence": Case(
        [BASE_SQL],
        schema(BASE),
        [ch.AddColumn(T, Column("seq", "BIGINT", nullable=False, auto=AutoKind.SERIAL))],
        [BASE_SQL.replace(")", ", seq serial)"), "ALTER TABLE t ALTER COLUMN seq TYPE bigint"],
        data=[BASE_ROWS],
        rows={"SELECT seq FROM t": [(1,), (2,)]},
    ),
    "column and table drops take their indexes, keys and comments along": Case(
        [PARENT_SQL, *ORDERS_SQL, BASE_SQL, "CREATE INDEX t_score ON t (score, name)"],
        schema(PARENT, ORDERS, replace(BASE, indexes=(T_SCORE,))),
        [
            ch.SetTableComment(QName("orders"), "all orders", None),
            ch.DropIndex(ORDERS.indexes[0]),
            ch.DropConstraint(QName("orders"), ORDERS.foreign_keys[0]),
            ch.DropTable(
                replace(ORDERS, comment=None, indexes=ORDERS.indexes[1:], foreign_keys=())
            ),
            ch.DropIndex(T_SCORE),
            ch.AlterColumn(T, BASE.columns[2], replace(BASE.columns[2], default=None)),
            ch.DropColumn(T, replace(BASE.columns[2], default=None)),
        ],
        [PARENT_SQL, BASE_SQL.replace(", score int DEFAULT 0", "")],
        data=[BASE_ROWS],
        rows={"SELECT * FROM t": [(1, "a"), (2, "b")]},
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


def test_enum_value_removed_fails_while_rows_use_it(engine_db: MakeDb) -> None:
    """Re-creating an enum without a value in use must fail, not lose the rows' values."""
    db = fresh(engine_db, [MOOD_SQL, FEELINGS_SQL, FEELINGS_ROWS])
    statements = render(
        [ch.AlterEnum(MOOD, replace(MOOD, values=("sad",)))], schema(FEELINGS, enums=(MOOD,))
    )
    with pytest.raises(EngineError, match="invalid input value for enum"):
        run(db, statements)


def test_enum_value_removed_when_unused(engine_db: MakeDb) -> None:
    db = fresh(engine_db, [MOOD_SQL, FEELINGS_SQL, "INSERT INTO feelings VALUES (1, 'sad', NULL)"])
    run(
        db,
        render(
            [ch.AlterEnum(MOOD, replace(MOOD, values=("sad",)))], schema(FEELINGS, enums=(MOOD,))
        ),
    )
    want = fresh(engine_db, ["CREATE TYPE mood AS ENUM ('sad')", FEELINGS_SQL]).catalog()
    assert db.catalog().diff(want) == []
    assert db.rows("feelings") == [(1, "sad", None)]


def test_namespace_round_trip(engine_db: MakeDb) -> None:
    db = fresh(engine_db, [])
    run(db, render([ch.CreateNamespace("Reporting")], schema()))
    assert db.catalog().get("schemas", "Reporting") is not None
    run(db, render([ch.DropNamespace("Reporting")], schema(namespaces=("Reporting",))))
    assert db.catalog().get("schemas", "Reporting") is None


def test_trigger_replaced_by_drop_and_create(engine_db: MakeDb) -> None:
    func = Opaque(
        "function",
        "stamp()",
        "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "DROP FUNCTION stamp()",
    )
    old = Opaque(
        "trigger",
        "t.stamp",
        "CREATE TRIGGER stamp BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION stamp()",
        "DROP TRIGGER stamp ON t",
        T,
    )
    new = replace(old, definition=old.definition.replace("BEFORE INSERT", "BEFORE UPDATE"))
    db = fresh(engine_db, [BASE_SQL, func.definition, old.definition])
    statements = render([ch.ReplaceOpaque(old, new)], schema(BASE, opaque=(func, old)))
    assert [s.sql for s in statements] == [old.drop, new.definition]
    run(db, statements)
    want = fresh(engine_db, [BASE_SQL, func.definition, new.definition])
    assert db.catalog().diff(want.catalog()) == []


# -- pure: the text itself -------------------------------------------------------------------


def test_reserved_and_mixed_case_names_are_quoted() -> None:
    table = Table(
        QName("Order", "Sales"),
        (
            Column("user", "TEXT"),
            Column("order", "INT"),
            Column("CamelCase", "INT"),
            Column("plain", "INT"),
        ),
        primary_key=PrimaryKey("Order_pkey", ("order",)),
    )
    sql = to_script(render([ch.CreateTable(table)], schema()))
    assert 'CREATE TABLE "Sales"."Order"' in sql
    assert '"user" text' in sql and '"order" integer' in sql and '"CamelCase" integer' in sql
    assert "plain integer" in sql
    assert 'CONSTRAINT "Order_pkey" PRIMARY KEY ("order")' in sql


def test_each_statement_names_its_change() -> None:
    statements = render([ch.AddColumn(T, Column("x", "INT", comment="c"))], schema(BASE))
    assert [(s.change, s.object) for s in statements] == [("add_column", "t.x")] * 2


def test_unchanged_column_renders_nothing() -> None:
    assert render([alter(BASE, "name")], schema(BASE)) == []


def test_type_change_of_generated_column_has_no_using() -> None:
    """PostgreSQL rejects USING on a generated column; the expression gives the values."""
    (stmt,) = render([alter(GEN, "b", type="TEXT")], schema(GEN))
    assert stmt.sql == "ALTER TABLE g ALTER COLUMN b TYPE text"


def test_serial_sequence_names_follow_postgres() -> None:
    assert serial_sequence(QName("orders", "app"), "id") == QName("orders_id_seq", "app")
    long = object_name("t" * 40, "c" * 40, "seq")
    assert len(long) == 63 and long == "t" * 29 + "_" + "c" * 29 + "_seq"


def test_unnamed_constraint_cannot_be_dropped() -> None:
    with pytest.raises(ValueError, match="unnamed check"):
        render([ch.DropConstraint(T, Check(None, "score > 0"))], schema(BASE))


def test_types_are_spelled_as_postgres_users_write_them() -> None:
    assert pg_type("INT") == "integer"
    assert pg_type("DECIMAL(10, 2)[]") == "numeric(10,2)[]"
    assert pg_type("TIMESTAMPTZ") == "timestamptz"
    assert pg_type('app."Mood"') == 'app."Mood"'


def test_same_family_type_change_needs_no_using_nor_default_dance() -> None:
    (stmt,) = render([alter(BASE, "score", type="BIGINT")], schema(BASE))
    assert stmt.sql == "ALTER TABLE t ALTER COLUMN score TYPE bigint"
    (stmt,) = render([alter(BASE, "score", type="TEXT")], schema(BASE))
    assert stmt.sql == (
        "ALTER TABLE t ALTER COLUMN score DROP DEFAULT, ALTER COLUMN score TYPE text USING "
        "score::text, ALTER COLUMN score SET DEFAULT 0"
    )


def test_drops_a_later_drop_makes_anyway_are_not_written() -> None:
    child = Table(
        QName("child"),
        (Column("id", "INT", nullable=False), Column("parent_id", "INT")),
        foreign_keys=(
            ForeignKey("child_parent_id_fkey", ("parent_id",), QName("parent"), ("id",)),
        ),
        indexes=(Index("child_parent_idx", QName("child"), (IndexPart("parent_id"),)),),
    )
    changes: list[ch.Change] = [
        ch.DropIndex(child.indexes[0]),
        ch.DropConstraint(child.name, child.foreign_keys[0]),
        ch.DropColumn(child.name, child.columns[1]),
    ]
    sql = [s.sql for s in render(changes, schema(PARENT, child))]
    assert sql == ["ALTER TABLE child DROP COLUMN parent_id"]
    # dropping the parent in between needs the foreign key gone first
    changes.insert(2, ch.DropTable(PARENT))
    sql = [s.sql for s in render(changes, schema(PARENT, child))]
    assert sql == [
        "DROP INDEX child_parent_idx",
        "ALTER TABLE child DROP CONSTRAINT child_parent_id_fkey",
        "DROP TABLE parent",
        "ALTER TABLE child DROP COLUMN parent_id",
    ]


def test_consecutive_enum_changes_recreate_the_type_once() -> None:
    wide = replace(MOOD, values=("sad", "meh", "happy", "ecstatic"))
    middle = replace(MOOD, values=("sad", "happy", "ecstatic"))
    statements = render(
        [ch.AlterEnum(wide, middle), ch.AlterEnum(middle, MOOD)],
        schema(FEELINGS, enums=(wide,)),
    )
    assert sum(s.sql.startswith("CREATE TYPE") for s in statements) == 1


def test_sequence_options_merge_and_alter_names_only_what_differs() -> None:
    grown = Sequence(QName("n"), "AS integer START WITH 100 CACHE 1 INCREMENT BY 10 MAXVALUE 500")
    made = Sequence(QName("n"), "AS integer START WITH 100 INCREMENT BY 1 CACHE 1")
    appended = replace(grown, definition=made.definition + " INCREMENT BY 10 MAXVALUE 500")
    (create,) = render([ch.CreateSequence(appended)], schema())
    assert create.sql == f"CREATE SEQUENCE n {grown.definition}"
    (alter_,) = render([ch.AlterSequence(grown, made)], schema(sequences=(grown,)))
    assert alter_.sql == "ALTER SEQUENCE n INCREMENT BY 1 NO MAXVALUE"


def test_function_a_trigger_uses_is_replaced_in_place(engine_db: MakeDb) -> None:
    """A function first written as plain CREATE comes back with CREATE OR REPLACE: DROP
    FUNCTION would fail while the trigger depends on it."""
    old = Opaque(
        "function",
        "stamp()",
        "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "DROP FUNCTION stamp()",
    )
    new = replace(
        old,
        definition="CREATE OR REPLACE " + old.definition[len("CREATE ") :].replace("NEW", "OLD"),
    )
    trigger = "CREATE TRIGGER stamp BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION stamp()"
    db = fresh(engine_db, [BASE_SQL, new.definition, trigger])
    statements = render([ch.ReplaceOpaque(new, old)], schema(BASE, opaque=(new,)))
    assert [s.sql for s in statements] == ["CREATE OR REPLACE " + old.definition[len("CREATE ") :]]
    run(db, statements)
    want = fresh(engine_db, [BASE_SQL, old.definition, trigger])
    assert db.catalog().diff(want.catalog()) == []


def test_serial_default_dropped_and_restored_keeps_the_sequence() -> None:
    """DROP DEFAULT leaves a serial's sequence in place (replay: the column stops being serial,
    the sequence appears); going either way touches only the default, never the sequence."""
    before = SERIALS.columns[0]
    plain = replace(before, auto=None)
    seq = Sequence(QName("s_a_seq"), "AS integer", owned_by="s.a")
    forward = render(
        [ch.AlterColumn(SERIALS.name, before, plain), ch.CreateSequence(seq)], schema(SERIALS)
    )
    assert [s.sql for s in forward] == ["ALTER TABLE s ALTER COLUMN a DROP DEFAULT"]
    after = schema(replace(SERIALS, columns=(plain, *SERIALS.columns[1:])), sequences=(seq,))
    back = render([ch.DropSequence(seq), ch.AlterColumn(SERIALS.name, plain, before)], after)
    assert [s.sql for s in back] == [
        "ALTER TABLE s ALTER COLUMN a SET DEFAULT nextval('s_a_seq'::regclass)"
    ]


def test_foreign_key_goes_before_the_key_it_references_even_if_its_column_goes_later(
    engine_db: MakeDb,
) -> None:
    prior = (
        "CREATE TABLE u (id int CONSTRAINT u_pk PRIMARY KEY, ref int CONSTRAINT u_ref REFERENCES u)"
    )
    table = Table(
        QName("u"),
        (Column("id", "INT", nullable=False), Column("ref", "INT")),
        primary_key=PrimaryKey("u_pk", ("id",)),
        foreign_keys=(ForeignKey("u_ref", ("ref",), QName("u"), ("id",)),),
    )
    changes: list[ch.Change] = [
        ch.DropConstraint(table.name, table.foreign_keys[0]),
        ch.DropConstraint(table.name, table.primary_key or PrimaryKey(None, ())),
        ch.DropColumn(table.name, table.columns[1]),
    ]
    statements = render(changes, schema(table))
    assert [s.change for s in statements] == ["drop_constraint", "drop_constraint", "drop_column"]
    db = fresh(engine_db, [prior])
    run(db, statements)
    want = fresh(engine_db, ["CREATE TABLE u (id int NOT NULL)"])
    assert unnamed_not_null(db.catalog()).diff(unnamed_not_null(want.catalog())) == []
