"""The author's down judged on the engine: run at the deployed state on the same scratch engine
as the proof, the way the migration tool runs a file, and compared with the reverted-to catalog.
The model alone accepts downs the server rejects and flags right ones written differently."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from bot.core.model import Dialect
from bot.core.plan import Plan, plan_json
from bot.core.risk import Verdict
from bot.markdown.plan import plan_markdown
from bot.planner import PlanOptions, plan_commit
from tests.planner.repo import NOW, Repo, only_source

M = "db/migrations"


def reverted(tmp_path: Path, history: str, up: str, down: str) -> Repo:
    """Migration 2 (with the author's down) is applied, then reverted."""
    repo = Repo(tmp_path / "app")
    repo.commit("History", {f"{M}/000001_history.up.sql": history})
    repo.commit(
        "Change",
        {f"{M}/000002_change.up.sql": up, f"{M}/000002_change.down.sql": down},
    )
    repo.revert("HEAD")
    return repo


def plan(repo: Repo, dialect: Dialect, *, verify: bool) -> Plan:
    opts = PlanOptions(dialect=dialect, verify=verify)
    return plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=opts)


USERS = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\n"
INDEX = "CREATE INDEX users_email_idx ON users (email);\n"


@pytest.mark.usefixtures("postgres_server")
def test_a_down_postgres_rejects_is_a_finding_with_the_servers_message(tmp_path: Path) -> None:
    # MySQL's spelling: PostgreSQL has no DROP INDEX ... ON
    repo = reverted(tmp_path, USERS, INDEX, "DROP INDEX users_email_idx ON users;\n")
    p = plan(repo, Dialect.POSTGRES, verify=True)
    h = only_source(p).handwritten
    assert h.engine is not None and h.engine.startswith("PostgreSQL")
    assert h.restores is False
    assert h.failure is not None and "DROP INDEX users_email_idx ON users" in h.failure
    assert "syntax error" in h.failure
    assert only_source(p).verdict is not Verdict.SAFE
    text = plan_markdown(p)
    assert "**The author's down** **fails** on PostgreSQL" in text
    assert "| fails on the engine |" in text
    data = json.loads(json.dumps(plan_json(p)))["sources"][0]["handwritten_down"]
    assert data["failure"] == h.failure and data["judged_by"] == h.engine


@pytest.mark.usefixtures("postgres_server")
def test_our_own_down_is_still_safe_when_the_authors_is_right(tmp_path: Path) -> None:
    repo = reverted(tmp_path, USERS, INDEX, "DROP INDEX users_email_idx;\n")
    p = plan(repo, Dialect.POSTGRES, verify=True)
    source = only_source(p)
    assert source.handwritten.restores is True
    assert source.handwritten.engine is not None
    assert source.verdict is Verdict.SAFE
    assert "restores the previous schema (run on PostgreSQL" in plan_markdown(p)


@pytest.mark.usefixtures("postgres_server")
def test_golang_migrate_runs_a_one_statement_file_outside_a_transaction(tmp_path: Path) -> None:
    # golang-migrate sends the file as one query: a lone statement has no transaction around
    # it, so CONCURRENTLY works, as it does in production
    repo = reverted(tmp_path, USERS, INDEX, "DROP INDEX CONCURRENTLY users_email_idx;\n")
    h = only_source(plan(repo, Dialect.POSTGRES, verify=True)).handwritten
    assert h.restores is True, (h.failure, h.differences)
    assert h.engine is not None


@pytest.mark.usefixtures("postgres_server")
def test_golang_migrate_runs_several_statements_in_one_implicit_transaction(
    tmp_path: Path,
) -> None:
    up = INDEX + "CREATE INDEX users_id_idx ON users (id);\n"
    down = "DROP INDEX users_id_idx;\nDROP INDEX CONCURRENTLY users_email_idx;\n"
    repo = reverted(tmp_path, USERS, up, down)
    h = only_source(plan(repo, Dialect.POSTGRES, verify=True)).handwritten
    assert h.restores is False
    assert h.failure is not None and "cannot run inside a transaction block" in h.failure


def test_sqlite_drop_index_with_a_table_prefix_drops_nothing(tmp_path: Path) -> None:
    # SQLite reads `users.` as a schema name: IF EXISTS then quietly drops nothing
    down = "DROP INDEX IF EXISTS users.users_email_idx;\n"
    repo = reverted(tmp_path, USERS, INDEX, down)
    p = plan(repo, Dialect.SQLITE, verify=True)
    h = only_source(p).handwritten
    assert h.engine is not None and h.engine.startswith("SQLite")
    assert h.restores is False
    assert h.differences  # what the catalog still has
    assert any("users_email_idx" in d for d in h.differences)


