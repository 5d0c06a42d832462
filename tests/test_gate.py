"""The gate end to end: real git repositories, the CLI and the planner, with risks, verdicts,
policies, data-preserving variants, proof on scratch engines and read-only live inspection."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import git
import pytest

import bot.engines.proof as verify_module
from bot.cli import main
from bot.core.plan import Plan, SourcePlan, plan_json
from bot.core.render import Rendered
from bot.core.risk import Verdict
from bot.engines import ScratchServer
from bot.markdown.plan import plan_markdown
from bot.planner import PlanOptions, plan_commit
from bot.planner.gate import prove
from tests.planner.repo import NOW, Repo, only_source, sqls

M = "db/migrations"
DEFAULT_POLICY = {
    "data_loss": "refused",
    "might_fail": "needs-approval",
    "locking": "needs-approval",
    "unmodelled": "needs-approval",
    "compatibility": "safe",
    "integrity": "safe",
    "rules": {"drop-index-locks": "safe"},
    "allow": {},
    "timeouts": {"lock": "5s", "statement": "1h"},
}
USERS = "CREATE TABLE users (id integer PRIMARY KEY, name text, email text NOT NULL);\n"
ADD_BIO = "ALTER TABLE users ADD COLUMN short_bio text;\n"
ALLOWED_BIO = (
    "-- rollback-plan: allow drop-column the bios are exported nightly\n"
    "ALTER TABLE users ADD COLUMN short_bio text;\n"
)
ADD_INDEX = "CREATE INDEX users_name_idx ON users (name);\n"
EMAIL_NULLABLE = "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;\n"


def config(dialect: str, *, source: str = "", top: str = "", databases: str = "") -> str:
    """A `.rollback-plan.yml` naming db/migrations (name `app`), with optional extra YAML."""
    return (
        "version: 1\nsources:\n"
        f"  - path: {M}\n    format: golang-migrate\n    dialect: {dialect}\n    name: app\n"
        + source
        + top
        + databases
    )


def reverted(tmp_path: Path, cfg: str, change: str) -> Repo:
    """Users, then `change` as migration 2, then `git revert HEAD`."""
    repo = Repo(tmp_path / "app")
    repo.commit("Users", {".rollback-plan.yml": cfg, f"{M}/000001_users.up.sql": USERS})
    repo.commit("Change users", {f"{M}/000002_change.up.sql": change})
    repo.revert("HEAD")
    return repo


def cli(repo: Repo, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, dict[str, Any]]:
    code = main(["plan", "--repo", str(repo.path), "--commit", "HEAD", "--format", "json", *more])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out)


def markdown(repo: Repo, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    code = main(["plan", "--repo", str(repo.path), "--commit", "HEAD", *more])
    return code, capsys.readouterr().out


def rules(statement: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in statement["risks"]]


def schema_statements(source: dict[str, Any]) -> list[dict[str, Any]]:
    """The down's statements after the session timeouts a PostgreSQL down starts with."""
    session = [s for s in source["statements"] if s["change"] == "session"]
    assert [s["sql"].splitlines()[-1] for s in session] == [
        "SET lock_timeout = '5s'",
        "SET statement_timeout = '1h'",
    ]
    assert all(not s["risks"] for s in session)
    return [s for s in source["statements"] if s["change"] != "session"]


# -- verdicts and the JSON contract ---------------------------------------------------------


def test_refused_plan_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = reverted(tmp_path, config("sqlite"), ADD_BIO)
    code, doc = cli(repo, capsys)

    assert code == 1
    assert doc["verdict"] == "refused"
    (source,) = doc["sources"]
    assert source["verdict"] == "refused"
    assert source["policy"] == DEFAULT_POLICY
    (statement,) = source["statements"]
    assert statement["sql"] == "ALTER TABLE users DROP COLUMN short_bio"
    drop = next(r for r in statement["risks"] if r["rule"] == "drop-column")
    assert drop == {
        "rule": "drop-column",
        "category": "data-loss",
        "level": "danger",
        "message": drop["message"],
        "object": "users.short_bio",
        "suppressed": None,
    }
    assert "users.short_bio" in drop["message"]
    assert "drop-breaks-newer-app" in rules(statement)  # compatibility: shown, safe
    label = repo.head()[:8]
    alternatives = {a["strategy"]: a for a in source["alternatives"]}
    assert set(alternatives) == {"keep", "archive", "rename"}
    assert all(a["replaces"] == "users.short_bio" for a in alternatives.values())
    assert all(a["keeps_older_app_working"] for a in alternatives.values())
    assert alternatives["archive"]["statements"][0] == (
        f"CREATE TABLE _rollback_{label}_users_short_bio AS SELECT id, short_bio FROM users"
    )
    assert alternatives["archive"]["restore"][-1] == f"DROP TABLE _rollback_{label}_users_short_bio"
    # A nullable column the older app never writes: keeping it takes no statement at all.
    assert source["safe_variant"] == {"statements": [], "restore": [], "strategies": ["keep"]}
    assert source["verification"] is None  # not asked for
    assert (source["data_at_risk"], source["drift"]) == ([], [])


