"""Which SQLite rebuilds have no value for a NOT NULL column, or only the default for a
UNIQUE one: the gaps that make a down incomplete ("its values are gone"). A table the same changes created holds no rows, so its
rebuild has no gap; a table holding rows under that name does, whatever renames led there."""

from __future__ import annotations

import pytest

from bot.core import changes as ch
from bot.core.down import down_between
from bot.core.model import Column, Dialect, PrimaryKey, QName, Table, Unique
from bot.core.render.sqlite import Gap, GapKind, inside_transaction, render_with_gaps
from bot.core.replay import Migration
from bot.engines import EngineError, ScratchServer
from tests.core.render.test_sqlite import BASE, BASE_ROWS, BASE_SQL, T, fresh, schema

X, Z = QName("x"), QName("z")
MUST = Column("must", "TEXT", nullable=False)


def made(name: QName) -> ch.CreateTable:
    return ch.CreateTable(Table(name, (Column("id", "INTEGER"),), PrimaryKey(None, ("id",))))


def must_first(table: QName) -> ch.AddColumn:
    """A NOT NULL column without default in first place: only a rebuild can add it."""
    return ch.AddColumn(table, MUST, first=True)


@pytest.mark.parametrize(
    ("changes", "gaps"),
    [
        pytest.param([must_first(T)], ["t.must"], id="a table holding rows"),
        pytest.param([made(X), must_first(X)], [], id="a table just created"),
        pytest.param([made(X), ch.RenameTable(X, Z), must_first(Z)], [], id="created, renamed"),
        pytest.param(
            [made(X), ch.DropTable(made(X).table), ch.RenameTable(T, X), must_first(X)],
            ["x.must"],
            id="created, dropped, then a table with rows renamed to its name",
        ),
        pytest.param(
            [made(X), ch.RenameTable(X, Z), ch.RenameTable(T, X), must_first(X)],
            ["x.must"],
            id="created and renamed away, then a table with rows renamed to its name",
        ),
    ],
)
def test_a_rebuild_has_a_gap_only_where_rows_can_be(
    sqlite_server: ScratchServer, changes: list[ch.Change], gaps: list[str]
) -> None:
    statements, found = render_with_gaps(changes, schema(BASE))
    assert found == [Gap(g) for g in gaps]
    # the gap is real: on the rows of BASE the copy into the NOT NULL column fails
    db = fresh(sqlite_server, [BASE_SQL, BASE_ROWS])
    if gaps:
        with pytest.raises(EngineError, match="NOT NULL constraint failed"):
            db.execute([s.sql for s in statements])
    else:
        db.execute([s.sql for s in statements])


@pytest.mark.parametrize("first", [True, False], ids=["added by the rebuild", "added in place"])
@pytest.mark.parametrize(
    ("column", "unique", "gaps"),
    [
        pytest.param(Column("code", "TEXT", default="'x'"), True, ["t.code"], id="one default"),
        pytest.param(Column("code", "TEXT"), True, [], id="NULL in every row: no clash"),
        pytest.param(Column("code", "TEXT", default="'x'"), False, [], id="not unique"),
    ],
)
def test_a_unique_column_given_its_default_in_every_row_is_a_gap(
    sqlite_server: ScratchServer, column: Column, unique: bool, gaps: list[str], first: bool
) -> None:
    changes: list[ch.Change] = [ch.AddColumn(T, column, first=first)]
    if unique:
        changes.append(ch.AddConstraint(T, Unique(None, ("code",))))
    statements, found = render_with_gaps(changes, schema(BASE))
    assert found == [Gap(g, GapKind.SAME_DEFAULT) for g in gaps]
    db = fresh(sqlite_server, [BASE_SQL, BASE_ROWS])  # two rows
    if gaps:
        with pytest.raises(EngineError, match="UNIQUE constraint failed"):
            db.execute([s.sql for s in statements])
    else:
        db.execute([s.sql for s in statements])


# A parent rebuilt by hand through a shadow table, one statement a file (Ory Kratos): while
# the old parent is dropped, the child's key names a table that does not exist.
SHADOW_HISTORY = [
    "CREATE TABLE p (id TEXT PRIMARY KEY, v TEXT)",
    "CREATE TABLE c (id TEXT PRIMARY KEY, p_id TEXT REFERENCES p (id) ON DELETE CASCADE)",
    "CREATE TABLE _p_tmp (id TEXT PRIMARY KEY, v TEXT NOT NULL DEFAULT '')",
    "INSERT INTO _p_tmp (id, v) SELECT id, v FROM p",
    "DROP TABLE p",
]
SHADOW_STEP = 'ALTER TABLE "_p_tmp" RENAME TO "p"'


def test_a_rebuild_copying_into_a_key_that_names_no_table_is_a_gap(
    sqlite_server: ScratchServer,
) -> None:
    older = [Migration(f"{i}.sql", sql) for i, sql in enumerate(SHADOW_HISTORY)]
    down = down_between([*older, Migration("9.sql", SHADOW_STEP)], older, Dialect.SQLITE)
    assert not down.complete
    assert ["references p, which does not exist" in u.reason for u in down.unmodelled] == [True]
    # the gap is real: as a migration tool runs the file, in one transaction with foreign
    # keys on, the copy fails; outside one the down's own PRAGMA makes it work
    script = [r.sql for r in down.statements]
    for in_transaction in (True, False):
        db = fresh(sqlite_server, SHADOW_HISTORY)
        db.execute([SHADOW_STEP])
        if in_transaction:
            with pytest.raises(EngineError, match=r"no such table: main\.p\b"):
                db.execute(["BEGIN", *inside_transaction(script), "COMMIT"])
        else:
            db.execute(script)
            assert db.catalog().diff(fresh(sqlite_server, SHADOW_HISTORY).catalog()) == []
