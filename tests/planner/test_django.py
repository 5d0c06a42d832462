"""Django, end to end with the real Django package: a project in a real git repository, a
migration, `git revert`, the plan. The SQL comes from Django's own sqlmigrate, run only when
running repository code is allowed; the companion migration is applied with `manage.py migrate`.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import git
import pytest

from bot.ci import add_arguments
from bot.core.plan import Plan
from bot.engines import ScratchServer
from bot.planner import PlanOptions, plan_commit
from bot.planner.django_runner import env_option
from bot.sources.discover import discover
from bot.sources.git import GitSnapshot, open_repo
from bot.sources.model import Format
from tests.planner.django_project import (
    ADD_CODE,
    ADD_EMAIL,
    RAW_INDEX,
    SETTINGS,
    migrate,
    project,
    schema,
)
from tests.planner.repo import NOW, Repo, only_source, sqls

APPROVE = "policy:\n  data_loss: needs-approval\n"


def _reverted(tmp: Path, change: str = ADD_EMAIL, settings: str = SETTINGS) -> Repo:
    repo = Repo(tmp / "app")
    repo.commit("Initial schema", {".rollback-plan.yml": APPROVE, **project(settings)})
    repo.commit("Add email to customers", {"shop/migrations/0002_change.py": change})
    repo.revert("HEAD")
    return repo


def _plan(repo: Repo, **options: object) -> Plan:
    return plan_commit(
        git.Repo(repo.path),
        "HEAD",
        now=NOW,
        options=PlanOptions(**options),  # type: ignore[arg-type]
    )


def test_a_django_project_is_detected_with_its_dialect_from_the_settings(tmp_path: Path) -> None:
    repo = _reverted(tmp_path)
    found = discover(GitSnapshot(open_repo(repo.path), repo.git("rev-parse", "HEAD~1")))
    (source,) = found.sources
    assert (source.path, source.format, source.dialect) == (".", Format.DJANGO, "sqlite")
    assert [m.up_path for m in source.migrations] == [
        "shop/migrations/0001_initial.py",
        "shop/migrations/0002_change.py",
    ]
    assert source.dialect_from == "tool"


def test_running_repository_code_is_off_by_default_and_the_plan_says_how_to_turn_it_on(
    tmp_path: Path,
) -> None:
    repo = _reverted(tmp_path)
    source = only_source(_plan(repo))
    assert source.down is None and not source.complete
    assert source.undone == ("shop/migrations/0002_change.py",)
    (problem,) = source.problems
    assert "Django project" in problem and "--run-repo-code" in problem, problem
    assert _plan(repo).verdict.value == "needs-approval"


def test_ci_runs_repository_code_unless_told_not_to() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).run_repo_code is True
    assert parser.parse_args(["--no-run-repo-code"]).run_repo_code is False


def test_a_reverted_django_migration_gets_a_proven_down_and_a_companion_migration(
    tmp_path: Path,
) -> None:
    repo = _reverted(tmp_path)
    source = only_source(_plan(repo, run_repo_code=True))
    assert source.problems == () and source.complete, source.problems
    assert sqls(source) == [
        "DROP INDEX shop_customer_email_idx",
        "ALTER TABLE shop_customer DROP COLUMN email",
    ]
    assert source.proof is not None and source.proof.verified
    # the author's down is Django's reverse SQL, judged on the engine
    assert (source.handwritten.present, source.handwritten.restores) == (True, True)
    revert = repo.head()
    by_path = {f.path: f.content for f in source.files}
    compensating = f"shop/migrations/0003_rollback_{revert[:7]}.py"
    assert set(by_path) == {"shop/migrations/0002_change.py", compensating}
    assert by_path["shop/migrations/0002_change.py"] == ADD_EMAIL
    assert "('shop', '0002_change')" in by_path[compensating]
    assert "state_operations" in by_path[compensating]  # what the user must check

    # Django itself runs it: the deployed database, then the revert with the companion change
    work = tmp_path / "work"
    deployed = tmp_path / "deployed.sqlite3"
    _checkout(repo, "HEAD~1", work)
    migrate(work, deployed)
    assert "email" in str(schema(deployed)["shop_customer"])
    _checkout(repo, "HEAD", work)
    for path, content in by_path.items():
        (work / path).write_text(content)
    migrate(work, deployed)
    fresh = tmp_path / "fresh.sqlite3"
    _checkout(repo, "HEAD", work)
    migrate(work, fresh)
    assert schema(deployed) == schema(fresh)


def test_a_sqlite_table_rebuild_keeps_its_rows_in_the_plan_and_the_judgement(
    tmp_path: Path,
) -> None:
    repo = _reverted(tmp_path, ADD_CODE)
    source = only_source(_plan(repo, run_repo_code=True))
    assert source.complete, source.problems
    # Django rebuilt shop_customer through new__shop_customer: its rows are not gone
    assert source.comes_back_empty == ()
    assert source.proof is not None and source.proof.verified
    assert (source.handwritten.present, source.handwritten.restores) == (True, True)
    assert source.assessment is not None
    risks = [f.rule for f in source.assessment.findings()]
    assert "drop-column" in risks  # the code column's values are lost, and said


def test_the_authors_reverse_sql_is_judged(tmp_path: Path) -> None:
    repo = _reverted(tmp_path, RAW_INDEX)
    source = only_source(_plan(repo, run_repo_code=True))
    assert source.complete, source.problems
    assert sqls(source) == ["DROP INDEX shop_customer_name_idx"]
    h = source.handwritten
    assert (h.present, h.restores) == (True, False)
    assert h.differences == ("leaves index shop_customer_name_idx in place",)


def test_settings_that_crash_give_a_clear_problem(tmp_path: Path) -> None:
    crash = SETTINGS + 'raise RuntimeError("DATABASE_URL is not set")\n'
    repo = _reverted(tmp_path, settings=crash)
    source = only_source(_plan(repo, run_repo_code=True))
    assert source.down is None and not source.complete
    assert any(
        "settings module mysite.settings failed to load: RuntimeError: DATABASE_URL is not set" in p
        for p in source.problems
    ), source.problems
    assert not any("Traceback" in p for p in source.problems)


def test_settings_that_hang_are_stopped_at_the_time_limit(tmp_path: Path) -> None:
    hang = SETTINGS + "import threading\nthreading.Event().wait()\n"
    repo = _reverted(tmp_path, settings=hang)
    source = only_source(_plan(repo, run_repo_code=True, repo_code_timeout=3))
    assert source.down is None
    assert any("did not finish within 3s" in p for p in source.problems), source.problems


def test_the_sandbox_sees_no_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leak = SETTINGS + (
        "import os\n"
        "if 'ROLLBACK_PLAN_GITHUB_TOKEN' in os.environ:\n"
        "    raise RuntimeError('token visible')\n"
    )
    repo = _reverted(tmp_path, settings=leak)
    monkeypatch.setenv("ROLLBACK_PLAN_GITHUB_TOKEN", "ghp_secret")
    source = only_source(_plan(repo, run_repo_code=True))
    assert source.complete, source.problems


def _checkout(repo: Repo, ref: str, into: Path) -> None:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir()
    tree = repo.git("ls-tree", "-r", "--name-only", ref).splitlines()
    for name in tree:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_text(repo.show(ref, name)[:-1])


BLOG = """from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Post",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),
    ]
