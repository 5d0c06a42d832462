"""What a plan must say beyond its SQL: values that are gone, author downs it judged wrong
that the companion change carries anyway, and a column order it chose not to restore."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from bot.core.model import Dialect
from bot.core.plan import Plan
from bot.markdown.plan import plan_markdown
from bot.planner import PlanOptions, plan_commit
from tests.planner.repo import NOW, Repo, only_source, sqls

M = "db/migrations"
USERS = "CREATE TABLE users (id integer PRIMARY KEY, bio text, name text NOT NULL);\n"
NOTES = "CREATE TABLE notes (id integer PRIMARY KEY, body text);\n"


def dropped(tmp_path: Path, down: str, config: str | None = None) -> Repo:
    """Migration 2 drops users.bio (a middle column) and the notes table; it is reverted."""
    repo = Repo(tmp_path / "app")
    first = {f"{M}/000001_users.up.sql": USERS + NOTES}
    repo.commit("Users", {**first, **({".rollback-plan.yml": config} if config else {})})
    repo.commit(
        "Drop bio and notes",
        {
            f"{M}/000002_drop.up.sql": "ALTER TABLE users DROP COLUMN bio;\nDROP TABLE notes;\n",
            f"{M}/000002_drop.down.sql": down,
        },
    )
    repo.revert("HEAD")
    return repo


def plan(repo: Repo, **options: bool) -> Plan:
    opts = PlanOptions(dialect=Dialect.SQLITE, **options)
    return plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=opts)


RIGHT = "ALTER TABLE users ADD COLUMN bio text;\n" + NOTES


def test_dropped_objects_come_back_empty_and_the_plan_says_so(tmp_path: Path) -> None:
    p = plan(dropped(tmp_path, RIGHT))
    source = only_source(p)
    assert set(source.comes_back_empty) == {"users.bio", "notes"}
    text = plan_markdown(p)
    assert "**Comes back empty:**" in text and "`users.bio`" in text
    assert "The values are gone" in text


def test_sqlite_adds_the_column_at_the_end_and_says_so(tmp_path: Path) -> None:
    repo = dropped(tmp_path, RIGHT)
    p = plan(repo, verify=True)
    source = only_source(p)
    assert source.columns_at_end == ("users.bio",)
    assert sqls(source)[1:] == ["ALTER TABLE users ADD COLUMN bio text"]  # no rebuild
    assert source.proof is not None and source.proof.verified, source.proof
    assert "except the column order the plan chose" in source.proof.reason
    text = plan_markdown(p)
    assert "**Column order:** `users.bio` comes back at the end" in text
    (proven,) = [line for line in text.splitlines() if line.startswith("**Proven** on SQLite")]
    assert proven.count(source.proof.engine or "?") == 1  # named once, not twice


def test_sqlite_exact_column_order_rebuilds_the_table(tmp_path: Path) -> None:
    repo = dropped(tmp_path, RIGHT)
    exact = only_source(plan(repo, verify=True, exact_column_order=True))
    assert exact.columns_at_end == ()
    assert "ALTER TABLE _rp_new_users RENAME TO users" in sqls(exact)  # the table rebuild
    # the rebuild runs inside the migration tool's transaction, as the proof runs it
    assert exact.proof is not None and exact.proof.verified, exact.proof


def test_a_wrong_author_down_is_re_added_with_a_warning(tmp_path: Path) -> None:
    repo = dropped(tmp_path, "ALTER TABLE users ADD COLUMN bio text;\n")  # forgets notes
    source = only_source(plan(repo))
    assert source.handwritten.restores is False
    reasons = {f.path.rsplit("/", 1)[-1]: f.reason for f in source.files}
    assert "does not restore the previous schema" in reasons["000002_drop.down.sql"]
    assert "does not restore" not in reasons["000002_drop.up.sql"]


@pytest.mark.parametrize("value", ["exact", "cosmetic"])
def test_column_order_in_the_config(tmp_path: Path, value: str) -> None:
    repo = dropped(tmp_path, RIGHT, f"column_order: {value}\n")
    source = only_source(plan(repo))
    assert source.columns_at_end == (() if value == "exact" else ("users.bio",))


def test_a_column_an_in_place_edit_dropped_comes_back_empty(tmp_path: Path) -> None:
    """72services/jooq-hr edits V001 in place, replacing NAME by FIRSTNAME/LASTNAME: going
    back re-creates NAME, without its values."""
    repo = Repo(tmp_path / "app")
    v1 = "db/V001__create.sql"
    repo.commit("a", {v1: "CREATE TABLE e (id integer PRIMARY KEY, name text);\n"})
    repo.commit("b", {v1: "CREATE TABLE e (id integer PRIMARY KEY, first text);\n"})
    source = only_source(repo.plan_refs("HEAD", "HEAD~1", dialect=Dialect.SQLITE))
    assert source.comes_back_empty == ("e.name",)


def test_planning_the_same_revert_again_says_exactly_the_same(tmp_path: Path) -> None:
    """The bot edits its comment only when the plan changed: nothing in the text may vary by run
    (the proof's duration did, so every re-plan edited the comment and the companion PR)."""
    repo = dropped(tmp_path, RIGHT)
    first = plan_markdown(plan(repo, verify=True))
    second = plan_markdown(plan(repo, verify=True))
    assert "**Proven** on SQLite" in first
    assert first == second


def test_an_incomplete_plan_never_claims_its_down_reaches_the_older_schema(
    tmp_path: Path,
) -> None:
    # the only change is one the model can't read: it must not say "gives exactly the schema"
    # nor "the two schemas are equal"
    repo = Repo(tmp_path / "app")
    repo.commit("Users", {f"{M}/000001_users.up.sql": "CREATE TABLE users (id int, a int);\n"})
    dynamic = (
        "DO $$ DECLARE c text; BEGIN FOR c IN SELECT 'a' LOOP"
        " EXECUTE format('ALTER TABLE users DROP COLUMN %I', c); END LOOP; END $$;\n"
    )
    repo.commit("Dynamic", {f"{M}/000002_dynamic.up.sql": dynamic})
    repo.revert("HEAD")
    # no engine to settle it (a scratch engine would read it and complete the plan)
    opts = PlanOptions(dialect=Dialect.POSTGRES, verify=False, postgres=False)
    p = plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=opts)
    assert not only_source(p).complete
    text = plan_markdown(p)
    assert "gives exactly the schema" not in text
    assert "The two schemas are equal" not in text
    assert "but the model is incomplete" in text or "could not read everything" in text