def test_reverting_an_index_is_safe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = reverted(tmp_path, config("postgres"), ADD_INDEX)
    code, doc = cli(repo, capsys)

    assert code == 0
    assert doc["verdict"] == "safe" and doc["sources"][0]["verdict"] == "safe"
    (statement,) = schema_statements(doc["sources"][0])
    assert statement["sql"] == "DROP INDEX users_name_idx"
    (risk,) = statement["risks"]
    # Shown, but DROP INDEX's lock is brief: it does not wait for approval.
    assert (risk["rule"], risk["category"], risk["level"]) == (
        "drop-index-locks",
        "locking",
        "info",
    )
    assert doc["sources"][0]["alternatives"] == [] and doc["sources"][0]["safe_variant"] is None


def test_setting_not_null_again_needs_approval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = reverted(tmp_path, config("postgres"), EMAIL_NULLABLE)
    code, doc = cli(repo, capsys)

    assert code == 1
    assert doc["verdict"] == "needs-approval"
    (statement,) = schema_statements(doc["sources"][0])
    assert statement["sql"] == "ALTER TABLE users ALTER COLUMN email SET NOT NULL"
    categories = {r["rule"]: r["category"] for r in statement["risks"]}
    assert categories["set-not-null"] == "might-fail"
    assert categories["set-not-null-scan"] == "locking"


def test_allow_comment_lowers_refused_to_needs_approval_never_safe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = reverted(tmp_path, config("sqlite"), ALLOWED_BIO)
    code, doc = cli(repo, capsys)

    assert code == 1
    assert doc["verdict"] == "needs-approval"
    (statement,) = doc["sources"][0]["statements"]
    drop = next(r for r in statement["risks"] if r["rule"] == "drop-column")
    assert drop["suppressed"] == "the bios are exported nightly"
    # The finding stays, marked; the companion change carries the plain down.
    assert doc["sources"][0]["safe_variant"] is None
    name = f"{M}/000003_rollback_{repo.head()[:7]}.up.sql"
    compensating = [f for f in doc["sources"][0]["files"] if f["path"] == name]
    assert len(compensating) == 1
    assert "ALTER TABLE users DROP COLUMN short_bio;" in compensating[0]["content"]


def test_policy_per_source_layers_on_the_repository_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    both = (
        "version: 1\npolicy:\n  integrity: needs-approval\nsources:\n"
        "  - path: db/app\n    format: golang-migrate\n    dialect: sqlite\n"
        "    policy:\n      data_loss: needs-approval\n"
        "  - path: db/billing\n    format: golang-migrate\n    dialect: sqlite\n"
    )
    repo = Repo(tmp_path / "app")
    repo.commit(
        "Two databases",
        {
            ".rollback-plan.yml": both,
            "db/app/000001_users.up.sql": USERS,
            "db/billing/000001_users.up.sql": USERS,
        },
    )
    repo.commit(
        "Bios",
        {"db/app/000002_bio.up.sql": ADD_BIO, "db/billing/000002_bio.up.sql": ADD_BIO},
    )
    repo.revert("HEAD")
    code, doc = cli(repo, capsys)

    assert code == 1
    by_path = {s["path"]: s for s in doc["sources"]}
    assert by_path["db/app"]["verdict"] == "needs-approval"
    assert by_path["db/app"]["policy"]["data_loss"] == "needs-approval"
    assert by_path["db/billing"]["verdict"] == "refused"
    assert by_path["db/billing"]["policy"]["data_loss"] == "refused"
    assert {s["policy"]["integrity"] for s in doc["sources"]} == {"needs-approval"}
    assert doc["verdict"] == "refused"  # the strictest source decides


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_the_compensating_migration_starts_with_the_policys_timeouts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dialect: str
) -> None:
    top = "policy:\n  timeouts:\n    lock: 2s\n    statement: 10min\n"
    nullable = {"postgres": EMAIL_NULLABLE, "mysql": "ALTER TABLE users MODIFY email text NULL;\n"}
    repo = reverted(tmp_path, config(dialect, top=top), nullable[dialect])
    _, doc = cli(repo, capsys)

    (source,) = doc["sources"]
    name = f"{M}/000003_rollback_{repo.head()[:7]}.up.sql"
    (content,) = [f["content"] for f in source["files"] if f["path"] == name]
    sets = [line for line in content.splitlines() if line.startswith("SET ")]
    assert (
        sets
        == {
            "postgres": ["SET lock_timeout = '2s';", "SET statement_timeout = '10min';"],
            "mysql": [
                "SET SESSION lock_wait_timeout = 2;",
                "SET SESSION innodb_lock_wait_timeout = 2;",
            ],
        }[dialect]
    )
    # the limits come before the first statement that waits for a lock
    assert content.index(sets[-1]) < content.index("ALTER TABLE")
    # and the plan says what to do when one fires
    said = " ".join(line.removeprefix("-- ") for line in content.splitlines())
    assert {"postgres": "run it again", "mysql": "run the rest"}[dialect] in said
    assert source["policy"]["timeouts"] == {"lock": "2s", "statement": "10min"}
    assert "lock-without-timeout" not in {
        r["rule"] for s in source["statements"] for r in s["risks"]
    }


