"""What a plan must say beyond its SQL: values that are gone, author downs it judged wrong
that the companion change carries anyway, and a column order it chose not to restore."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import git
import pytest

from bot.core.model import Dialect
from bot.core.plan import Plan, SourcePlan
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


PARENT = (
    "CREATE TABLE q (id integer PRIMARY KEY);\n"
    "CREATE TABLE p (id integer PRIMARY KEY);\n"
    "CREATE TABLE c (id integer PRIMARY KEY, p_id integer REFERENCES p (id) ON DELETE CASCADE);\n"
)


def _parent_rebuilt(tmp_path: Path, config: str | None = None) -> Plan:
    """golang-migrate runs a SQLite file in one transaction; the down rebuilds parent p."""
    repo = Repo(tmp_path / "app")
    first = {f"{M}/000001_tables.up.sql": PARENT}
    repo.commit("Tables", {**first, **({".rollback-plan.yml": config} if config else {})})
    add = "ALTER TABLE p ADD COLUMN q_id integer REFERENCES q (id);\n"
    repo.commit("Link", {f"{M}/000002_link.up.sql": add})
    repo.revert("HEAD")
    return plan(repo)


def test_a_parent_rebuilt_inside_the_tools_transaction_is_a_gap(tmp_path: Path) -> None:
    p = _parent_rebuilt(tmp_path)
    source = only_source(p)
    assert not source.complete
    [gap] = [u.reason for u in source.down.unmodelled] if source.down else []
    assert gap.startswith("the down rebuilds p, which c reference by foreign key")
    assert "Run the down outside a transaction" in gap

    # the gap is real: run as the tool runs it (one transaction, foreign keys on), the
    # rebuild's DROP TABLE p takes c's rows with it
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(PARENT + "ALTER TABLE p ADD COLUMN q_id integer REFERENCES q (id);")
    db.executescript("INSERT INTO p (id) VALUES (1); INSERT INTO c VALUES (1, 1);")
    db.executescript("BEGIN;\n" + "".join(f"{s};\n" for s in sqls(source)) + "COMMIT;")
    assert db.execute("SELECT count(*) FROM c").fetchone() == (0,)


def test_a_parent_rebuilt_is_no_gap_where_the_tool_runs_with_foreign_keys_off(
    tmp_path: Path,
) -> None:
    config = "sources:\n  - path: db/migrations\n    engine: {foreign_keys: false}\n"
    source = only_source(_parent_rebuilt(tmp_path, config))
    assert source.complete, source.down.unmodelled if source.down else None


def _self_rebuilt(tmp_path: Path, action: str) -> tuple[str, Plan]:
    """A table whose key points at itself; the down rebuilds it (fuzz_cli seed 7045)."""
    tree = (
        "CREATE TABLE t (id integer PRIMARY KEY,"
        f" up integer REFERENCES t (id) ON DELETE {action});\n"
    )
    repo = Repo(tmp_path / "app")
    repo.commit("Tree", {f"{M}/000001_tree.up.sql": tree})
    add = "ALTER TABLE t ADD COLUMN d integer CONSTRAINT ck CHECK (d > 0);\n"
    repo.commit("Checked", {f"{M}/000002_checked.up.sql": add})
    repo.revert("HEAD")
    return tree + add, plan(repo)


def _run_as_the_tool(history: str, source: SourcePlan) -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(history + "INSERT INTO t (id) VALUES (1); INSERT INTO t VALUES (2, 1, 5);")
    db.executescript("BEGIN;\n" + "".join(f"{s};\n" for s in sqls(source)) + "COMMIT;")


def test_a_table_rebuilt_with_a_restrict_key_on_itself_is_a_gap(tmp_path: Path) -> None:
    history, p = _self_rebuilt(tmp_path, "RESTRICT")
    source = only_source(p)
    assert not source.complete
    [gap] = [u.reason for u in source.down.unmodelled] if source.down else []
    assert gap.startswith("the down rebuilds t, whose own foreign key is ON DELETE RESTRICT")
    # the gap is real: the DROP's implicit delete meets row 2 pointing at row 1
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _run_as_the_tool(history, source)


def test_a_table_rebuilt_with_a_no_action_key_on_itself_is_no_gap(tmp_path: Path) -> None:
    # NO ACTION is checked when the DROP's delete ends, with every row gone: it goes through
    history, p = _self_rebuilt(tmp_path, "NO ACTION")
    source = only_source(p)
    assert source.complete, source.down.unmodelled if source.down else None
    _run_as_the_tool(history, source)


def test_data_loss_read_from_a_rebuild_sits_on_its_drop_table(tmp_path: Path) -> None:
    # the shipped SQL's findings name statements by position; the rebuild's own PRAGMA and
    # BEGIN, which a tool's transaction can't have, are taken out after the plan is judged,
    # and the "does not copy" finding then sat two statements further down, on a PRAGMA
    repo = Repo(tmp_path / "app")
    repo.commit(
        "Notes",
        {f"{M}/000001_notes.up.sql": "CREATE TABLE n (id integer PRIMARY KEY, a text, b text);\n"},
    )
    repo.commit(
        "Rebuild notes with c",
        {
            f"{M}/000002_rebuild.up.sql": "CREATE TABLE n_new (id integer PRIMARY KEY, a text, c text);\n"
            "DROP TABLE n;\nALTER TABLE n_new RENAME TO n;\n"
        },
    )
    repo.revert("HEAD")
    source = only_source(plan(repo))
    from bot.core.risk.analyse import statement_findings

    assert source.assessment is not None and source.down is not None
    pairs = statement_findings(source.assessment, source.down.statements)
    lossy = [(r.sql, f.message) for r, found in pairs for f in found if "not copy" in f.message]
    assert lossy and all(sql.startswith("DROP TABLE") for sql, _ in lossy), lossy
