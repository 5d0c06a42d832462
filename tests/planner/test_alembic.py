"""Alembic, end to end: real repositories with an Alembic environment, a revision reverted,
the plan, with the real alembic and SQLAlchemy packages running the repository's env.py.

The SQL comes from Alembic's offline mode only when running repository code is allowed; the
compensating revision is then run by Alembic itself and must reach the reverted-to schema.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import git
import pytest

from bot.core.model import Dialect
from bot.core.plan import Plan
from bot.core.risk import Verdict
from bot.engines import Catalog, ScratchServer
from bot.engines.sqlite import read_catalog
from bot.planner import PlanOptions, plan_commit
from bot.sources.alembic import materialize
from bot.sources.discover import discover
from bot.sources.git import GitSnapshot, open_repo
from bot.sources.model import Format, SchemaSource
from bot.sources.pyrunner import Sandbox
from tests.planner.repo import NOW, Repo, only_source, sqls

INI = """\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
sqlalchemy.url = {url}

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %%(levelname)s %%(message)s
"""

# Alembic's generic env.py, shortened; `{extra}` lets a test make it misbehave.
ENV_PY = """\
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
fileConfig(config.config_file_name)
{extra}

def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = engine_from_config(config.get_section(config.config_ini_section), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""

REVISION = '''\
"""{message}

Revision ID: {rev}
"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
{up}


def downgrade():
{down_body}
'''

USERS = """\
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
    )"""
ADD_EMAIL = """\
    op.add_column("users", sa.Column("email", sa.String(100)))
    op.create_index("users_email_idx", "users", ["email"])"""
RIGHT_DOWN = """\
    op.drop_index("users_email_idx", table_name="users")
    op.drop_column("users", "email")"""
WRONG_DOWN = """\
    op.drop_index("users_email_idx", table_name="users")"""

# The graph decides the order, not the file names: "f..." is older than "0...".
FIRST, SECOND = "f1a2b3c4d5e6", "0b1c2d3e4f5a"
DOWN = ["DROP INDEX users_email_idx", "ALTER TABLE users DROP COLUMN email"]
POLICY = "policy:\n  data_loss: needs-approval\n"


def _revision(rev: str, down: str | None, message: str, up: str, down_body: str) -> str:
    return REVISION.format(rev=rev, down=down, message=message, up=up, down_body=down_body)


def _reverted(
    tmp: Path,
    *,
    up: str = ADD_EMAIL,
    down: str = RIGHT_DOWN,
    extra: str = "",
    url: str = "sqlite:///app.db",
) -> Repo:
    repo = Repo(tmp / "app")
    repo.commit(
        "Initial schema",
        {
            ".rollback-plan.yml": POLICY,
            "alembic.ini": INI.format(url=url),
            "migrations/env.py": ENV_PY.format(extra=extra),
            "migrations/script.py.mako": "# template\n",
            f"migrations/versions/{FIRST}_users.py": _revision(
                FIRST, None, "create users", USERS, '    op.drop_table("users")'
            ),
        },
    )
    repo.commit(
        "Add email to users",
        {f"migrations/versions/{SECOND}_email.py": _revision(SECOND, FIRST, "add email", up, down)},
    )
    repo.revert("HEAD")
    return repo


def _plan(repo: Repo, *, run_repo_code: bool = False, verify: bool = True) -> Plan:
    options = PlanOptions(run_repo_code=run_repo_code, verify=verify)
    return plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=options)


def test_alembic_environment_is_detected_and_its_graph_read_without_running_it(
    tmp_path: Path,
) -> None:
    repo = _reverted(tmp_path, extra="raise SystemExit('env.py must not run here')")
    snapshot = GitSnapshot(open_repo(repo.path), repo.git("rev-parse", "HEAD~1"))
    (source,) = discover(snapshot).sources
    assert (source.format, source.path, source.manifest) == (
        Format.ALEMBIC,
        "migrations",
        "alembic.ini",
    )
    assert (source.dialect, source.dialect_from) == ("sqlite", "tool")  # from sqlalchemy.url
    # graph order: the revision that revises the other comes second, whatever its file name
    assert [m.version for m in source.migrations] == [FIRST, SECOND]
    assert source.problems == ()


def test_alembic_is_not_run_by_default_and_the_plan_says_how_to_enable_it(tmp_path: Path) -> None:
    repo = _reverted(tmp_path)
    source = only_source(repo.plan())
    assert source.down is None and not source.complete
    assert source.undone == (f"migrations/versions/{SECOND}_email.py",)
    (problem,) = source.problems
    assert "Alembic history (2 revisions)" in problem and f"{SECOND}_email.py" in problem
    assert "running repository code is off" in problem and "--run-repo-code" in problem
    assert source.verdict is Verdict.NEEDS_APPROVAL


def _alembic(cwd: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=cwd, check=True, capture_output=True
    )


