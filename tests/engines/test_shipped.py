"""Through the planner: the proof runs what the companion change ships, with data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import pytest

import bot.engines.proof as proof_module
from bot.core.model import Dialect
from bot.core.risk import Verdict
from bot.engines import ScratchServer
from bot.engines.proof import ScratchEngines
from bot.markdown.plan import plan_markdown
from bot.planner import PlanOptions, plan_commit
from tests.planner.repo import NOW, Repo, only_source
from tests.test_gate import ADD_BIO, M, config


@pytest.fixture
def shared(postgres_server: ScratchServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    engines = ScratchEngines()
    engines.use(Dialect.POSTGRES, postgres_server)
    monkeypatch.setattr(proof_module, "ENGINES", engines)
    yield
    engines.close()  # its templates off the session's server


def _plan(tmp_path: Path, dialect: str, first: str, change: str) -> object:
    repo = Repo(tmp_path / "app")
    repo.commit("First", {".rollback-plan.yml": config(dialect), f"{M}/000001_first.up.sql": first})
    repo.commit("Change", {f"{M}/000002_change.up.sql": change})
    repo.revert("HEAD")
    return plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=PlanOptions())


USERS = {
    "sqlite": "CREATE TABLE users (id integer PRIMARY KEY, name text, email text NOT NULL);\n",
    "postgres": "CREATE TABLE users (id serial PRIMARY KEY, name text, email text NOT NULL);\n",
}


@pytest.mark.usefixtures("shared")
@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_refused_plan_proves_the_variant_it_ships(tmp_path: Path, dialect: str) -> None:
    source = only_source(_plan(tmp_path, dialect, USERS[dialect], ADD_BIO))  # type: ignore[arg-type]

    assert source.verdict is Verdict.REFUSED and source.safe_variant is not None
    assert source.proof is not None and source.proof.verified, source.proof
    assert source.proof.reason.startswith("the data-keeping variant (")
    assert "plus what it keeps" in source.proof.reason


@pytest.mark.usefixtures("shared")
@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_reverted_rename_is_proven_with_its_rows(tmp_path: Path, dialect: str) -> None:
    plan = _plan(tmp_path, dialect, USERS[dialect], "ALTER TABLE users RENAME TO accounts;\n")
    source = only_source(plan)  # type: ignore[arg-type]

    assert source.proof is not None and source.proof.verified, source.proof
    assert "3 rows in 1 table kept every value" in source.proof.reason
    assert "in one transaction" in source.proof.reason  # golang-migrate wraps the file
    assert source.verdict is Verdict.SAFE
    (line,) = [x for x in plan_markdown(plan).splitlines() if x.startswith("**Proven**")]
    assert line.count(source.proof.engine or "?") == 1, line  # said once, not "...: on <engine>"


@pytest.mark.usefixtures("shared")
def test_a_history_creating_pgcrypto_and_uuid_ossp_is_planned_and_proven(tmp_path: Path) -> None:
    first = (
        'CREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE EXTENSION IF NOT EXISTS "uuid-ossp";\n'
        "CREATE TABLE users (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), name text,"
        " secret text DEFAULT crypt('x', gen_salt('bf')));\n"
    )
    source = only_source(
        _plan(tmp_path, "postgres", first, "CREATE INDEX users_name ON users (name);\n")  # type: ignore[arg-type]
    )

    assert source.proof is not None and source.proof.verified, source.proof
    assert source.proof.engine is not None and source.proof.engine.startswith("PostgreSQL ")
    assert (
        "stand-in extensions" in source.proof.reason
        and "pgcrypto, uuid-ossp" in source.proof.reason
    )
    assert source.verdict is Verdict.SAFE


def test_a_plan_that_could_not_be_proven_is_never_safe(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "app")
    repo.commit(
        "First",
        {".rollback-plan.yml": config("postgres"), f"{M}/000001_first.up.sql": USERS["postgres"]},
    )
    repo.commit(
        "Change", {f"{M}/000002_change.up.sql": "CREATE INDEX users_name ON users (name);\n"}
    )
    repo.revert("HEAD")

    plan = plan_commit(git.Repo(repo.path), "HEAD", now=NOW, options=PlanOptions(postgres=False))
    source = only_source(plan)

    assert source.proof is not None and source.proof.engine is None
    assert source.proof.reason == "proof on PostgreSQL is switched off"
    assert source.complete  # the plan itself is whole: only its proof is missing
    assert source.verdict is Verdict.NEEDS_APPROVAL
    assert "**Not proven:** proof on PostgreSQL is switched off" in plan_markdown(plan)


def test_proof_is_on_by_default_in_the_bot_and_ci_and_can_be_turned_off() -> None:
    import argparse

    from bot.ci import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)

    assert PlanOptions().verify is True  # the bot's jobs plan with the default options
    assert parser.parse_args([]).verify is True
    assert parser.parse_args(["--no-verify"]).verify is False


@pytest.mark.usefixtures("shared")
def test_a_variant_that_archives_is_proven_with_its_archive(tmp_path: Path) -> None:
    # keeping the table would keep its enum type alive: the variant archives it instead
    change = (
        "CREATE TYPE role AS ENUM ('owner', 'member');\n"
        "CREATE TABLE membership (id serial PRIMARY KEY, role role NOT NULL);\n"
    )
    source = only_source(_plan(tmp_path, "postgres", USERS["postgres"], change))  # type: ignore[arg-type]

    assert source.verdict is Verdict.REFUSED and source.safe_variant is not None
    assert any("_rollback_" in s for s in source.safe_variant.statements)
    assert source.proof is not None and source.proof.verified, source.proof
    assert "plus what it keeps" in source.proof.reason
