"""MariaDB's implicit JSON check keeps the name a column had when it was defined.

RENAME COLUMN leaves it; MODIFY/CHANGE/ADD re-create it under the column's current name, and
no statement renames a check. A down that restates such a column cannot give the older name
back: the plan says so instead of calling the down complete. Checked on MariaDB too.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.replay import Migration
from bot.engines import ScratchDatabase

M = Dialect.MYSQL
HISTORY = [
    Migration(
        "1.sql", "CREATE TABLE flows (id integer PRIMARY KEY, tags_json json DEFAULT ('[]'))"
    ),
    Migration("2.sql", "ALTER TABLE flows RENAME COLUMN tags_json TO tags"),
]
RESTATED = Migration("3.sql", "ALTER TABLE flows MODIFY COLUMN tags json NULL DEFAULT NULL")
DEFAULT_ONLY = Migration("3.sql", "ALTER TABLE flows ALTER COLUMN tags DROP DEFAULT")


def _checks(db: ScratchDatabase) -> list[str]:
    rows = db.query(
        "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS"
        " WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1"
    )
    return [str(r[0]) for r in rows]


def _run(db: ScratchDatabase, migrations: list[Migration], down: list[str]) -> list[str]:
    for m in migrations:
        db.execute([m.sql])
    db.execute(down)
    return _checks(db)


def test_a_restated_json_column_makes_the_down_say_its_check_keeps_the_new_name(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    down = down_between([*HISTORY, RESTATED], HISTORY, M)
    notes = [u.reason for u in down.unmodelled]
    assert any("JSON check of flows.tags" in n and "tags_json" in n for n in notes), notes
    # what the note says is what MariaDB does: the check was tags_json, the down leaves tags
    assert _checks(_ran(engine_db, HISTORY)) == ["tags_json"]
    sql = [r.sql for r in down.statements]
    assert _run(engine_db("mysql"), [*HISTORY, RESTATED], sql) == ["tags"]


def test_a_default_change_keeps_the_check_name_and_the_down_is_complete(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    down = down_between([*HISTORY, DEFAULT_ONLY], HISTORY, M)
    assert down.unmodelled == ()
    sql = [r.sql for r in down.statements]
    assert _run(engine_db("mysql"), [*HISTORY, DEFAULT_ONLY], sql) == ["tags_json"]


def test_renaming_a_json_column_back_gives_its_check_its_name_again(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    history = [Migration("1.sql", "CREATE TABLE flows (id integer PRIMARY KEY, tags json)")]
    renamed = Migration("2.sql", "ALTER TABLE flows RENAME COLUMN tags TO labels")
    down = down_between([*history, renamed], history, M)
    assert down.unmodelled == ()
    sql = [r.sql for r in down.statements]
    assert sql == ["ALTER TABLE flows RENAME COLUMN labels TO tags"]
    assert _run(engine_db("mysql"), [*history, renamed], sql) == ["tags"]


def _ran(
    engine_db: Callable[[str], ScratchDatabase], migrations: list[Migration]
) -> ScratchDatabase:
    db = engine_db("mysql")
    for m in migrations:
        db.execute([m.sql])
    return db