def _checkout(repo: Repo, ref: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", ref], cwd=repo.path, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _catalog(db: Path) -> Catalog:
    with sqlite3.connect(db) as conn:
        return read_catalog(conn)


def test_alembic_revert_is_planned_proven_and_its_companion_revision_runs_in_alembic(
    tmp_path: Path, sqlite_server: ScratchServer
) -> None:
    repo = _reverted(tmp_path, down=WRONG_DOWN)
    plan = _plan(repo, run_repo_code=True)
    source = only_source(plan)
    assert source.problems == () and source.complete, source.problems
    assert sqls(source) == DOWN
    assert source.proof is not None and source.proof.verified, source.proof
    # the author's downgrade(), read with `alembic downgrade --sql`, forgets the column
    h = source.handwritten
    assert (h.present, h.restores) == (True, False)
    assert h.differences == ("leaves column users.email in place",), h.differences
    by_path = {f.path: f.content for f in source.files}
    readded = f"migrations/versions/{SECOND}_email.py"
    (new,) = set(by_path) - {readded}
    assert new.startswith("migrations/versions/") and new.endswith(
        f"_rollback_{repo.head()[:7]}.py"
    )
    assert f"down_revision = '{SECOND}'" in by_path[new]

    # Alembic itself: the deployed database, then `alembic upgrade head` with the companion
    # change on top of the revert, reaches the schema Alembic builds at the revert.
    deployed = _checkout(repo, "HEAD~1", tmp_path / "deployed")
    _alembic(deployed, "upgrade", "head")
    fixed = _checkout(repo, "HEAD", tmp_path / "fixed")
    for path, content in by_path.items():
        (fixed / path).write_text(content)
    (deployed / "app.db").rename(fixed / "app.db")
    _alembic(fixed, "upgrade", "head")
    target = _checkout(repo, "HEAD", tmp_path / "target")
    _alembic(target, "upgrade", "head")
    assert _catalog(fixed / "app.db").diff(_catalog(target / "app.db")) == []
    _alembic(deployed, "upgrade", "head")
    assert _catalog(deployed / "app.db").diff(_catalog(target / "app.db")) != []


def test_alembic_env_py_that_crashes_gives_a_clear_problem(tmp_path: Path) -> None:
    repo = _reverted(tmp_path, extra="raise RuntimeError('cannot reach the settings service')")
    source = only_source(_plan(repo, run_repo_code=True))
    assert source.down is None and not source.complete
    assert source.undone == (f"migrations/versions/{SECOND}_email.py",)
    (problem,) = source.problems
    assert problem.startswith(
        "migrations/env.py: Alembic's offline mode (`alembic upgrade --sql`) failed"
    )
    assert problem.endswith("RuntimeError: cannot reach the settings service"), problem
    assert "Traceback" not in problem


Side = tuple[str, SchemaSource | None]


def _sides(repo: Repo) -> tuple[Side, Side]:
    """(sha, source) at the deployed commit and at the revert."""
    r = open_repo(repo.path)
    deployed, revert = repo.git("rev-parse", "HEAD~1"), repo.git("rev-parse", "HEAD")
    (a,) = discover(GitSnapshot(r, deployed)).sources
    (b,) = discover(GitSnapshot(r, revert)).sources
    return (deployed, a), (revert, b)


@pytest.mark.parametrize(
    ("extra", "sandbox", "said"),
    [
        # hangs: waits forever for an event nobody sets
        (
            "import threading; threading.Event().wait()",
            Sandbox(timeout=2),
            "did not finish within 2s: stopped",
        ),
        (
            "import sys; sys.stdout.buffer.write(b'\\xff\\xfe garbage')",
            Sandbox(),
            "printed bytes that are not UTF-8 text",
        ),
        (
            "print('x' * 3_000_000)",
            Sandbox(max_output=1024 * 1024),
            "printed more than 1 MB: stopped",
        ),
        ("", Sandbox(python="/nonexistent/python3"), "cannot start /nonexistent/python3"),
    ],
    ids=["hangs", "binary-garbage", "floods-output", "no-interpreter"],
)
def test_alembic_misbehaving_env_py_is_stopped_with_a_clear_problem(
    tmp_path: Path, extra: str, sandbox: Sandbox, said: str
) -> None:
    repo = _reverted(tmp_path, extra=extra)
    newer, older = _sides(repo)
    *_, problem = materialize(open_repo(repo.path), newer, older, Dialect.SQLITE, sandbox)
    assert problem is not None and said in problem, problem
    assert problem.startswith("migrations/env.py: Alembic's offline mode")


def test_alembic_env_py_sees_none_of_our_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLBACK_PLAN_GITHUB_TOKEN", "ghs_secret")
    leak = "import os, sys\nif 'ROLLBACK_PLAN_GITHUB_TOKEN' in os.environ: raise SystemExit('token leaked')\nassert os.environ['DATABASE_URL'].startswith('sqlite:')"
    repo = _reverted(tmp_path, extra=leak)
    source = only_source(_plan(repo, run_repo_code=True, verify=False))
    assert source.problems == () and sqls(source) == DOWN


GARBAGE_REVISION = """\
    print("Adding a column, please wait...")
    op.add_column("users", sa.Column("nickname", sa.String(20)))"""


def test_alembic_revision_that_reads_the_database_is_skipped_and_said(tmp_path: Path) -> None:
    """Offline mode has no database: a revision that queries it fails there. The rest of the
    history is still read (the run starts again after it) and the plan names the revision."""
    repo = Repo(tmp_path / "app")
    third = "3c3c3c3c3c3c"
    repo.commit(
        "Initial",
        {
            ".rollback-plan.yml": POLICY,
            "alembic.ini": INI.format(url="sqlite:///app.db"),
            "migrations/env.py": ENV_PY.format(extra=""),
            f"migrations/versions/{FIRST}_users.py": _revision(
                FIRST, None, "users", USERS, "    pass"
            ),
            f"migrations/versions/{SECOND}_data.py": _revision(
                SECOND,
                FIRST,
                "backfill",
                "    op.get_bind().execute(sa.text('SELECT 1')).fetchall()",
                "    pass",
            ),
        },
    )
    repo.commit(
        "Add email",
        {
            f"migrations/versions/{third}_email.py": _revision(
                third, SECOND, "email", ADD_EMAIL, RIGHT_DOWN
            )
        },
    )
    repo.revert("HEAD")
    source = only_source(_plan(repo, run_repo_code=True, verify=False))
    assert sqls(source) == DOWN  # planned from the rest of the history
    assert not source.complete
    (problem,) = source.problems
    assert problem.startswith(
        f"migrations/versions/{SECOND}_data.py: Alembic's offline mode (--sql) failed in this revision"
    )


def test_alembic_revision_printing_to_stdout_makes_the_plan_incomplete_not_wrong(
    tmp_path: Path,
) -> None:
    """print() in a revision lands in offline mode's SQL: the statement it glues itself to
    can't be read, and the plan says so instead of leaving the change out."""
    repo = _reverted(tmp_path, up=GARBAGE_REVISION, down='    op.drop_column("users", "nickname")')
    source = only_source(_plan(repo, run_repo_code=True, verify=False))
    assert not source.complete
    assert source.verdict is not Verdict.SAFE
    assert source.down is not None and source.down.statements == ()
    (unread,) = source.down.unmodelled
    assert unread.sql.startswith("Adding a column, please wait...\nALTER TABLE users ADD COLUMN")


def test_alembic_runs_in_ci_by_default_and_not_when_refused(tmp_path: Path) -> None:
    """`rollback-plan ci` already runs in the repository's own job: it plans Alembic from
    offline mode unless told --no-run-repo-code (then the comment says how to enable it)."""
    from bot.ci import main_ci
    from tests.fakes.github import FakeGitHub
    from tests.test_ci import (
        ACTIONS_BOT,
        FAST,
        REPO,
        TOKEN,
        actions_env,
        github_event,
        mirror_to_github,
    )

    repo = _reverted(tmp_path)
    repo.git("branch", "-m", "revert-2-add-email")
    repo.git("branch", "main", "HEAD~1")
    with FakeGitHub() as github:
        github.add_repo(REPO)
        github.add_token(TOKEN, ACTIONS_BOT)
        mirror_to_github(github, repo)
        pr = github.add_pull(
            REPO, head="revert-2-add-email", base="main", title='Revert "Add email"'
        )
        event = github_event(tmp_path, pr["number"], repo.head(), "revert-2-add-email", "opened")
        env = actions_env(github, repo.path, event, "pull_request")
        bodies = []
        for args in ([], ["--no-run-repo-code"]):
            main_ci(args, env, forge_options=FAST)
            (comment,) = [
                c for c in github.comments(REPO, pr["number"]) if c["user"]["login"] == ACTIONS_BOT
            ]
            bodies.append(comment["body"])
        assert not github.errors, github.errors
    on, off = bodies
    assert (
        "ALTER TABLE users DROP COLUMN email" in on and "running repository code is off" not in on
    )
    assert (
        "ALTER TABLE users DROP COLUMN email" not in off and "running repository code is off" in off
    )


def test_alembic_postgres_revert_is_proven_on_postgres(
    tmp_path: Path, postgres_server: ScratchServer
) -> None:
    """The dialect comes from sqlalchemy.url; offline mode renders PostgreSQL (with BEGIN and
    COMMIT, left out), and the companion revision's SQL is proven on the embedded PostgreSQL."""
    repo = _reverted(tmp_path, url="postgresql+psycopg://app@db.internal/app")
    source = only_source(_plan(repo, run_repo_code=True))
    assert (source.dialect, source.dialect_from) == ("postgres", "tool")
    assert source.problems == () and source.complete, source.problems
    # PostgreSQL drops the column's index with it
    assert sqls(source) == ["ALTER TABLE users DROP COLUMN email"]
    assert source.proof is not None and source.proof.verified, source.proof
    assert "PostgreSQL" in (source.proof.engine or ""), source.proof
    assert (source.handwritten.present, source.handwritten.restores) == (True, True)
    (revision,) = [f for f in source.files if "_rollback_" in f.path]
    assert "op.execute(\"SET lock_timeout = '5s'\")" in revision.content
