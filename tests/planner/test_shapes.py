"""Revert shapes: how the revert was made must not change what the plan undoes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.planner.repo import Repo, only_source, sqls

CONFIG = """\
version: 1
sources:
  - path: db/migrations
    format: golang-migrate
    dialect: sqlite
"""
M = "db/migrations"
USERS = {
    f"{M}/000001_users.up.sql": "CREATE TABLE users (id integer PRIMARY KEY, name text);\n",
    f"{M}/000001_users.down.sql": "DROP TABLE users;\n",
}
EMAIL = {
    f"{M}/000002_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    f"{M}/000002_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
}
TAGS = {
    f"{M}/000003_tags.up.sql": "CREATE TABLE tags (id integer PRIMARY KEY);\n",
    f"{M}/000003_tags.down.sql": "DROP TABLE tags;\n",
}
DROP_EMAIL = ["ALTER TABLE users DROP COLUMN email"]


def gone(files: dict[str, str]) -> dict[str, str | bytes | None]:
    return dict.fromkeys(files)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "app")
    r.commit("Users", {".rollback-plan.yml": CONFIG, **USERS})
    return r


def test_two_commits_reverted_in_one(repo: Repo) -> None:
    a = repo.commit("Add email", EMAIL)
    b = repo.commit("Add tags", TAGS)
    repo.git("revert", "--no-commit", b, a)
    repo.git("commit", "-q", "--no-edit")
    plan = repo.plan()
    assert plan.revert is not None and set(plan.revert.reverts) == {a, b}
    source = only_source(plan)
    assert source.undone == (f"{M}/000002_email.up.sql", f"{M}/000003_tags.up.sql")
    assert set(sqls(source)) == {"DROP TABLE tags", *DROP_EMAIL}
    assert source.handwritten.restores is True
    assert any(
        f.path.endswith("000004_rollback_" + repo.head()[:7] + ".up.sql") for f in source.files
    )


def test_merge_revert(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("Add email", EMAIL)
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature")
    merge = repo.head()
    repo.revert("-m", "1", "HEAD")
    plan = repo.plan()
    assert plan.revert is not None and plan.revert.reverts == (merge,)
    assert plan.revert.detected_by == "merge-revert"
    assert sqls(only_source(plan)) == DROP_EMAIL


def test_revert_of_a_revert_is_a_reapply(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("Add email", EMAIL)
    first = repo.revert("HEAD")
    repo.revert("HEAD")
    plan = repo.plan()
    assert plan.revert is not None and plan.revert.reapply
    assert plan.revert.reverts == (first,)
    source = only_source(plan)
    # Rolling forward: the database lacks the column, the re-applied commit has it.
    assert sqls(source) == ["ALTER TABLE users ADD COLUMN email text"]
    assert source.undone == ()
    assert main(["plan", "--repo", str(repo.path), "--commit", "HEAD"]) == 0
    assert "**Re-applies**" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("message", "detected_by"),
    [
        (
            'Revert "Add email (#12)" (#13)\n\n* Revert "Add email"\n\nThis reverts commit {sha}.',
            "git-message",
        ),
        ('Revert "Add email"\n\nThis reverts commit {sha}', "gitlab-commit"),
        ("Tidy up the schema", "content"),
    ],
    ids=["github-squash", "gitlab", "content"],
)
def test_reverts_without_git_revert(repo: Repo, message: str, detected_by: str) -> None:
    a = repo.commit("Add email (#12)", EMAIL)
    repo.commit(message.format(sha=a), gone(EMAIL))
    plan = repo.plan()
    assert plan.revert is not None
    assert (plan.revert.reverts, plan.revert.detected_by) == ((a,), detected_by)
    source = only_source(plan)
    assert sqls(source) == DROP_EMAIL and source.handwritten.restores is True


def test_from_to_before_merge(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    """What reverting a PR would take, asked before it is merged: deployed = the branch."""
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("Add email", EMAIL)
    plan = repo.plan_refs("feature", "main")
    assert plan.revert is None
    source = only_source(plan)
    assert source.undone == (f"{M}/000002_email.up.sql",) and sqls(source) == DROP_EMAIL
    args = [
        "plan",
        "--repo",
        str(repo.path),
        "--from",
        "feature",
        "--to",
        "main",
        "--format",
        "json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["sql"] for s in out["sources"][0]["statements"]] == DROP_EMAIL


def test_dialect_from_config_and_override(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("Add email", EMAIL)
    repo.revert("HEAD")
    assert only_source(repo.plan()).dialect == "sqlite"
    args = ["plan", "--repo", str(repo.path), "--commit", "HEAD", "--format", "json"]
    assert main([*args, "--dialect", "postgres"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["dialect"] == "postgres"


def test_plain_directory_without_hints_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = Repo(tmp_path / "app")
    r.commit("a", {"db/sql/001_users.sql": "CREATE TABLE users (id int);\n"})
    r.commit("b", {"db/sql/002_email.sql": "ALTER TABLE users ADD COLUMN email text;\n"})
    r.revert("HEAD")
    source = only_source(r.plan())
    assert source.down is None and source.dialect is None
    assert any("--dialect" in p for p in source.problems)
    assert main(["plan", "--repo", str(r.path), "--commit", "HEAD"]) == 0
    out, err = capsys.readouterr()
    assert "cannot tell which database" in out and err == ""
    assert main(["plan", "--repo", str(r.path), "--commit", "HEAD", "--dialect", "mysql"]) == 0
    assert "ALTER TABLE users DROP COLUMN email" in capsys.readouterr().out