"""


def test_reverting_a_new_app_says_its_migrations_do_not_run_once_it_is_gone(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "app")
    repo.commit("Initial schema", {".rollback-plan.yml": APPROVE, **project()})
    repo.commit(
        "Add a blog",
        {
            "mysite/settings.py": SETTINGS.replace('"shop"]', '"shop", "blog"]'),
            "blog/__init__.py": "",
            "blog/migrations/__init__.py": "",
            "blog/migrations/0001_initial.py": BLOG,
        },
    )
    repo.revert("HEAD")
    source = only_source(_plan(repo, run_repo_code=True))
    assert sqls(source) == ["DROP TABLE blog_post"]
    assert any("removes every migration of the app blog" in p for p in source.problems), (
        source.problems
    )
    assert "blog/migrations/0002_rollback_" in " ".join(f.path for f in source.files)


def test_a_postgres_project_gets_postgres_sql_from_django_on_a_scratch_postgres(
    tmp_path: Path, postgres_server: ScratchServer
) -> None:
    settings = SETTINGS.replace("django.db.backends.sqlite3", "django.db.backends.postgresql")
    settings = settings.replace('"NAME": "db.sqlite3"', '"NAME": "app", "HOST": "db.invalid"')
    repo = _reverted(tmp_path, settings=settings)
    source = only_source(_plan(repo, run_repo_code=True))
    assert (source.dialect, source.dialect_from) == ("postgres", "tool")
    assert source.complete, source.problems
    # from Django's postgresql backend, never the configured host; the index goes with the
    # column on PostgreSQL
    assert sqls(source) == ["ALTER TABLE shop_customer DROP COLUMN email"]
    assert source.proof is not None and source.proof.verified
    assert (source.handwritten.present, source.handwritten.restores) == (True, True)
    # Django runs the migration in a transaction: its timeouts must not outlive it
    (compensating,) = [f.content for f in source.files if "_rollback_" in f.path]
    assert "\"SET LOCAL lock_timeout = '5s'\"" in compensating, compensating


def test_variables_the_user_names_reach_the_settings(tmp_path: Path) -> None:
    needs = SETTINGS + (
        "import os\n"
        "if os.environ.get('APP_CONFIGURATION') != 'testing':\n"
        "    raise RuntimeError('set APP_CONFIGURATION')\n"
    )
    repo = _reverted(tmp_path, settings=needs)
    named = only_source(
        _plan(repo, run_repo_code=True, repo_code_env={"APP_CONFIGURATION": "testing"})
    )
    assert named.complete, named.problems
    assert env_option(["A=1", "HOME_DIR"], {"HOME_DIR": "/srv"}) == {"A": "1", "HOME_DIR": "/srv"}
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        env_option(["=x"], {})


ORDERS = """from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("customer", models.ForeignKey(on_delete=models.deletion.CASCADE, to="shop.customer")),
            ],
        ),
    ]
