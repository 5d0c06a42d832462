"""Which SQLite table swaps (rename, create, drop) become one row-keeping rebuild, and which
stay as written, run on the engine.

A swap rendered as written loses every row; a sequence that only looks like one, rendered
as a rebuild, skips statements the changes between its steps need.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import changes as ch
from bot.core.model import Column, Index, IndexPart, Opaque, PrimaryKey, QName, Table, View
from bot.core.render.sqlite import Gap, render, render_with_gaps
from bot.engines import EngineError, ScratchServer
from tests.core.render.test_sqlite import BASE, Case, T, alter, fresh, prove, schema, trigger

P, P_NEW, P_OLD = QName("p"), QName("p_new"), QName("p_old")
P_SQL = "CREATE TABLE p (id INTEGER PRIMARY KEY, amount NUMERIC(12, 2) NOT NULL)"
P_ROWS = "INSERT INTO p VALUES (1, 100), (2, 250)"
NEWER = Table(
    P,
    (Column("id", "INTEGER"), Column("amount", "NUMERIC(12, 2)", nullable=False)),
    PrimaryKey(None, ("id",)),
)
OLDER = replace(NEWER, columns=(NEWER.columns[0], Column("amount", "INTEGER", nullable=False)))
OLDER_SQL = "CREATE TABLE p (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)"


def swap(*between: ch.Change) -> list[ch.Change]:
    """Rename p to p_new, `between`, create p in its older shape, drop p_new."""
    return [
        ch.RenameTable(P, P_NEW),
        *between,
        ch.CreateTable(OLDER),
        ch.DropTable(replace(NEWER, name=P_NEW)),
    ]


def rebuilds(statements: list[str]) -> int:
    return sum(s.startswith("CREATE TABLE _rp_new_") for s in statements)


ON_P_NEW = "CREATE TRIGGER p_seen AFTER INSERT ON p_new BEGIN SELECT 1; END"


@pytest.mark.parametrize(
    "between",
    [
        pytest.param(ch.CreateIndex(Index("p_amount", P_NEW, (IndexPart("amount"),))), id="index"),
        pytest.param(ch.AddColumn(P_NEW, Column("note", "TEXT")), id="column"),
        pytest.param(ch.CreateOpaque(trigger("p_seen", "p_new", ON_P_NEW)), id="trigger"),
    ],
)
def test_a_change_to_the_renamed_table_between_keeps_the_statements_as_written(
    sqlite_server: ScratchServer, between: ch.Change
) -> None:
    """The change needs the renamed table to exist: the steps are not a swap to rebuild."""
    changes = swap(between)
    if isinstance(between, ch.AddColumn):
        changes[-1] = ch.DropTable(
            replace(NEWER, name=P_NEW, columns=(*NEWER.columns, between.column))
        )
    statements = [s.sql for s in render(changes, schema(NEWER))]
    assert statements[0] == "ALTER TABLE p RENAME TO p_new"
    assert rebuilds(statements) == 0
    db = fresh(sqlite_server, [P_SQL, P_ROWS])
    db.execute(statements)
    assert db.rows("p") == []  # as written: the rows went with p_new


def test_steps_that_are_not_swaps_before_a_swap_do_not_hide_it(
    sqlite_server: ScratchServer,
) -> None:
    o, o2, r, s, u, u2, w, w2 = (QName(n) for n in ("o", "o2", "r", "s", "u", "u2", "w", "w2"))
    one = (Column("x", "INT"),)
    tables = {n: Table(n, one) for n in (o, u)}
    changes: list[ch.Change] = [
        ch.RenameTable(o, o2),  # renamed, nothing created in its place
        ch.CreateTable(Table(r, one)),  # created, then indexed: not renamed next
        ch.CreateIndex(Index("r_x", r, (IndexPart("x"),))),
        ch.CreateTable(Table(s, one)),  # created, never renamed
        ch.CreateTable(Table(w, one)),  # created, renamed, nothing dropped before
        ch.RenameTable(w, w2),
        ch.RenameTable(u, u2),  # renamed, recreated, the old one kept
        ch.CreateTable(Table(u, one)),
        *swap(),
    ]
    prove(
        sqlite_server,
        Case(
            [P_SQL, "CREATE TABLE o (x INT)", "CREATE TABLE u (x INT)"],
            schema(NEWER, *tables.values()),
            changes,
            [
                OLDER_SQL,
                "CREATE TABLE o2 (x INT)",
                "CREATE TABLE r (x INT)",
                "CREATE INDEX r_x ON r (x)",
                "CREATE TABLE s (x INT)",
                "CREATE TABLE w2 (x INT)",
                "CREATE TABLE u2 (x INT)",
                "CREATE TABLE u (x INT)",
            ],
            data=[P_ROWS],
            rows={"SELECT * FROM p": [(1, 100), (2, 250)]},
            rebuilds=1,
        ),
    )


def test_a_change_to_another_table_inside_a_swap_keeps_it_a_swap(
    sqlite_server: ScratchServer,
) -> None:
    """Create p_old, drop p, change another table, rename p_old to p: still one rebuild."""
    older = replace(OLDER, name=P_OLD)
    changes: list[ch.Change] = [
        ch.CreateTable(older),
        ch.DropTable(NEWER),
        ch.AddColumn(T, Column("extra", "TEXT")),
        ch.RenameTable(P_OLD, P),
    ]
    base_sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INT DEFAULT 0, note TEXT)"
    prove(
        sqlite_server,
        Case(
            [P_SQL, base_sql],
            schema(NEWER, BASE),
            changes,
            [OLDER_SQL, base_sql.replace(")", ", extra TEXT)")],
            data=[P_ROWS],
            rows={"SELECT * FROM p": [(1, 100), (2, 250)]},
            rebuilds=1,
        ),
    )


def test_a_table_renamed_away_before_another_takes_its_name_is_not_a_swap(
    sqlite_server: ScratchServer,
) -> None:
    """Create p_new, rename p to p_old, rename p_new to p: p's rows stay in p_old."""
    changes: list[ch.Change] = [
        ch.CreateTable(replace(OLDER, name=P_NEW)),
        ch.RenameTable(P, P_OLD),
        ch.RenameTable(P_NEW, P),
    ]
    statements = [s.sql for s in render(changes, schema(NEWER))]
    assert statements[1:] == ["ALTER TABLE p RENAME TO p_old", "ALTER TABLE p_new RENAME TO p"]
    db = fresh(sqlite_server, [P_SQL, P_ROWS])
    db.execute(statements)
    assert db.rows("p_old") == [(1, 100), (2, 250)]


