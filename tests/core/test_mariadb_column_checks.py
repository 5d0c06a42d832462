"""MariaDB's column-level CHECKs (a JSON column's implicit json_valid one included).

information_schema keeps the name a column had when its CHECK was defined through RENAME
COLUMN, but no statement can address that name: DROP CONSTRAINT refuses it and a table CHECK
may take it. The catalog therefore compares column checks by clause, and a down that restates
such a column is complete. Checked on MariaDB.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.replay import Migration
from bot.engines import EngineError, ScratchDatabase

M = Dialect.MYSQL
HISTORY = [
    Migration(
        "1.sql", "CREATE TABLE flows (id integer PRIMARY KEY, tags_json json DEFAULT ('[]'))"
    ),
    Migration("2.sql", "ALTER TABLE flows RENAME COLUMN tags_json TO tags"),
]
RESTATED = Migration("3.sql", "ALTER TABLE flows MODIFY COLUMN tags json NULL DEFAULT NULL")


def _check_names(db: ScratchDatabase) -> list[str]:
    rows = db.query(
        "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS"
        " WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1"
    )
    return [str(r[0]) for r in rows]


def _ran(
    engine_db: Callable[[str], ScratchDatabase], migrations: list[Migration]
) -> ScratchDatabase:
    db = engine_db("mysql")
    for m in migrations:
        db.execute([m.sql])
    return db


def test_a_restated_json_column_gives_back_the_catalog_and_the_down_is_complete(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    down = down_between([*HISTORY, RESTATED], HISTORY, M)
    assert down.unmodelled == ()
    older = _ran(engine_db, HISTORY)
    undone = _ran(engine_db, [*HISTORY, RESTATED])
    undone.execute([r.sql for r in down.statements])
    assert undone.catalog() == older.catalog()
    # the one thing that differs is the name nothing can address
    assert (_check_names(older), _check_names(undone)) == (["tags_json"], ["tags"])


def test_a_column_checks_kept_name_is_not_addressable(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """Why the catalog ignores it: MariaDB refuses to drop it by that name, and lets a table
    CHECK take it."""
    db = _ran(engine_db, HISTORY)
    with pytest.raises(EngineError, match="DROP CONSTRAINT"):
        db.execute(["ALTER TABLE flows DROP CONSTRAINT tags_json"])
    db.execute(["ALTER TABLE flows ADD CONSTRAINT tags_json CHECK (id > 0)"])
    assert _check_names(db) == ["tags_json", "tags_json"]


def test_a_column_check_is_told_from_a_table_check_of_the_same_clause(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """Compared by clause, a column's own CHECK still differs from a table CHECK: MODIFY drops
    one and keeps the other."""
    own = engine_db("mysql")
    own.execute(["CREATE TABLE t (id int PRIMARY KEY, c int CHECK (c > 0))"])
    table = engine_db("mysql")
    table.execute(["CREATE TABLE t (id int PRIMARY KEY, c int, CONSTRAINT c CHECK (c > 0))"])
    assert own.catalog() != table.catalog()