def test_a_refused_postgres_plan_ships_its_variant_and_restore_script_with_the_timeouts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rename_and_add = (
        "ALTER TABLE users RENAME COLUMN name TO legal_name;\n"
        "ALTER TABLE users ADD COLUMN name text;\n"
    )
    repo = reverted(tmp_path, config("postgres"), rename_and_add)
    _, doc = cli(repo, capsys)

    (source,) = doc["sources"]
    assert source["verdict"] == "refused" and source["safe_variant"]["strategies"] == ["archive"]
    for what in ("statements", "restore"):
        first, second, *rest = source["safe_variant"][what]
        assert (first.splitlines()[-1], second) == (
            "SET lock_timeout = '5s'",
            "SET statement_timeout = '1h'",
        )
        assert rest and not any(sql.startswith("SET ") for sql in rest)
    restore = next(f for f in source["files"] if f["path"].startswith(".rollback-plan/restore/"))
    assert "SET lock_timeout = '5s';" in restore["content"]


def test_turning_the_lock_timeout_off_flags_every_exclusive_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = "policy:\n  timeouts:\n    lock: off\n    statement: off\n"
    repo = reverted(tmp_path, config("postgres", top=top), ADD_INDEX)
    code, doc = cli(repo, capsys)

    (source,) = doc["sources"]
    (statement,) = source["statements"]  # no SET at all
    assert statement["sql"] == "DROP INDEX users_name_idx"
    assert "lock-without-timeout" in rules(statement)
    assert code == 1 and doc["verdict"] == "needs-approval"  # safe with the timeout set


@pytest.mark.parametrize(
    ("policy", "said"),
    [
        ("policy:\n  data_loss: safe\n", "policy.data_loss: losing data is never safe"),
        ("policy:\n  data_loss: maybe\n", "policy.data_loss: expected one of safe"),
        ("policy:\n  dataloss: needs-approval\n", "did you mean 'data_loss'?"),
    ],
    ids=["data-loss-safe", "unknown-verdict", "unknown-key"],
)
def test_broken_policy_is_reported_and_the_default_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str, said: str
) -> None:
    repo = reverted(tmp_path, config("sqlite", top=policy), ADD_BIO)
    code, doc = cli(repo, capsys)

    assert code == 1 and doc["verdict"] == "refused"
    assert doc["sources"][0]["policy"] == DEFAULT_POLICY
    assert any(
        p.startswith(".rollback-plan.yml: ") and said in p and "the default policy was used" in p
        for p in doc["problems"]
    ), doc["problems"]


def test_broken_source_policy_never_loosens_the_repository_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Reverting a UNIQUE index drops integrity, which this repository refuses.
    cfg = config(
        "sqlite",
        source="    policy:\n      data_loss: bogus\n",
        top="policy:\n  integrity: refused\n",
    )
    repo = reverted(tmp_path, cfg, "CREATE UNIQUE INDEX users_email_key ON users (email);\n")
    code, doc = cli(repo, capsys)

    assert any("data_loss" in p for p in doc["problems"])
    assert (code, doc["verdict"]) == (1, "refused")


