"""Catalog import and engine-backed state, on the real engines.

Round trips: a golden history built on the engine and imported has the shape the static replay
gives (expression spelling aside, see bot/engines/model_import.py), and the down diffed from two
imports, run on the engine, restores. Engine-backed state: histories with statements the model
can't read (a PostgreSQL DO block, SQLite CREATE TABLE AS, MariaDB PREPARE/EXECUTE) give a down
that is complete, says the engine settled them, and restores on the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import git
import pytest

from bot.core.diff import diff
from bot.core.down import down_between, split_unmodelled
from bot.core.model import Dialect, QName
from bot.core.render import render
from bot.core.replay import Migration, Unmodelled, replay
from bot.core.split import split_statements
from bot.engines import ScratchDatabase
from bot.engines.engine_state import engine_checked, engine_states, model_differences
from bot.engines.model_import import import_schema
from bot.markdown.plan import plan_markdown
from bot.planner import PlanOptions, plan_commit
from tests.golden.test_golden import FIXTURES, load
from tests.planner.repo import NOW, Repo

ROUND_TRIP = {
    "postgres": [
        "table_created_with_everything",
        "create_table_with_index_and_fk",
        "schema_with_enum_and_tables",
        "materialized_view_created",
        "policy_and_rls",
        "sequence_created_used_as_default",
        "identity_dropped",
        "function_and_trigger_dropped",
        "domain_dropped",
        "quoted_mixed_case_identifiers",
        "serial_int_to_bigint",
    ],
    "mysql": [
        "drop_child_table_restores_fk_index_trigger_comment",
        "indexes_unique_multi_desc_method",
        "add_generated_columns",
        "enum_and_set_columns_added",
        "int_display_width_and_tinyint",
        "procedure_replaced_and_dropped",
        "composite_fk",
        "prefix_length_indexes",
    ],
    "sqlite": sorted(p.name.removesuffix(".sql") for p in (FIXTURES / "sqlite").glob("*.sql")),
}
# SQLite table rebuilds the state diff does not reproduce (the inversion does): not importer gaps
DIFF_CANNOT = {"rebuild_reorder_columns", "rebuild_to_strict", "rebuild_to_without_rowid"}


def _built(db: ScratchDatabase, sql: str, dialect: Dialect) -> ScratchDatabase:
    db.execute([s.text for s in split_statements(sql, dialect.value)])
    return db


@pytest.mark.parametrize(
    ("dialect", "name"), [(d, n) for d, names in ROUND_TRIP.items() for n in names]
)
def test_import_round_trip(
    dialect: str, name: str, engine_db: Callable[[str], ScratchDatabase]
) -> None:
    case = load(FIXTURES / dialect / f"{name}.sql")
    d = case.dialect
    older = _built(engine_db(dialect), case.history, d)
    newer = _built(engine_db(dialect), f"{case.history}\n{case.migration}", d)
    imported_older = import_schema(older.query, d)
    imported_newer = import_schema(newer.query, d)
    assert imported_older.unread == () and imported_newer.unread == ()
    # what the engine built has the shape the static replay gives
    for sql, imported in (
        (case.history, imported_older),
        (f"{case.history}\n{case.migration}", imported_newer),
    ):
        assert model_differences(replay([Migration("h", sql)], d).schema, imported.schema) == []
    if name in DIFF_CANNOT:
        return
    down = render(diff(imported_newer.schema, imported_older.schema), imported_newer.schema)
    newer.execute([s.sql for s in down])
    assert newer.catalog().diff(older.catalog(), column_order=False) == []


def _proven(
    engine_db: Callable[[str], ScratchDatabase],
    dialect: Dialect,
    newer: list[Migration],
    older: list[Migration],
    down: list[str],
) -> None:
    at_newer = _built(engine_db(dialect.value), "".join(m.sql for m in newer), dialect)
    at_newer.execute(down)
    at_older = _built(engine_db(dialect.value), "".join(m.sql for m in older), dialect)
    assert at_newer.catalog().diff(at_older.catalog(), column_order=False) == []


PROCEDURAL = {
    Dialect.POSTGRES: [
        Migration("001_init.sql", "CREATE TABLE accounts (id serial PRIMARY KEY, name text);\n"),
        Migration(
            "002_idempotent.sql",
            """DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'audit_log') THEN
    EXECUTE 'CREATE TABLE audit_log (id bigserial PRIMARY KEY, '
      || 'account_id integer REFERENCES accounts (id))';
  END IF;
  ALTER TABLE accounts ADD COLUMN IF NOT EXISTS email text;
