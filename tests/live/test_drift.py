"""Drift compares like with like: the live catalog against the history replayed on a scratch
engine of the same dialect, read by the same code. A database built exactly from the history
reports no drift; a real difference is reported; a plan from a drifted live schema keeps the
history's renames."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import bot.engines.proof as proof_module
from bot.core import changes as ch
from bot.core.down import compute_down
from bot.core.model import Dialect
from bot.core.replay import Migration, replay, replay_sql
from bot.core.split import split_statements
from bot.engines import ScratchDatabase, ScratchServer
from bot.engines.proof import ScratchEngines
from bot.live import inspect_live
from bot.live.plan import down_from_live
from tests.live.test_report import _mysql_root, _pg_url

LONG = "trg_" + "x" * 70  # over PostgreSQL's 63 bytes: the server truncates it its own way

HISTORY = {
    Dialect.POSTGRES: [
        "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL,"
        " score numeric(10,2) CHECK (score > 0 AND score < 100), deleted boolean DEFAULT false);\n"
        "CREATE UNIQUE INDEX users_live_email ON users (lower(email)) WHERE NOT deleted;\n"
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RETURN NEW; END $$;\n"
        f"CREATE TRIGGER {LONG} BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();\n",
        "ALTER TABLE users RENAME TO accounts;\n"
        "CREATE TRIGGER on_renamed BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION touch();\n",
    ],
    Dialect.MYSQL: [
        "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL,"
        " score DECIMAL(10,2), CONSTRAINT score_range CHECK (score > 0 AND score < 100));\n"
        "CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW SET NEW.score = NEW.score;\n",
        "RENAME TABLE users TO accounts;\n",
    ],
    Dialect.SQLITE: [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL,"
        " score REAL CHECK (score > 0 AND score < 100), deleted INTEGER DEFAULT 0);\n"
        "CREATE UNIQUE INDEX users_live_email ON users (lower(email)) WHERE deleted = 0;\n"
        f"CREATE TRIGGER {LONG} AFTER UPDATE ON users BEGIN SELECT 1; END;\n",
        "ALTER TABLE users RENAME TO accounts;\n",
    ],
}


@pytest.fixture
def engines(
    postgres_server: ScratchServer, mariadb_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history is replayed on the session's servers instead of new ones."""
    shared = ScratchEngines()
    shared.use(Dialect.POSTGRES, postgres_server)
    shared.use(Dialect.MYSQL, mariadb_server)
    monkeypatch.setattr(proof_module, "ENGINES", shared)


def _build(
    dialect: Dialect, history: list[str], make: Callable[[str], ScratchDatabase], tmp_path: Path
) -> str:
    """A live database built from `history` (with what `extra` adds); its URL."""
    statements = [s.text for f in history for s in split_statements(f, dialect.value)]
    if dialect is Dialect.SQLITE:
        path = tmp_path / "live.db"
        conn = sqlite3.connect(path, isolation_level=None)
        for sql in statements:
            conn.execute(sql)
        conn.close()
        return str(path)
    db = make(dialect.value)
    db.execute(statements)
    return _pg_url(db) if dialect is Dialect.POSTGRES else _mysql_root(db)


def _report(dialect: Dialect, url: str, history: list[str]) -> object:
    expected = replay_sql("".join(history), dialect).schema
    return inspect_live(dialect, url, (), expected, history=history)


@pytest.mark.usefixtures("engines")
@pytest.mark.parametrize("dialect", list(HISTORY))
def test_database_built_from_the_history_has_no_drift(
    dialect: Dialect, engine_db: Callable[[str], ScratchDatabase], tmp_path: Path
) -> None:
    url = _build(dialect, HISTORY[dialect], engine_db, tmp_path)

    report = _report(dialect, url, HISTORY[dialect])

    assert report.drift == (), report.drift  # type: ignore[attr-defined]
    assert report.problems == (), report.problems  # type: ignore[attr-defined]


@pytest.mark.usefixtures("engines")
@pytest.mark.parametrize("dialect", list(HISTORY))
def test_a_column_added_by_hand_is_drift(
    dialect: Dialect, engine_db: Callable[[str], ScratchDatabase], tmp_path: Path
) -> None:
    by_hand = "ALTER TABLE accounts ADD COLUMN nickname VARCHAR(20);\n"
    url = _build(dialect, [*HISTORY[dialect], by_hand], engine_db, tmp_path)

    report = _report(dialect, url, HISTORY[dialect])

    drift = report.drift  # type: ignore[attr-defined]
    assert len(drift) == 1 and "nickname exists on the live database" in drift[0], drift


def test_plan_from_a_drifted_live_schema_keeps_the_rename() -> None:
    dialect = Dialect.POSTGRES
    older = replay_sql(HISTORY[dialect][0], dialect).schema
    newer = replay(
        [Migration("1.sql", HISTORY[dialect][0]), Migration("2.sql", HISTORY[dialect][1])],
        dialect,
    )
    live = replay_sql(
        "".join(HISTORY[dialect]) + "ALTER TABLE accounts ADD COLUMN nickname text;", dialect
    ).schema
    down = compute_down(newer.schema, older, newer.steps[1:])

    from_live = down_from_live(live, newer.schema, down)

    kinds = [type(c) for c in from_live.changes]
    assert ch.RenameTable in kinds and ch.DropTable not in kinds and ch.CreateTable not in kinds
    assert ch.DropColumn in kinds  # the hand-added column is taken away first
