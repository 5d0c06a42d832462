"""Minimal reproductions shrunk by hand from bench/fuzz.py failures, run on the real engines.

Each is a down the plan once called complete while it lost rows; a strict xfail marks one
that still does (issue 10).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.fuzz import run_script
from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.replay import Migration
from bot.engines import ScratchDatabase


def _down_keeps_rows(
    db: ScratchDatabase, dialect: str, older: list[str], newer: list[str], rows: str, table: str
) -> None:
    """Apply the history with rows, run the complete down, and find the rows under ``table``."""
    for sql in older:
        db.execute([sql])
    db.execute([rows])
    for sql in newer:
        db.execute([sql])
    files = [Migration(f"{i:03d}.sql", sql) for i, sql in enumerate(older + newer)]
    down = down_between(files, files[: len(older)], Dialect(dialect))
    assert down.complete
    run_script(db, dialect, [s.sql for s in down.statements])
    assert [r[:2] for r in db.rows(table)] == [(1, 10), (2, 20)]  # id and a


@pytest.mark.xfail(strict=True, reason="issue 10: the inverted SQLite rebuild re-creates t empty")
def test_sqlite_rebuild_inverted_keeps_rows(engine_db: Callable[[str], ScratchDatabase]) -> None:
    _down_keeps_rows(
        engine_db("sqlite"),
        "sqlite",
        ["CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)"],
        [
            "ALTER TABLE t RENAME TO t_old",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)",
            "INSERT INTO t (id, a) SELECT id, a FROM t_old",
            "DROP TABLE t_old",
        ],
        "INSERT INTO t (id, a, b) VALUES (1, 10, 100), (2, 20, 200)",
        "t",
    )


def test_postgres_rename_survives_the_fallback(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    _down_keeps_rows(
        engine_db("postgres"),
        "postgres",
        [
            "CREATE TABLE t5 (id integer PRIMARY KEY, a integer)",
            "CREATE VIEW v7 AS SELECT a FROM t5",
        ],
        ["ALTER TABLE t5 RENAME TO t9", "DROP VIEW v7"],
        "INSERT INTO t5 VALUES (1, 10), (2, 20)",
        "t5",
    )