END
$$;
""",
        ),
        Migration(
            "003_status.sql",
            "ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'active';\n"
            "CREATE INDEX accounts_email_idx ON accounts (email);\n"
            "ALTER TABLE audit_log ADD COLUMN action text;\n",
        ),
    ],
    Dialect.SQLITE: [
        Migration("001_init.sql", "CREATE TABLE accounts (id integer PRIMARY KEY, name text);\n"),
        Migration(
            "002_copy.sql", "CREATE TABLE audit_log AS SELECT id AS account_id FROM accounts;\n"
        ),
        Migration(
            "003_status.sql",
            "ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'active';\n"
            "ALTER TABLE audit_log ADD COLUMN action text;\n",
        ),
    ],
    Dialect.MYSQL: [
        Migration("001_init.sql", "CREATE TABLE accounts (id int PRIMARY KEY, name text);\n"),
        Migration(
            "002_dynamic.sql",
            "SET @s = CONCAT('CREATE TABLE audit_log (id int PRIMARY KEY, ', 'action text)');\n"
            "PREPARE st FROM @s;\nEXECUTE st;\nDEALLOCATE PREPARE st;\n"
            "SET @s = 'ALTER TABLE accounts ADD COLUMN email varchar(100)';\n"
            "PREPARE st FROM @s;\nEXECUTE st;\nDEALLOCATE PREPARE st;\n",
        ),
        Migration(
            "003_status.sql",
            "ALTER TABLE accounts ADD COLUMN status varchar(20) NOT NULL DEFAULT 'active';\n"
            "CREATE INDEX accounts_email_idx ON accounts (email);\n"
            "ALTER TABLE audit_log ADD COLUMN at datetime;\n",
        ),
    ],
}


@pytest.mark.parametrize("dialect", list(PROCEDURAL), ids=lambda d: d.value)
def test_engine_settles_what_the_model_cannot_read(
    dialect: Dialect, engine_db: Callable[[str], ScratchDatabase]
) -> None:
    newer = PROCEDURAL[dialect]
    older = newer[:2]  # reverting 003
    static = down_between(newer, older, dialect)
    assert static.unmodelled  # the model alone can't plan this completely
    down = engine_checked(static, newer, older, dialect, undone=["003_status.sql"]).down
    assert down.complete, down.note
    assert down.note is not None and "the engine settled" in down.note
    # the statement the model could not read is still shown, as not gating
    assert newer[1].path in {u.file for u in down.listed}
    # the model never saw audit_log's new column (its table came from dynamic SQL): the
    # engine's correction drops it too
    assert any("audit_log" in s.sql for s in down.statements)
    _proven(engine_db, dialect, newer, older, [s.sql for s in down.statements])


def test_without_an_engine_the_down_stays_incomplete_and_says_why() -> None:
    newer = PROCEDURAL[Dialect.POSTGRES]
    static = down_between(newer, newer[:2], Dialect.POSTGRES)
    down = engine_checked(
        static, newer, newer[:2], Dialect.POSTGRES, undone=["003_status.sql"], postgres=False
    ).down
    assert not down.complete
    assert down.note is not None and "PostgreSQL is off" in down.note


def test_a_down_that_fails_on_rows_stays_incomplete_after_the_engine_check() -> None:
    """The scratch engine replays the history without rows, so it can't clear a down that
    has no value for a NOT NULL column: that one keeps gating."""
    newer = [
        Migration("001.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY, d TEXT NOT NULL);\n"),
        Migration("002.sql", "ALTER TABLE t DROP COLUMN d;\n"),
    ]
    static = down_between(newer, newer[:1], Dialect.SQLITE)
    down = engine_checked(static, newer, newer[:1], Dialect.SQLITE, undone=["002.sql"]).down
    assert not down.complete
    assert [u.reason.split(" ")[0] for u in down.unmodelled] == ["t.d"]


def test_old_unrelated_unmodelled_statements_are_listed_not_gating() -> None:
    history = [
        Migration("001.sql", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"),
        Migration("002.sql", "DO $$ BEGIN ALTER TABLE a ADD COLUMN x int; END $$;\n"),
        Migration("003.sql", "ALTER TABLE b ADD COLUMN y int;\n"),
    ]
    down = down_between(history, history[:2], Dialect.POSTGRES)
    gating, listed = split_unmodelled(down.unmodelled, down.statements, ["003.sql"])
    assert gating == () and [u.file for u in listed] == ["002.sql"]
    # the same block touching b gates a revert that changes b
    touching = Unmodelled("002.sql", 1, "DO $$ BEGIN ALTER TABLE b ADD z int; END $$", "DO")
    assert split_unmodelled((touching,), down.statements, ["003.sql"])[0] == (touching,)
    dynamic = Unmodelled("002.sql", 1, "DO $$ BEGIN EXECUTE 'ALTER ' || t; END $$", "DO")
    assert split_unmodelled((dynamic,), down.statements, ["003.sql"])[0] == (dynamic,)


def test_revert_after_a_do_block_is_planned_proven_and_complete(
    tmp_path: Path, postgres_server: object
) -> None:
    repo = Repo(tmp_path / "app")
    m = "db/migrations"
    config = ".rollback-plan.yml"
    repo.commit(
        "accounts and audit",
        {
            config: f"sources:\n  - path: {m}\n    dialect: postgres\n",
            **{
                f"{m}/00000{i + 1}_{mig.path[4:-4]}.up.sql": mig.sql
                for i, mig in enumerate(PROCEDURAL[Dialect.POSTGRES][:2])
            },
        },
    )
    repo.commit("status", {f"{m}/000003_status.up.sql": PROCEDURAL[Dialect.POSTGRES][2].sql})
    repo.revert("HEAD")
    plan = plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=PlanOptions(verify=True))
    (source,) = plan.sources
    assert source.complete and source.down is not None
    assert source.proof is not None and source.proof.verified, source.proof
    text = plan_markdown(plan)
    assert "the engine settled 2 statement(s)" in text and "PostgreSQL" in text
    assert "Incomplete" not in text
    assert f"{m}/000002_idempotent.up.sql" in {u.file for u in source.down.listed}
    # the engine's correction: audit_log (created by dynamic SQL) loses its new column too
    assert 'ALTER TABLE audit_log DROP COLUMN "action"' in [s.sql for s in source.down.statements]


def test_engine_states_name_what_the_model_got_wrong() -> None:
    newer = PROCEDURAL[Dialect.POSTGRES]
    static_newer = replay(newer, Dialect.POSTGRES).schema
    static_older = replay(newer[:1], Dialect.POSTGRES).schema
    states = engine_states(
        newer, newer[:1], Dialect.POSTGRES, static_newer=static_newer, static_older=static_older
    )
    assert states.engine.startswith("PostgreSQL")
    assert states.newer.schema.table(QName("audit_log")) is not None
    assert states.disagreements == (
        "newer: missing from the model: table audit_log",
        "newer: missing from the model: column accounts.email",
    )


def test_a_static_down_the_engine_refuses_is_replaced_by_the_engines_own(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    newer = [
        Migration("001.sql", "CREATE TABLE accounts (id int PRIMARY KEY);\n"),
        Migration("002.sql", "ALTER TABLE accounts ADD COLUMN status text;\n"),
        Migration(
            "003.sql",
            "DO $$ BEGIN EXECUTE 'CREATE VIEW active AS SELECT id, status FROM accounts'; END $$;\n",
        ),
    ]
    older = newer[:1]
    static = down_between(newer, older, Dialect.POSTGRES)
    # the model never saw the view, so its down drops a column the view still reads
    assert [s.sql for s in static.statements] == ['ALTER TABLE accounts DROP COLUMN "status"']
    down = engine_checked(
        static, newer, older, Dialect.POSTGRES, undone=["002.sql", "003.sql"]
    ).down
    assert down.complete
    assert down.note is not None and "used the diff of the engine's two states" in down.note
    _proven(engine_db, Dialect.POSTGRES, newer, older, [s.sql for s in down.statements])


def test_a_settled_mysql_revert_drops_a_unique_index_the_engine_reads_as_a_key(
    tmp_path: Path, mariadb_server: object
) -> None:
    """MariaDB shows every unique index as a UNIQUE KEY, so the engine's state (read back
    after settling a dynamic statement) holds a key where the model holds an index: the
    down's DROP INDEX must still apply to it, and a descending part must survive the read
    (fuzz_cli seed 6001 stopped the plan with "index ... does not exist")."""
    repo = Repo(tmp_path / "app")
    m = "db/migrations"
    history = PROCEDURAL[Dialect.MYSQL]
    repo.commit(
        "accounts and audit",
        {
            ".rollback-plan.yml": f"sources:\n  - path: {m}\n    dialect: mysql\n",
            **{f"{m}/00000{i + 1}_step.up.sql": mig.sql for i, mig in enumerate(history[:2])},
        },
    )
    repo.commit(
        "unique names",
        {
            f"{m}/000003_step.up.sql": "CREATE UNIQUE INDEX accounts_code ON accounts (id DESC);\n"
            "CREATE UNIQUE INDEX accounts_id ON accounts (id);\n"
            "CREATE UNIQUE INDEX audit_id ON audit_log (id);\n"
        },
    )
    repo.revert("HEAD")
    plan = plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=PlanOptions(verify=True))
    (source,) = plan.sources
    assert source.complete and source.down is not None
    assert source.proof is not None and source.proof.verified, source.proof
    shipped = [s.sql for s in source.down.statements]
    assert "DROP INDEX accounts_code ON accounts" in shipped
    assert "DROP INDEX accounts_id ON accounts" in shipped
    assert "ALTER TABLE audit_log DROP INDEX audit_id" in shipped
