"""A plan says which way it moves the database: a forward plan is never printed as a rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.plan import Direction
from bot.core.risk import Verdict
from bot.markdown.plan import plan_markdown
from tests.planner.repo import Repo, sqls

M = "db/migrations"
USERS = "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\n"
RENAME = "ALTER TABLE users RENAME TO members;\n"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "app")
    repo.commit(
        "Users",
        {
            f"{M}/000001_users.up.sql": USERS,
            ".rollback-plan.yml": "sources:\n  - path: db/migrations\n    dialect: sqlite\n",
        },
    )
    repo.commit(
        "Rename users to members",
        {
            f"{M}/000002_members.up.sql": RENAME,
            f"{M}/000002_members.down.sql": "ALTER TABLE members RENAME TO users;\n",
        },
    )
    return repo


def test_a_revert_is_a_rollback_without_warnings(repo: Repo) -> None:
    repo.revert("HEAD")
    plan = repo.plan()
    assert (plan.direction, plan.warnings) == (Direction.ROLLBACK, ())
    assert plan_markdown(plan).splitlines()[1].startswith("## Rollback plan for")


def test_a_commit_that_is_not_a_revert_is_a_forward_plan(repo: Repo) -> None:
    plan = repo.plan("HEAD")
    assert plan.direction is Direction.FORWARD and plan.revert is None
    (warning,) = plan.warnings
    assert "is not a revert" in warning and "000002_members.up.sql" in warning
    assert plan.verdict is not Verdict.SAFE  # a person must look, whatever the steps
    text = plan_markdown(plan)
    assert text.splitlines()[1] == "## Forward plan, not a rollback"
    assert "> **Warning:**" in text and "Rollback plan" not in text


def test_swapped_refs_are_flagged(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "--repo", str(repo.path), "--format", "json"]
    assert main([*args, "--from", "HEAD", "--to", "HEAD~1"]) == 0  # the right way round
    right = json.loads(capsys.readouterr().out)
    assert (right["direction"], right["warnings"], right["verdict"]) == ("rollback", [], "safe")
    assert main([*args, "--from", "HEAD~1", "--to", "HEAD"]) == 1
    swapped = json.loads(capsys.readouterr().out)
    assert swapped["direction"] == "forward" and swapped["verdict"] != "safe"
    assert "--from and --to are swapped" in swapped["warnings"][0]
    assert swapped["sources"][0]["applies"] == [f"{M}/000002_members.up.sql"]


def test_direction_is_known_without_the_dialect(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "plain")
    repo.commit("t", {f"{M}/001_t.sql": "CREATE TABLE t (id int);\n"})
    repo.commit("u", {f"{M}/002_u.sql": "CREATE TABLE u (id int);\n"})
    plan = repo.plan("HEAD")
    assert plan.sources[0].dialect is None and plan.sources[0].down is None
    assert plan.direction is Direction.FORWARD and "is not a revert" in plan.warnings[0]


def test_a_migration_edited_in_place_is_not_a_forward_plan(repo: Repo) -> None:
    """Reverting an edit of an unreleased migration (goharbor/harbor does this): the file
    is on both sides, with other content; the plan rolls back and says it was edited."""
    repo.commit(
        "Add a column to the unreleased migration",
        {f"{M}/000002_members.up.sql": RENAME + "ALTER TABLE members ADD COLUMN nick text;\n"},
    )
    repo.revert("HEAD")
    plan = repo.plan()
    assert (plan.direction, plan.warnings) == (Direction.ROLLBACK, ())
    (source,) = plan.sources
    assert source.applies == () and source.undone == (f"{M}/000002_members.up.sql",)
    assert source.down is not None
    assert sqls(source) == ["ALTER TABLE members DROP COLUMN nick"]
    assert any("edited in place" in n for n in source.notes)
    assert source.comes_back_empty == ()  # the down creates nothing
    assert any("edits migrations in place" in p for p in source.problems)
    assert "gives git their files back" not in plan_markdown(plan)


def test_reverting_a_migration_that_is_not_the_newest(repo: Repo) -> None:
    """LemmyNet/lemmy reverts a migration after a later one was merged: the later one stays,
    only the removed one is undone, and its files come back before the compensating one."""
    add = f"{M}/000003_nick.up.sql"
    repo.commit("Nick", {add: "ALTER TABLE members ADD COLUMN nick text;\n"})
    repo.commit("Bio", {f"{M}/000004_bio.up.sql": "ALTER TABLE members ADD COLUMN bio text;\n"})
    repo.revert("HEAD~1")
    plan = repo.plan()
    assert (plan.direction, plan.warnings) == (Direction.ROLLBACK, ())
    (source,) = plan.sources
    assert source.undone == (add,) and source.applies == ()
    assert source.down is not None and source.down.method.value == "inversion"
    assert sqls(source) == ["ALTER TABLE members DROP COLUMN nick"]
    assert any("later migrations stay applied (000004_bio.up.sql)" in n for n in source.notes)
    assert source.files[0].path == add
