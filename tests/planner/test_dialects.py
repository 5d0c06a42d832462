"""One directory per database: each source's dialect is decided on its own, and the plan says
how (directory name, the config, a manifest's URL, --dialect, or the SQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.model import Dialect
from bot.markdown.plan import plan_markdown
from tests.planner.repo import Repo, sqls

USERS = {
    "postgres": "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\n",
    "mysql": "CREATE TABLE users (id int PRIMARY KEY, name varchar(100) NOT NULL);\n",
    "sqlite": "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\n",
}
ADD = "CREATE INDEX users_name_idx ON users (name);\n"
DROP = {
    "postgres": "DROP INDEX users_name_idx;\n",
    "mysql": "DROP INDEX users_name_idx ON users;\n",
}


def per_database(tmp_path: Path, dirs: dict[str, str]) -> Repo:
    """golang-migrate directories named after their databases; one commit adds an index to
    each, and is reverted."""
    repo = Repo(tmp_path / "app")
    first = {f"{d}/000001_users.up.sql": USERS[db] for d, db in dirs.items()}
    repo.commit("Users", {"README.md": "app\n", **first})
    second = {f"{d}/000002_name_idx.up.sql": ADD for d in dirs}
    second |= {
        f"{d}/000002_name_idx.down.sql": DROP.get(db, DROP["postgres"]) for d, db in dirs.items()
    }
    repo.commit("Index users by name", second)
    repo.revert("HEAD")
    return repo


LAYOUTS = {
    "migrations/{db}": {
        "migrations/postgresql": "postgres",
        "migrations/mysql": "mysql",
        "migrations/sqlite": "sqlite",
    },
    "db/db_{db}": {"db/db_mysql": "mysql", "db/db_sqlite3": "sqlite", "db/db_pg": "postgres"},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_directory_gets_its_own_dialect(tmp_path: Path, layout: str) -> None:
    dirs = LAYOUTS[layout]
    plan = per_database(tmp_path, dirs).plan()
    by_path = {s.path: s for s in plan.sources}
    assert set(by_path) == set(dirs)
    for path, db in dirs.items():
        source = by_path[path]
        assert (source.dialect, source.dialect_from) == (db, "directory-name"), source.problems
        assert source.complete and source.down is not None
    mysql = next(s for s in plan.sources if s.dialect == "mysql")
    assert sqls(mysql) == ["DROP INDEX users_name_idx ON users"]
    assert "(dialect from the directory name)" in plan_markdown(plan)


def test_dialect_option_only_decides_what_nothing_else_does(tmp_path: Path) -> None:
    dirs = {"migrations/mysql": "mysql", "db/migrations": "postgres"}
    repo = per_database(tmp_path, dirs)
    plan = repo.plan(dialect=Dialect.POSTGRES)
    by_path = {s.path: s for s in plan.sources}
    assert (by_path["migrations/mysql"].dialect, by_path["migrations/mysql"].dialect_from) == (
        "mysql",
        "directory-name",
    )
    assert any("not --dialect postgres" in n for n in by_path["migrations/mysql"].notes)
    assert (by_path["db/migrations"].dialect, by_path["db/migrations"].dialect_from) == (
        "postgres",
        "option",
    )


def test_the_sql_decides_last_and_json_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = Repo(tmp_path / "app")
    repo.commit(
        "Users",
        {
            "db/migrations/000001_users.up.sql": "CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, name text);\n"
        },
    )
    repo.commit(
        "Index",
        {
            "db/migrations/000002_idx.up.sql": "CREATE INDEX users_name_idx ON users (name(20));\n",
            "db/migrations/000002_idx.down.sql": "DROP INDEX users_name_idx ON users;\n",
        },
    )
    repo.revert("HEAD")
    assert main(["plan", "--repo", str(repo.path), "--commit", "HEAD", "--format", "json"]) == 0
    (source,) = json.loads(capsys.readouterr().out)["sources"]
    assert (source["dialect"], source["dialect_from"]) == ("mysql", "sql")


def test_the_sql_guess_ignores_comments(tmp_path: Path) -> None:
    """LemmyNet/lemmy writes `column` in comments of PostgreSQL migrations."""
    repo = Repo(tmp_path / "app")
    repo.commit(
        "Users",
        {
            "db/migrations/000001_users.up.sql": "-- the `users` table\nCREATE TABLE users (id serial PRIMARY KEY, name text);\n"
        },
    )
    repo.commit("Index", {"db/migrations/000002_idx.up.sql": ADD})
    repo.revert("HEAD")
    (source,) = repo.plan().sources
    assert (source.dialect, source.dialect_from) == ("postgres", "sql")


def test_a_directory_named_after_another_database_is_not_guessed(tmp_path: Path) -> None:
    """pressly/goose keeps testdata/migrations/clickhouse, whose ENGINE = MergeTree reads like
    MySQL: it must not be planned as MySQL, even with --dialect."""
    repo = Repo(tmp_path / "app")
    table = "CREATE TABLE t (id UInt64) ENGINE = MergeTree ORDER BY id;\n"
    repo.commit("t", {"migrations/clickhouse/00001_t.sql": table})
    repo.commit("u", {"migrations/clickhouse/00002_u.sql": table.replace(" t ", " u ")})
    repo.revert("HEAD")
    for option in (None, Dialect.MYSQL):
        (source,) = repo.plan(dialect=option).sources
        assert source.dialect is None and source.down is None
        assert any(
            "says clickhouse, a database rollback-plan does not plan" in p for p in source.problems
        )


def test_a_file_per_database_layout_is_flagged(tmp_path: Path) -> None:
    """mautrix bridges keep `NN-name.postgres.sql` beside `NN-name.sqlite.sql`; replaying both
    as plain files mixes databases, and the plan must say so."""
    repo = Repo(tmp_path / "app")
    d = "upgrades"
    repo.commit("a", {f"{d}/01-users.sql": USERS["postgres"]})
    repo.commit(
        "b",
        {
            f"{d}/02-idx.postgres.sql": ADD,
            f"{d}/02-idx.sqlite.sql": ADD.replace("users_name_idx", "users_name_idx2"),
        },
    )
    repo.revert("HEAD")
    (source,) = repo.plan(dialect=Dialect.POSTGRES).sources
    assert not source.complete
    assert any("one file per database side by side" in p for p in source.problems)


def test_the_target_side_tells_the_dialect_when_the_deployed_side_cannot(tmp_path: Path) -> None:
    """72services/jooq-hr: the deployed V1 has no dialect-only syntax, the target's has."""
    repo = Repo(tmp_path / "app")
    d = "src/main/resources/db/migration"
    repo.commit("a", {f"{d}/V1__init.sql": "CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY);\n"})
    repo.commit("b", {f"{d}/V1__init.sql": "CREATE TABLE t (id int PRIMARY KEY);\n"})
    (source,) = repo.plan_refs("HEAD", "HEAD~1").sources
    assert (source.dialect, source.dialect_from) == ("mysql", "sql")
    assert source.down is not None
