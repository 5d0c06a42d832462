"""Migration directories of each tool: detection, the tool's own order, the author's downs,
problems for broken files, and compensating migrations that read back as the newest one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.model import Dialect
from bot.sources.atlas_sum import atlas_sum, verify_atlas_sum
from bot.sources.formats import detect_format, parse_migrations, render_migration
from bot.sources.model import Format, VersionedMigration

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
UP = "ALTER TABLE users DROP COLUMN nickname;"
DOWN = "ALTER TABLE users ADD COLUMN nickname text;"


def sql(text: str | None) -> str | None:
    """The statements of a script without comment lines, for comparing content."""
    if text is None:
        return None
    lines = [ln.strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln and not ln.startswith("--"))


def versions(migrations: list[VersionedMigration]) -> list[str]:
    return [m.version for m in migrations]


# --- realistic directories ------------------------------------------------------------------

GOLANG = {
    "000001_create_users.up.sql": "CREATE TABLE users (id bigserial PRIMARY KEY);\n",
    "000001_create_users.down.sql": "DROP TABLE users;\n",
    "000002_add_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "000002_add_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
    "000010_add_nickname.up.sql": "ALTER TABLE users ADD COLUMN nickname text;\n",
    "README.md": "run with migrate -path .\n",
}

GOOSE = {
    "20240101120000_create_users.sql": (
        "-- +goose Up\nCREATE TABLE users (id bigserial PRIMARY KEY);\n\n"
        "-- +goose Down\nDROP TABLE users;\n"
    ),
    "20240215093000_touch_trigger.sql": (
        "-- +goose Up\n"
        "-- +goose StatementBegin\n"
        "CREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  NEW.updated_at = now();\n"
        "  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
        "-- +goose StatementEnd\n\n"
        "-- +goose Down\n"
        "-- +goose StatementBegin\nDROP FUNCTION touch();\n-- +goose StatementEnd\n"
    ),
    "20240301000000_index_email.sql": (
        "-- +goose NO TRANSACTION\n-- +goose Up\n"
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n"
        "-- +goose Down\n"
    ),
    "20240302000000_seed.go": "package migrations\n",
}

DBMATE = {
    "20230510101010_create_users.sql": (
        "-- migrate:up\nCREATE TABLE users (id serial PRIMARY KEY);\n\n"
        "-- migrate:down\nDROP TABLE users;\n"
    ),
    "20230611121212_add_email.sql": (
        "-- migrate:up transaction:false\nALTER TABLE users ADD COLUMN email text;\n"
    ),
}

FLYWAY = {
    "db/migration/V1__init.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
    "db/migration/V1.2.9__add_email.sql": "ALTER TABLE users ADD email varchar(255);\n",
    "db/migration/V1_2_10__add_phone.sql": "ALTER TABLE users ADD phone varchar(32);\n",
    "db/migration/V1.10__add_age.sql": "ALTER TABLE users ADD age int;\n",
    "db/migration/V2__add_index.sql": "CREATE INDEX users_email ON users (email);\n",
    "db/migration/U2__add_index.sql": "DROP INDEX users_email;\n",
    "db/migration/R__user_view.sql": "CREATE OR REPLACE VIEW v_users AS SELECT id FROM users;\n",
    "db/migration/afterMigrate.sql": "ANALYZE;\n",
}

LIQUIBASE = {
    "changelog/001_users.sql": (
        "--liquibase formatted sql\n\n"
        "--changeset alice:1\n"
        "--comment: the users table\n"
        "CREATE TABLE users (id int PRIMARY KEY);\n"
        "--rollback DROP TABLE users;\n\n"
        "--changeset alice:2 runInTransaction:false\n"
        "ALTER TABLE users ADD email varchar(255);\n"
        "--rollback ALTER TABLE users\n"
        "--rollback   DROP COLUMN email;\n"
    ),
    "changelog/002_audit.sql": (
        "-- liquibase formatted sql\n"
        '--changeset "bob smith":audit-1\n'
        "INSERT INTO audit VALUES (1);\n"
        "--rollback not required\n\n"
        "--changeset bob:audit-2\n"
        "CREATE TABLE audit_log (id int);\n"
        "/* liquibase rollback\n"
        "DROP TABLE audit_log;\n"
        "*/\n"
    ),
}

SQITCH_PLAN = (
    "%syntax-version=1.0.0\n"
    "%project=flipr\n"
    "%uri=https://github.com/sqitchers/sqitch-intro/\n\n"
    "appschema 2013-12-30T23:19:45Z Marge N. O'Vera <marge@example.com> # Add schema.\n"
    "users [appschema] 2013-12-30T23:49:00Z Marge N. O'Vera <marge@example.com> # Users.\n"
    "@v1.0.0-dev1 2013-12-31T00:01:22Z Marge N. O'Vera <marge@example.com> # Tag v1.0.0-dev1.\n"
    "users [users@v1.0.0-dev1] 2014-01-05T10:00:00Z Marge N. O'Vera <marge@example.com> # Rework.\n"
)
SQITCH = {
    "sqitch.plan": SQITCH_PLAN,
    "sqitch.conf": "[core]\n\tengine = pg\n",
    "deploy/appschema.sql": "BEGIN;\nCREATE SCHEMA flipr;\nCOMMIT;\n",
    "revert/appschema.sql": "BEGIN;\nDROP SCHEMA flipr;\nCOMMIT;\n",
    "verify/appschema.sql": "SELECT pg_catalog.has_schema_privilege('flipr', 'usage');\n",
    "deploy/users@v1.0.0-dev1.sql": "CREATE TABLE flipr.users (nickname text);\n",
    "revert/users@v1.0.0-dev1.sql": "DROP TABLE flipr.users;\n",
    "deploy/users.sql": "ALTER TABLE flipr.users ADD COLUMN fullname text;\n",
    "revert/users.sql": "ALTER TABLE flipr.users DROP COLUMN fullname;\n",
}

DIESEL = {
    "00000000000000_diesel_initial_setup/up.sql": "CREATE FUNCTION diesel_set_updated_at() ...;\n",
    "00000000000000_diesel_initial_setup/down.sql": "DROP FUNCTION diesel_set_updated_at();\n",
    "2024-01-10-101500_create_posts/up.sql": "CREATE TABLE posts (id SERIAL PRIMARY KEY);\n",
    "2024-01-10-101500_create_posts/down.sql": "DROP TABLE posts;\n",
    "2023-12-01-090000_create_users/up.sql": "CREATE TABLE users (id SERIAL PRIMARY KEY);\n",
    "2023-12-01-090000_create_users/down.sql": "",
    ".keep": "",
}

ATLAS_FILES = {
    "20240101000000_init.sql": "CREATE TABLE users (id int);\n",
    "20240102000000_email.sql": "ALTER TABLE users ADD COLUMN email text;\n",
}
ATLAS = {**ATLAS_FILES, "atlas.sum": atlas_sum(ATLAS_FILES)}

PLAIN = {
    "10_more.sql": "CREATE TABLE c (id int);\n",
    "2_second.sql": "CREATE TABLE b (id int);\n",
    "1_first.sql": "CREATE TABLE a (id int);\n",
    "schema_extra.sql": "CREATE TABLE z (id int);\n",
}

DIRS = {
    Format.GOLANG_MIGRATE: GOLANG,
    Format.GOOSE: GOOSE,
    Format.DBMATE: DBMATE,
    Format.FLYWAY: FLYWAY,
    Format.LIQUIBASE: LIQUIBASE,
    Format.SQITCH: SQITCH,
    Format.DIESEL: DIESEL,
    Format.ATLAS: ATLAS,
    Format.PLAIN: PLAIN,
}


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(DIRS))
def test_detects_each_format(fmt: Format) -> None:
    assert detect_format(DIRS[fmt]) is fmt


def test_nothing_that_looks_like_migrations_is_none() -> None:
    assert detect_format({}) is None
    assert detect_format({"README.md": "hi", "values.yaml": "a: 1"}) is None
    assert detect_format({"nested/1.sql": "SELECT 1;"}) is None


def test_atlas_generated_golang_dir_is_golang_migrate() -> None:
    # Atlas writes atlas.sum next to the golang-migrate files it generates.
    files = {**GOLANG, "atlas.sum": atlas_sum(GOLANG)}
    assert detect_format(files) is Format.GOLANG_MIGRATE


def test_liquibase_header_after_blank_lines_is_recognised() -> None:
    assert detect_format({"a.sql": "\n\n-- Liquibase Formatted SQL\n"}) is Format.LIQUIBASE


# --- parsing, per format --------------------------------------------------------------------


def test_golang_migrate_numeric_order_and_downs() -> None:
    migs, problems = parse_migrations(Format.GOLANG_MIGRATE, GOLANG, "db/migrations")
    assert problems == []
    assert versions(migs) == ["000001", "000002", "000010"]
    assert migs[1].name == "add_email"
    assert migs[1].up_path == "db/migrations/000002_add_email.up.sql"
    assert migs[1].down == "ALTER TABLE users DROP COLUMN email;\n"
    assert migs[1].down_path == "db/migrations/000002_add_email.down.sql"
    assert migs[2].down is None and migs[2].down_path is None


def test_golang_migrate_problems_and_the_rest_still_read() -> None:
    files = {
        **GOLANG,
        "2_again.up.sql": "SELECT 1;\n",  # same version as 000002
        "3_orphan.down.sql": "SELECT 1;\n",
        "notes.sql": "SELECT 1;\n",
    }
    migs, problems = parse_migrations(Format.GOLANG_MIGRATE, files)
    assert versions(migs) == ["000001", "000002", "000010"]
    assert any(p.startswith("2_again.up.sql: version 2 appears twice") for p in problems)
    assert any(p.startswith("3_orphan.down.sql: down migration without an up") for p in problems)
    assert any(p.startswith("notes.sql: not a golang-migrate file name") for p in problems)


def test_goose_sections_statement_blocks_and_no_transaction() -> None:
    migs, problems = parse_migrations(Format.GOOSE, GOOSE)
    assert versions(migs) == ["20240101120000", "20240215093000", "20240301000000"]
    assert migs[0].up == "CREATE TABLE users (id bigserial PRIMARY KEY);\n"
    assert migs[0].down == "DROP TABLE users;\n"
    assert migs[0].down_path == migs[0].up_path == "20240101120000_create_users.sql"
    # StatementBegin/End are stripped, the function body is kept whole.
    assert "+goose" not in migs[1].up
    assert "$$ LANGUAGE plpgsql;" in migs[1].up and "RETURN NEW;" in migs[1].up
    assert migs[1].down == "DROP FUNCTION touch();\n"
    # NO TRANSACTION is stripped; an empty Down section is a present-but-empty down.
    assert migs[2].up == "CREATE INDEX CONCURRENTLY users_email ON users (email);\n"
    assert migs[2].down == ""
    assert problems == ["20240302000000_seed.go: Go migration, its SQL can't be read"]


def test_goose_numeric_order_not_lexical() -> None:
    files = {
        "9_a.sql": "-- +goose Up\nSELECT 9;\n",
        "10_b.sql": "-- +goose Up\nSELECT 10;\n",
        "00011_c.sql": "-- +goose Up\nSELECT 11;\n",
    }
    migs, _ = parse_migrations(Format.GOOSE, files)
    assert versions(migs) == ["9", "10", "00011"]


def test_goose_file_without_up_is_a_problem() -> None:
    files = {**GOOSE, "20240401000000_broken.sql": "CREATE TABLE x (id int);\n-- +goose Down\n"}
    migs, problems = parse_migrations(Format.GOOSE, files)
    assert "20240401000000" not in versions(migs)
    assert any(
        p.startswith("20240401000000_broken.sql: no '-- +goose Up' annotation") for p in problems
    )


def test_dbmate_blocks_and_missing_up() -> None:
    files = {**DBMATE, "20230701000000_oops.sql": "ALTER TABLE users ADD COLUMN x int;\n"}
    migs, problems = parse_migrations(Format.DBMATE, files, "db/migrations")
    assert versions(migs) == ["20230510101010", "20230611121212"]
    assert migs[0].down == "DROP TABLE users;\n"
    assert migs[1].up == "ALTER TABLE users ADD COLUMN email text;\n"
    assert migs[1].down is None
    assert problems == [
        "db/migrations/20230701000000_oops.sql: no '-- migrate:up' block, dbmate refuses the file"
    ]


def test_flyway_dotted_versions_undo_and_repeatables_last() -> None:
    migs, problems = parse_migrations(Format.FLYWAY, FLYWAY)
    assert problems == []
    # 1.2.9 < 1.2.10 (V1_2_10 is 1.2.10) < 1.10 < 2; the repeatable comes after, unversioned.
    assert versions(migs) == ["1", "1.2.9", "1.2.10", "1.10", "2", ""]
    assert migs[4].down == "DROP INDEX users_email;\n"
    assert migs[4].down_path == "db/migration/U2__add_index.sql"
    assert migs[1].down is None
    assert migs[-1].repeatable and migs[-1].name == "user_view"
    assert not any(m.repeatable for m in migs[:-1])


def test_flyway_same_version_spelled_twice_is_a_problem() -> None:
    files = {
        "V1__init.sql": "SELECT 1;\n",
        "V1.0__init_again.sql": "SELECT 1;\n",
        "U3__nothing.sql": "SELECT 1;\n",
        "init.sql": "SELECT 1;\n",
    }
    migs, problems = parse_migrations(Format.FLYWAY, files)
    assert len(migs) == 1
    assert any("version 1 appears twice" in p or "version 1.0 appears twice" in p for p in problems)
    assert any(p.startswith("U3__nothing.sql: undo migration without") for p in problems)
    assert any(p.startswith("init.sql: not a Flyway migration name") for p in problems)


def test_liquibase_changesets_in_file_order_with_rollbacks() -> None:
    migs, problems = parse_migrations(Format.LIQUIBASE, LIQUIBASE)
    assert problems == []
    assert versions(migs) == ["alice:1", "alice:2", "bob smith:audit-1", "bob:audit-2"]
    assert migs[0].up == "CREATE TABLE users (id int PRIMARY KEY);\n"  # --comment dropped
    assert migs[0].down == "DROP TABLE users;\n"
    assert migs[1].down == "ALTER TABLE users\n  DROP COLUMN email;\n"
    assert migs[2].down is None  # --rollback not required
    assert migs[3].down == "DROP TABLE audit_log;\n"
    assert migs[3].up_path == migs[3].down_path == "changelog/002_audit.sql"


def test_liquibase_broken_changesets_and_plain_sql_files() -> None:
    files = {
        **LIQUIBASE,
        "changelog/003_bad.sql": (
            "--liquibase formatted sql\n--changeset nobody\nSELECT 1;\n"
            "--changeset carol:1\nSELECT 2;\n--changeset carol:1\nSELECT 3;\n"
        ),
        "changelog/raw.sql": "SELECT 1;\n",
    }
    migs, problems = parse_migrations(Format.LIQUIBASE, files)
    assert versions(migs)[-1] == "carol:1" and migs[-1].up == "SELECT 2;\n"
    assert any(p.startswith("changelog/003_bad.sql: line 2: changeset without") for p in problems)
    assert any("changeset carol:1 appears twice" in p for p in problems)
    assert any(p.startswith("changelog/raw.sql: no '--liquibase formatted sql'") for p in problems)


def test_sqitch_plan_order_reworks_and_reverts() -> None:
    migs, problems = parse_migrations(Format.SQITCH, SQITCH, "db")
    assert problems == []
    assert [(m.version, m.name) for m in migs] == [
        ("appschema", "appschema"),
        ("users@v1.0.0-dev1", "users"),
        ("users", "users"),
    ]
    assert migs[1].up == "CREATE TABLE flipr.users (nickname text);\n"
    assert migs[1].down_path == "db/revert/users@v1.0.0-dev1.sql"
    assert migs[2].down == "ALTER TABLE flipr.users DROP COLUMN fullname;\n"


def test_sqitch_missing_deploy_and_unplanned_script() -> None:
    files = {
        **SQITCH,
        "sqitch.plan": SQITCH_PLAN + "widgets 2014-02-01T00:00:00Z M <m@example.com> # W.\n",
        "deploy/stray.sql": "SELECT 1;\n",
    }
    migs, problems = parse_migrations(Format.SQITCH, files)
    assert "widgets" not in versions(migs)
    assert "sqitch.plan: change widgets: deploy/widgets.sql is missing" in problems
    assert "deploy/stray.sql: not in sqitch.plan, sqitch never deploys it" in problems


def test_diesel_folders_in_version_order() -> None:
    migs, problems = parse_migrations(Format.DIESEL, DIESEL, "migrations")
    assert problems == []
    assert versions(migs) == ["00000000000000", "2023-12-01-090000", "2024-01-10-101500"]
    assert migs[1].name == "create_users"
    assert migs[1].up_path == "migrations/2023-12-01-090000_create_users/up.sql"
    assert migs[1].down == ""  # an empty down.sql is a down that does nothing
    assert migs[2].down == "DROP TABLE posts;\n"


def test_diesel_folder_without_up_is_a_problem() -> None:
    files = {**DIESEL, "2024-02-01-000000_half/down.sql": "SELECT 1;\n"}
    migs, problems = parse_migrations(Format.DIESEL, files)
    assert len(migs) == 3
    assert problems == ["2024-02-01-000000_half: has no up.sql"]


def test_atlas_lexical_order_and_sum_checked() -> None:
    migs, problems = parse_migrations(Format.ATLAS, ATLAS)
    assert problems == []
    assert versions(migs) == ["20240101000000", "20240102000000"]
    assert migs[1].name == "email" and migs[1].down is None
    stale = {**ATLAS, "20240103000000_more.sql": "SELECT 1;\n"}
    _, problems = parse_migrations(Format.ATLAS, stale, "migrations")
    assert problems and problems[0].startswith("migrations/atlas.sum: does not match")


def test_plain_numbered_first_by_number_then_by_name() -> None:
    migs, problems = parse_migrations(Format.PLAIN, PLAIN)
    assert problems == []
    assert [m.up_path for m in migs] == [
        "1_first.sql",
        "2_second.sql",
        "10_more.sql",
        "schema_extra.sql",
    ]


# --- compensating migrations ----------------------------------------------------------------


def _apply(
    fmt: Format,
    files: dict[str, str],
    name: str = "rollback_abc1234",
    down: str | None = DOWN,
    up: str = UP,
    now: datetime = NOW,
) -> tuple[list[tuple[str, str]], VersionedMigration, dict[str, str]]:
    existing, _ = parse_migrations(fmt, files)
    added = render_migration(fmt, existing, files, name, up, down, now)
    merged = {**files, **dict(added)}
    migs, problems = parse_migrations(fmt, merged)
    assert problems == parse_migrations(fmt, files)[1]  # nothing new is broken
    newest = [m for m in migs if not m.repeatable][-1]
    assert sql(newest.up) == UP if up == UP else True
    assert len(migs) == len(existing) + 1
    assert "Generated by rollback-plan" in dict(added)[newest.up_path]
    return added, newest, merged


def test_golang_migrate_next_keeps_zero_padding() -> None:
    added, newest, _ = _apply(Format.GOLANG_MIGRATE, GOLANG)
    assert [p for p, _ in added] == [
        "000011_rollback_abc1234.up.sql",
        "000011_rollback_abc1234.down.sql",
    ]
    assert newest.version == "000011" and sql(newest.down) == DOWN


def test_golang_migrate_without_down_writes_no_down_file() -> None:
    added, newest, _ = _apply(Format.GOLANG_MIGRATE, GOLANG, down=None)
    assert [p for p, _ in added] == ["000011_rollback_abc1234.up.sql"]
    assert newest.down is None


def test_golang_migrate_unix_time_versions_stay_unix_time() -> None:
    files = {"1700000000_init.up.sql": "CREATE TABLE t (id int);\n"}
    _, newest, _ = _apply(Format.GOLANG_MIGRATE, files)
    assert newest.version == str(int(NOW.timestamp()))


def test_goose_timestamp_from_now_in_utc() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=-5)))
    added, newest, _ = _apply(Format.GOOSE, GOOSE, now=local)
    assert added[0][0] == "20250304050607_rollback_abc1234.sql"
    assert sql(newest.down) == DOWN
    assert "-- +goose Up" in added[0][1] and "-- +goose Down" in added[0][1]


def test_goose_version_is_strictly_after_a_future_one() -> None:
    files = {"20300101000000_future.sql": "-- +goose Up\nSELECT 1;\n"}
    _, newest, _ = _apply(Format.GOOSE, files)
    assert newest.version == "20300101000001"


def test_goose_wraps_only_compound_statements_in_statement_blocks() -> None:
    function = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql"
    up = f"-- drop the column first\n{UP}\n{function};\n"
    added = render_migration(
        Format.GOOSE, [], GOOSE, "rb", up, "DROP FUNCTION f();", NOW, dialect=Dialect.POSTGRES
    )
    text = added[0][1]
    # goose splits on every `;` outside a block: the function body must be one block, alone.
    assert f"-- +goose StatementBegin\n{function};\n-- +goose StatementEnd\n" in text
    assert f"-- drop the column first\n{UP}\n-- +goose StatementBegin" in text
    migs, _ = parse_migrations(Format.GOOSE, {**GOOSE, **dict(added)})
    assert sql(migs[-1].up) == f"{UP}\n{function};"
    assert migs[-1].down == "DROP FUNCTION f();\n"


def test_goose_mysql_trigger_body_is_one_statement() -> None:
    trigger = "CREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW BEGIN SET NEW.a = 1; END"
    added = render_migration(
        Format.GOOSE, [], GOOSE, "rb", f"{trigger};", None, NOW, dialect=Dialect.MYSQL
    )
    assert f"-- +goose StatementBegin\n{trigger};\n-- +goose StatementEnd\n" in added[0][1]
    assert "-- +goose Down" not in added[0][1]


def test_note_goes_into_header_and_sqitch_plan() -> None:
    note = "undo abc1234 (add users.nickname)\nsecond line"
    added = dict(render_migration(Format.SQITCH, [], SQITCH, "rb", UP, DOWN, NOW, note=note))
    header = "-- Generated by rollback-plan: undo abc1234 (add users.nickname) second line\n"
    assert header in added["deploy/rb.sql"]
    assert added["sqitch.plan"].endswith(
        "# Generated by rollback-plan: undo abc1234 (add users.nickname) second line\n"
    )


def test_goose_sequential_versions() -> None:
    files = {"00007_a.sql": "-- +goose Up\nSELECT 1;\n"}
    _, newest, _ = _apply(Format.GOOSE, files)
    assert newest.version == "00008"


def test_dbmate_round_trip() -> None:
    added, newest, _ = _apply(Format.DBMATE, DBMATE)
    assert added[0][0] == "20250304050607_rollback_abc1234.sql"
    assert "-- migrate:up\n" in added[0][1] and "-- migrate:down\n" in added[0][1]
    assert sql(newest.down) == DOWN


def test_flyway_bumps_last_component_in_the_same_folder() -> None:
    files = {k: v for k, v in FLYWAY.items() if "V2__" not in k and "U2__" not in k}
    added, newest, _ = _apply(Format.FLYWAY, files)
    # Highest is 1.10 (V1.10): the next is 1.11, dotted like the file that holds it.
    assert [p for p, _ in added] == ["db/migration/V1.11__rollback_abc1234.sql"]
    assert newest.version == "1.11"
    assert newest.down is None  # no undo files in this directory: Community would reject one


def test_flyway_keeps_underscore_separators_and_writes_undo_when_used() -> None:
    files = {
        "V1_2_9__a.sql": "SELECT 1;\n",
        "U1_2_9__a.sql": "SELECT 1;\n",
    }
    added, newest, _ = _apply(Format.FLYWAY, files)
    assert [p for p, _ in added] == [
        "V1_2_10__rollback_abc1234.sql",
        "U1_2_10__rollback_abc1234.sql",
    ]
    assert newest.version == "1.2.10" and sql(newest.down) == DOWN


def test_flyway_next_after_v2_with_repeatables() -> None:
    _, newest, _ = _apply(Format.FLYWAY, FLYWAY)
    assert newest.version == "3" and sql(newest.down) == DOWN


def test_liquibase_new_file_with_changeset_and_rollback() -> None:
    added, newest, _ = _apply(Format.LIQUIBASE, LIQUIBASE)
    path, text = added[0]
    assert path == "changelog/003_rollback_abc1234.sql"
    assert text.startswith("--liquibase formatted sql\n")
    assert newest.version == "rollback-plan:rollback_abc1234"
    assert sql(newest.down) == DOWN


def test_liquibase_unnumbered_changelog_gets_a_name_that_sorts_last() -> None:
    files = {"changelog.sql": LIQUIBASE["changelog/001_users.sql"]}
    added, newest, _ = _apply(Format.LIQUIBASE, files, down=None)
    assert added[0][0] == "changelog_rollback_abc1234.sql"
    assert newest.down is None


def test_sqitch_adds_scripts_and_plan_line() -> None:
    added, newest, merged = _apply(Format.SQITCH, SQITCH)
    paths = [p for p, _ in added]
    assert paths == [
        "deploy/rollback_abc1234.sql",
        "revert/rollback_abc1234.sql",
        "verify/rollback_abc1234.sql",
        "sqitch.plan",
    ]
    plan = merged["sqitch.plan"]
    assert plan.startswith(SQITCH_PLAN)
    last = plan.splitlines()[-1]
    assert last.startswith(
        "rollback_abc1234 2025-03-04T05:06:07Z rollback-plan <rollback-plan@localhost> # "
    )
    assert "undo rollback_abc1234" in last
    assert newest.version == "rollback_abc1234" and sql(newest.down) == DOWN
    assert dict(added)["deploy/rollback_abc1234.sql"].startswith("-- Deploy flipr:rollback_abc1234")


def test_sqitch_name_already_planned_gets_a_suffix() -> None:
    files = {**SQITCH}
    for path, content in render_migration(Format.SQITCH, [], files, "rb", UP, DOWN, NOW):
        files[path] = content
    _, newest, _ = _apply(Format.SQITCH, files, name="rb")
    assert newest.version == "rb_2"


def test_diesel_dated_folder() -> None:
    added, newest, _ = _apply(Format.DIESEL, DIESEL)
    assert [p for p, _ in added] == [
        "2025-03-04-050607_rollback_abc1234/up.sql",
        "2025-03-04-050607_rollback_abc1234/down.sql",
    ]
    assert newest.version == "2025-03-04-050607" and sql(newest.down) == DOWN


def test_atlas_new_file_and_recomputed_sum() -> None:
    added, newest, merged = _apply(Format.ATLAS, ATLAS)
    assert [p for p, _ in added] == ["20250304050607_rollback_abc1234.sql", "atlas.sum"]
    assert verify_atlas_sum(merged)
    assert newest.down is None


def test_atlas_sum_updated_for_atlas_managed_golang_dir() -> None:
    files = {**GOLANG, "atlas.sum": atlas_sum(GOLANG)}
    added, _, merged = _apply(Format.GOLANG_MIGRATE, files)
    assert [p for p, _ in added][-1] == "atlas.sum"
    assert verify_atlas_sum(merged)


def test_plain_with_unnumbered_files_sorts_after_them() -> None:
    added, newest, _ = _apply(Format.PLAIN, PLAIN)
    assert added[0][0] == "schema_extra_rollback_abc1234.sql"
    assert newest.up_path == "schema_extra_rollback_abc1234.sql"


def test_plain_numbered_next_number() -> None:
    files = {k: v for k, v in PLAIN.items() if k[0].isdigit()}
    added, newest, _ = _apply(Format.PLAIN, files)
    assert added[0][0] == "11_rollback_abc1234.sql"
    assert newest.version == "11"
