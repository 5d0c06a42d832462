"""Revert shapes: how the revert was made must not change what the plan undoes; and what a
refused plan's companion change carries instead of the data-losing down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.model import Dialect
from bot.core.risk import Verdict
from bot.engines import ScratchServer
from tests.planner.repo import (
    APPROVE_DATA_LOSS,
    Repo,
    apply_companion_on_data,
    only_source,
    restore_file,
    run_sql,
    sqls,
)

CONFIG = """\
version: 1
sources:
  - path: db/migrations
    format: golang-migrate
    dialect: sqlite
"""
# The same, with data loss needing approval instead of being refused.
APPROVING = CONFIG + APPROVE_DATA_LOSS
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
    repo.commit("Approve data loss", {".rollback-plan.yml": APPROVING})
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
    assert plan.verdict is Verdict.NEEDS_APPROVAL  # data loss, approvable under this policy
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
    # Adding a nullable column risks nothing, but no companion migration could be written
    # (history would be reordered): a person must look, so the gate holds.
    assert any("no compensating migration" in p for p in source.problems)
    assert source.verdict is Verdict.NEEDS_APPROVAL
    assert main(["plan", "--repo", str(repo.path), "--commit", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "**Re-applies**" in out and "**Verdict: needs approval" in out


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
    assert main(args) == 1  # dropping the column loses data: refused
    out = json.loads(capsys.readouterr().out)
    assert [s["sql"] for s in out["sources"][0]["statements"]] == DROP_EMAIL
    assert out["verdict"] == "refused"


def test_dialect_from_config_wins_over_the_option(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("Add email", EMAIL)
    repo.revert("HEAD")
    assert only_source(repo.plan()).dialect == "sqlite"
    args = ["plan", "--repo", str(repo.path), "--commit", "HEAD", "--format", "json"]
    assert main([*args, "--dialect", "postgres"]) == 1
    doc = json.loads(capsys.readouterr().out)
    source = doc["sources"][0]
    assert (source["dialect"], source["dialect_from"], doc["verdict"]) == (
        "sqlite",
        "config",
        "refused",
    )
    assert any("not --dialect postgres: its dialect is set in" in n for n in source["notes"])


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
    # Not planned is not safe: a person must look.
    assert main(["plan", "--repo", str(r.path), "--commit", "HEAD"]) == 1
    out, err = capsys.readouterr()
    assert "cannot tell which database" in out and err == ""
    assert "**Verdict: needs approval" in out
    assert main(["plan", "--repo", str(r.path), "--commit", "HEAD", "--dialect", "mysql"]) == 1
    out = capsys.readouterr().out
    assert "ALTER TABLE users DROP COLUMN email" in out and "**Verdict: refused" in out


# Renaming a column and adding a new one under the old name: keeping the new column is not
# possible (undoing the rename needs its name back), so the safe variant archives it.
RENAME_AND_ADD = {
    f"{M}/000002_rename.up.sql": (
        "ALTER TABLE users RENAME COLUMN name TO legal_name;\n"
        "ALTER TABLE users ADD COLUMN name text;\n"
    ),
    f"{M}/000002_rename.down.sql": (
        "ALTER TABLE users DROP COLUMN name;\nALTER TABLE users RENAME COLUMN legal_name TO name;\n"
    ),
}
WRITTEN = (
    "INSERT INTO users (id, legal_name, name) VALUES (1, 'Ada Lovelace', 'ada');\n"
    "INSERT INTO users (id, legal_name, name) VALUES (2, 'Bob Stone', NULL);\n"
)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_refused_revert_archives_the_data_and_ships_a_restore_script(
    repo: Repo, request: pytest.FixtureRequest, dialect: str
) -> None:
    server: ScratchServer = request.getfixturevalue(f"{dialect}_server")
    repo.commit("Rename name to legal_name", RENAME_AND_ADD)
    revert = repo.revert("HEAD")
    plan = repo.plan(dialect=Dialect(dialect))
    source = only_source(plan)
    assert plan.verdict is Verdict.REFUSED
    assert sqls(source) == [
        "ALTER TABLE users DROP COLUMN name",
        "ALTER TABLE users RENAME COLUMN legal_name TO name",
    ]
    variant = source.safe_variant
    assert variant is not None and [a.strategy.value for a in variant.chosen] == ["archive"]
    archive = f"_rollback_{revert[:8]}_users_name"

    compensating = [f for f in source.files if f.reason.startswith("compensating")]
    assert [f.path for f in compensating] == [f"{M}/000003_rollback_{revert[:7]}.up.sql"]
    assert f"CREATE TABLE {archive} AS SELECT id, name FROM users;" in compensating[0].content
    # Its down would be the re-applied change; after archiving that is not the way back.
    assert not any(f.path.endswith(".down.sql") and "rollback_" in f.path for f in source.files)
    restore = restore_file(source)
    assert restore is not None
    assert restore.path == f".rollback-plan/restore/{revert[:12]}-db-migrations.sql"
    assert f"DROP TABLE {archive};" in restore.content
    # both files run on the live database: each limits its own lock waits first (PostgreSQL)
    for content in (compensating[0].content, restore.content):
        assert ("SET lock_timeout = '5s';" in content) is (source.dialect == "postgres")

    db = server.new_database()
    try:
        apply_companion_on_data(db, repo, source, M, dialect, WRITTEN)
        # The older app's column is back under its name; the newer one's values are archived.
        assert db.query("SELECT id, name FROM users ORDER BY id") == [
            (1, "Ada Lovelace"),
            (2, "Bob Stone"),
        ]
        assert db.query(f"SELECT id, name FROM {archive} ORDER BY id") == [(1, "ada"), (2, None)]
        # The day the change is re-applied, the restore script brings the values back.
        run_sql(db, RENAME_AND_ADD[f"{M}/000002_rename.up.sql"], dialect)
        run_sql(db, restore.content, dialect)
        assert db.query("SELECT id, legal_name, name FROM users ORDER BY id") == [
            (1, "Ada Lovelace", "ada"),
            (2, "Bob Stone", None),
        ]
        left = db.catalog().canonical
        assert "users" in left and archive not in left  # the restore drops the archive
    finally:
        db.close()


def test_refused_revert_whose_variant_runs_nothing_still_re_adds_the_migration(
    repo: Repo,
) -> None:
    repo.commit("Add email", EMAIL)
    repo.revert("HEAD")
    source = only_source(repo.plan())
    assert source.verdict is Verdict.REFUSED
    assert source.safe_variant is not None and source.safe_variant.statements == ()
    # The database keeps migration 2 applied (and the column): git must describe it again.
    by_path = {f.path: f.content for f in source.files}
    assert by_path.get(f"{M}/000002_email.up.sql") == EMAIL[f"{M}/000002_email.up.sql"]