"""


def test_a_kept_column_rebuilds_a_referenced_table_the_way_django_runs_it(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "app")
    repo.commit(
        "Initial schema",
        {**project(), "shop/migrations/0002_orders.py": ORDERS},  # default policy: refuse
    )
    repo.commit(
        "Add code to customers",
        {"shop/migrations/0003_change.py": ADD_CODE.replace("0001_initial", "0002_orders")},
    )
    repo.revert("HEAD")
    source = only_source(_plan(repo, run_repo_code=True))
    assert source.verdict.value == "refused" and source.safe_variant is not None
    # keeping shop_customer.code drops its NOT NULL: a rebuild of a table shop_order
    # references, which Django runs with foreign keys off (and checks them after)
    assert source.proof is not None and source.proof.verified, source.proof


SEARCH = """from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            [
                "CREATE VIRTUAL TABLE shop_search USING fts5(title, body)",
                # an external-content index, as Wagtail's search backend makes
                "CREATE VIRTUAL TABLE shop_names USING fts5(name, content='shop_customer', "
                "content_rowid='id')",
            ],
            reverse_sql=["DROP TABLE shop_names", "DROP TABLE shop_search"],
        ),
    ]
"""


def test_a_full_text_index_beside_the_change_is_left_alone_by_the_proof(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "app")
    repo.commit(
        "Initial schema",
        {".rollback-plan.yml": APPROVE, **project(), "shop/migrations/0002_search.py": SEARCH},
    )
    repo.commit(
        "Add email to customers",
        {"shop/migrations/0003_change.py": ADD_EMAIL.replace("0001_initial", "0002_search")},
    )
    repo.revert("HEAD")
    source = only_source(_plan(repo, run_repo_code=True))
    # FTS5 keeps its data in shadow tables: rows written into them would corrupt the index
    assert source.proof is not None and source.proof.verified, source.proof
    assert (source.handwritten.present, source.handwritten.restores) == (True, True)