def test_markdown_shows_verdict_risks_and_the_safe_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_null = "ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0;\n"
    repo = reverted(tmp_path, config("postgres"), ADD_INDEX + not_null)
    code, out = markdown(repo, capsys)

    assert code == 1
    assert (
        "**Verdict: refused: it loses data (`/rollback-plan approve data-loss` to accept)**" in out
    )
    assert "**Risks** (refused):" in out
    assert "- `ALTER TABLE users DROP COLUMN score`" in out
    assert "**data loss** `drop-column`" in out
    assert "**locking** `drop-index-locks`" in out
    assert "**A way back that keeps the data.** The plan loses data" in out
    assert "**keep**" in out and "- **archive** (`users.score`)" in out
    # The companion change carries the variant: the index goes, the column stays.
    assert "DROP INDEX users_name_idx;\n" in out.split("A way back that keeps the data")[1]


def test_markdown_says_a_rebuild_once_for_all_the_changes_folded_into_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checked = "".join(
        f"ALTER TABLE users ADD COLUMN {c} integer CONSTRAINT ck_{c} CHECK ({c} > 0);\n"
        for c in ("a", "b", "c")
    )
    repo = reverted(tmp_path, config("sqlite"), checked)
    _, out = markdown(repo, capsys)
    risks = out.split("**Risks**")[1].split("**A way back")[0]

    assert risks.count("`sqlite-table-rebuild`") == 1
    # each column's own findings stay
    assert all(f"dropping column users.{c} deletes" in risks for c in "abc")
    assert risks.count("`drop-column`") == 3
    _, doc = cli(repo, capsys)  # the JSON keeps one finding per change, with its object
    found = [r for s in doc["sources"][0]["statements"] for r in s["risks"]]
    assert [r["rule"] for r in found].count("sqlite-table-rebuild") == 3


def test_markdown_keep_variant_without_statements_has_no_empty_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = reverted(tmp_path, config("sqlite"), ADD_BIO)
    _, out = markdown(repo, capsys)

    assert "**A way back that keeps the data.**" in out
    assert "```sql\n```" not in out


# -- proof on scratch engines ---------------------------------------------------------------


def test_verify_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = reverted(tmp_path, config("sqlite"), ADD_INDEX)
    code, doc = cli(repo, capsys, "--verify")

    assert code == 0 and doc["verdict"] == "safe"
    proof = doc["sources"][0]["verification"]
    assert proof["verified"] is True and proof["differences"] == []
    assert proof["engine"].startswith("SQLite 3.")
    _, out = markdown(repo, capsys, "--verify")
    assert "**Proven** on SQLite 3." in out


@pytest.fixture
def shared_postgres(
    postgres_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Let --verify use the session's embedded server instead of starting its own."""
    engines = verify_module.ScratchEngines()
    engines.use(verify_module.Dialect.POSTGRES, postgres_server)
    monkeypatch.setattr(verify_module, "ENGINES", engines)
    yield
    engines.close()  # its templates off the session's server


@pytest.mark.usefixtures("shared_postgres")
def test_verify_on_postgres(tmp_path: Path) -> None:
    repo = reverted(tmp_path, config("postgres"), ADD_INDEX)
    plan = plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=PlanOptions(verify=True))
    source = only_source(plan)

    assert source.proof is not None
    assert source.proof.verified, source.proof
    assert source.proof.engine is not None and source.proof.engine.startswith("PostgreSQL ")
    assert plan.verdict is Verdict.SAFE


def _wrong(source: SourcePlan, statements: list[str]) -> SourcePlan:
    assert source.down is not None
    rendered = tuple(Rendered(sql, "drop_index", "users_name_idx") for sql in statements)
    return replace(source, down=replace(source.down, statements=rendered))


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_wrong_down_is_not_verified_and_gates_the_plan(
    tmp_path: Path, request: pytest.FixtureRequest, dialect: str
) -> None:
    if dialect == "postgres":
        request.getfixturevalue("shared_postgres")
    repo = reverted(tmp_path, config(dialect), ADD_INDEX)
    source = only_source(repo.plan())
    assert source.verdict is Verdict.SAFE
    newer = [USERS, ADD_INDEX]

    right = prove(source, newer, [USERS])
    assert right.proof is not None and right.proof.verified
    # Forgets the index: the catalog still has it.
    wrong = prove(_wrong(source, []), newer, [USERS])
    assert wrong.proof is not None and wrong.proof.engine is not None
    assert not wrong.proof.verified
    assert any("users_name_idx" in d for d in wrong.proof.differences), wrong.proof
    assert wrong.verdict is Verdict.NEEDS_APPROVAL
    text = plan_markdown(Plan(repo.head(), repo.head(), None, (wrong,)))
    assert "**Proof failed** on " in text


# -- live inspection (read-only) ------------------------------------------------------------