@pytest.mark.usefixtures("postgres_server")
def test_the_engine_accepts_a_right_down_the_model_flagged_for_its_wording(
    tmp_path: Path,
) -> None:
    history = USERS + "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
    up = "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;\n"
    down = "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
    repo = reverted(tmp_path, history, up, down)
    model = only_source(plan(repo, Dialect.POSTGRES, verify=False)).handwritten
    engine = only_source(plan(repo, Dialect.POSTGRES, verify=True)).handwritten
    assert engine.restores is True, engine.differences
    assert engine.engine is not None
    # the model compares function text as written; say what it said, so the test shows why
    assert model.engine is None and model.restores in (True, False)


DYNAMIC = "DO $$ BEGIN EXECUTE 'DROP INDEX users_email_idx'; END $$;\n"


def test_a_down_nobody_could_judge_leaves_the_plan_needing_a_person(tmp_path: Path) -> None:
    # proof off: only the model judges, and it can't read a DO block
    repo = reverted(tmp_path, USERS, INDEX, DYNAMIC)
    p = plan(repo, Dialect.POSTGRES, verify=False)
    source = only_source(p)
    assert source.handwritten.restores is None
    assert source.verdict is not Verdict.SAFE
    assert "could not be judged, so the plan needs a person" in plan_markdown(p)


@pytest.mark.usefixtures("postgres_server")
def test_the_engine_judges_what_the_model_cannot_read(tmp_path: Path) -> None:
    repo = reverted(tmp_path, USERS, INDEX, DYNAMIC)
    source = only_source(plan(repo, Dialect.POSTGRES, verify=True))
    assert source.handwritten.restores is True
    assert source.handwritten.engine is not None
    assert not source.handwritten.gates


def test_an_author_down_that_only_reorders_columns_restores_where_order_is_cosmetic(
    tmp_path: Path,
) -> None:
    # SQLite's ADD COLUMN appends: the author's down puts `email` back at the end, as ours does
    history = "CREATE TABLE users (id integer PRIMARY KEY, email text, name text);\n"
    repo = reverted(
        tmp_path,
        history,
        "ALTER TABLE users DROP COLUMN email;\n",
        "ALTER TABLE users ADD COLUMN email text;\n",
    )
    cosmetic = only_source(plan(repo, Dialect.SQLITE, verify=True)).handwritten
    assert cosmetic.engine is not None
    assert cosmetic.restores is True, cosmetic.differences
    assert "column order" in cosmetic.differences[0]
    assert any("table users: column_order" in d for d in cosmetic.differences)

    opts = PlanOptions(dialect=Dialect.SQLITE, verify=True, exact_column_order=True)
    exact = only_source(plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=opts)).handwritten
    assert exact.restores is False
    assert any("column_order" in d for d in exact.differences)


def test_a_down_right_on_the_schema_that_empties_a_table_restores_and_gates(
    tmp_path: Path,
) -> None:
    # the schema comes back, the rows don't: right on empty tables, not on a real database
    down = "DROP INDEX users_email_idx;\nDELETE FROM users;\n"
    repo = reverted(tmp_path, USERS, INDEX, down)
    p = plan(repo, Dialect.SQLITE, verify=True)
    source = only_source(p)
    h = source.handwritten
    assert h.restores is True and h.failure is None, h.differences
    assert h.with_rows and "loses data it does not declare" in h.with_rows[0]
    assert any("table users" in d and "rows" in d for d in h.with_rows[1:])
    assert h.gates and source.verdict is not Verdict.SAFE
    text = plan_markdown(p)
    assert "| restores the schema, not with rows |" in text
    assert "restores the previous schema on empty tables (run on SQLite" in text
    assert "but **not with rows** in them, so the plan needs a person" in text
    data = json.loads(json.dumps(plan_json(p)))["sources"][0]["handwritten_down"]
    assert data["restores"] is True and data["with_rows"] == list(h.with_rows)


@pytest.mark.usefixtures("postgres_server")
def test_a_down_postgres_rejects_only_on_rows_names_the_servers_error(tmp_path: Path) -> None:
    # NOT NULL with no default: fine on an empty table, refused once `users` has rows
    history = USERS + "CREATE INDEX users_id_idx ON users (id);\n"
    up = "DROP INDEX users_id_idx;\n"
    down = "CREATE INDEX users_id_idx ON users (id);\nALTER TABLE users ADD COLUMN nick text NOT NULL;\nALTER TABLE users DROP COLUMN nick;\n"
    repo = reverted(tmp_path, history, up, down)
    source = only_source(plan(repo, Dialect.POSTGRES, verify=True))
    h = source.handwritten
    assert h.engine is not None and h.engine.startswith("PostgreSQL")
    assert h.restores is True and h.failure is None, h.differences
    assert "failed" in h.with_rows[0] and "contains null values" in h.with_rows[0]
    assert source.verdict is not Verdict.SAFE