def test_a_swap_brings_back_the_views_and_triggers_that_read_the_table(
    sqlite_server: ScratchServer,
) -> None:
    log_sql = "CREATE TABLE log (id INT)"
    view_sql = "CREATE VIEW big AS SELECT id FROM p WHERE amount > 100"
    bump = (
        "CREATE TRIGGER log_p AFTER INSERT ON log BEGIN"
        " UPDATE p SET amount = amount + 1 WHERE id = new.id; END"
    )
    before = schema(
        NEWER,
        Table(QName("log"), (Column("id", "INT"),)),
        views=(View(QName("big"), view_sql.split(" AS ", 1)[1]),),
        opaque=(trigger("log_p", "log", bump),),
    )
    db = fresh(sqlite_server, [P_SQL, log_sql, view_sql, bump, P_ROWS])
    statements = [s.sql for s in render(swap(), before)]
    db.execute(statements)
    assert rebuilds(statements) == 1
    want = fresh(sqlite_server, [OLDER_SQL, log_sql, view_sql, bump]).catalog()
    assert db.catalog().diff(want, column_order=True) == []
    db.execute(["INSERT INTO log VALUES (2)"])
    assert db.query("SELECT * FROM big") == [(2,)]
    assert db.query("SELECT amount FROM p WHERE id = 2") == [(251,)]


def test_an_object_of_no_table_between_the_steps_keeps_the_swap(
    sqlite_server: ScratchServer,
) -> None:
    docs = "CREATE VIRTUAL TABLE docs USING fts5(body)"
    fts = Opaque("virtual table", "docs", docs, "DROP TABLE docs")
    statements = [s.sql for s in render(swap(ch.CreateOpaque(fts)), schema(NEWER))]
    assert statements[0] == docs and rebuilds(statements) == 1
    db = fresh(sqlite_server, [P_SQL, P_ROWS])
    db.execute(statements)
    assert db.rows("p") == [(1, 100), (2, 250)]


def test_a_swap_that_brings_back_a_not_null_column_without_default_reports_the_gap(
    sqlite_server: ScratchServer,
) -> None:
    older = replace(OLDER, columns=(*OLDER.columns, Column("code", "TEXT", nullable=False)))
    changes = swap()
    changes[1] = ch.CreateTable(older)
    statements, gaps = render_with_gaps(changes, schema(NEWER))
    assert gaps == [Gap("p.code")]
    db = fresh(sqlite_server, [P_SQL, P_ROWS])
    with pytest.raises(EngineError, match="NOT NULL constraint failed"):
        db.execute([s.sql for s in statements])


def test_a_rebuild_refuses_when_its_temporary_name_is_taken_in_the_same_database() -> None:
    aux_t = replace(BASE, name=QName("t", "aux"))
    taken = Table(QName("_rp_new_t", "aux"), (Column("x", "INT"),))
    change = alter(BASE.columns[3], type="BLOB")
    change = replace(change, table=aux_t.name)
    with pytest.raises(
        ValueError, match=r"cannot rebuild aux\.t: a table named aux\._rp_new_t already exists"
    ):
        render([change], schema(aux_t, taken))