LIVE = "databases:\n  app:\n    url_env: APP_DB_URL\n"


BIOS = (
    "INSERT INTO users (id, name, email, short_bio) VALUES\n"
    "  (1, 'ada', 'ada@example.com', 'Counts things'),\n"
    "  (2, 'bob', 'bob@example.com', NULL),\n"
    "  (3, 'cy', 'cy@example.com', 'Writes poems');\n"
)


def live_database(path: Path, *sql: str) -> str:
    """A SQLite file built by `sql` (the deployed schema, rows, changes by hand); its URL."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript("".join(sql))
        conn.commit()
    finally:
        conn.close()
    return f"sqlite:///{path}"


def live_plan(repo: Repo, env: dict[str, str]) -> Plan:
    return plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=PlanOptions(env=env))


def test_live_database_counts_the_data_at_risk(tmp_path: Path) -> None:
    repo = reverted(tmp_path, config("sqlite", databases=LIVE), ADD_BIO)
    url = live_database(tmp_path / "live.db", USERS, ADD_BIO, BIOS)
    before = (tmp_path / "live.db").read_bytes()

    plan = live_plan(repo, {"APP_DB_URL": url})
    source = only_source(plan)

    assert source.live is not None and source.live.problems == ()
    assert source.live.at_risk == (("users.short_bio", 2, "users.short_bio: 2 non-null values"),)
    assert plan.verdict is Verdict.REFUSED
    doc = plan_json(plan)["sources"][0]
    assert doc["data_at_risk"] == [
        {"object": "users.short_bio", "count": 2, "message": "users.short_bio: 2 non-null values"}
    ]
    assert doc["drift"] == []
    assert "**Data at risk** (read from the live database):" in plan_markdown(plan)
    assert (tmp_path / "live.db").read_bytes() == before  # never writes


@pytest.mark.parametrize("change", [ADD_BIO, ADD_INDEX], ids=["refused", "safe"])
def test_missing_env_var_is_a_live_problem_and_changes_no_verdict(
    tmp_path: Path, change: str
) -> None:
    repo = reverted(tmp_path, config("sqlite", databases=LIVE), change)
    unconfigured = only_source(live_plan(repo, {"APP_DB_URL": ""}))
    expected = Verdict.REFUSED if change == ADD_BIO else Verdict.SAFE

    plan = live_plan(repo, {})
    source = only_source(plan)
    assert source.live is not None
    assert source.live.problems == ("environment variable APP_DB_URL is not set",)
    assert source.live.at_risk == ()
    assert source.verdict is expected and plan.verdict is expected
    assert unconfigured.live is not None
    assert unconfigured.live.problems == ("environment variable APP_DB_URL is empty",)
    text = plan_markdown(plan)
    assert "Live inspection could not finish (the verdict is unchanged by what is missing):" in text
    assert "environment variable APP\\_DB\\_URL is not set" in text


def test_drift_index_missing_live_plans_from_the_live_schema(tmp_path: Path) -> None:
    two = ADD_INDEX + "CREATE UNIQUE INDEX users_email_key ON users (email);\n"
    repo = reverted(tmp_path, config("sqlite", databases=LIVE), two)
    assert set(sqls(only_source(repo.plan()))) == {
        "DROP INDEX users_name_idx",
        "DROP INDEX users_email_key",
    }
    # Someone dropped one of the indexes by hand.
    url = live_database(tmp_path / "live.db", USERS, two, "DROP INDEX users_name_idx;\n")

    plan = live_plan(repo, {"APP_DB_URL": url})
    source = only_source(plan)

    assert source.live is not None and source.live.planned_from_live
    assert source.live.drift == (
        "table users: index users_name_idx is missing on the live database",
    )
    assert sqls(source) == ["DROP INDEX users_email_key"]
    assert "this plan starts from the live schema" in plan_markdown(plan)


def test_drift_column_added_by_hand_is_reported_and_planned_from_live(tmp_path: Path) -> None:
    repo = reverted(tmp_path, config("sqlite", databases=LIVE), ADD_BIO)
    url = live_database(
        tmp_path / "live.db", USERS, ADD_BIO, BIOS, "ALTER TABLE users ADD COLUMN nickname text;\n"
    )

    plan = live_plan(repo, {"APP_DB_URL": url})
    source = only_source(plan)

    assert source.live is not None and source.live.planned_from_live
    assert any("nickname" in d for d in source.live.drift), source.live.drift
    assert "ALTER TABLE users DROP COLUMN nickname" in sqls(source)
    assert plan.verdict is Verdict.REFUSED
