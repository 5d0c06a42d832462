"""One directory per database: each source's dialect is decided on its own, and the plan says
how (directory name, the config, a manifest's URL, --dialect, or the SQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.model import Dialect
from bot.markdown.plan import plan_markdown
from tests.planner.repo import Repo

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
    assert mysql.down is not None
    assert [s.sql for s in mysql.down.statements] == ["DROP INDEX users_name_idx ON users"]
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
