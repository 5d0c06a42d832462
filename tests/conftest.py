"""Scratch engine fixtures: one server per engine per test session, a fresh database per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from bot.engines import (
    EngineUnavailable,
    ScratchDatabase,
    ScratchServer,
    start_mariadb,
    start_postgres,
    start_sqlite,
)

SERVER_FIXTURES = {
    "postgres": "postgres_server",
    "mysql": "mariadb_server",
    "sqlite": "sqlite_server",
}


def _serve(start: Callable[[], ScratchServer]) -> Iterator[ScratchServer]:
    try:
        server = start()
    except EngineUnavailable as err:
        # CI promises every engine; a silent skip there would hide a broken setup
        if os.environ.get("CI") == "true":
            pytest.fail(f"engine unavailable in CI: {err}")
        pytest.skip(f"engine unavailable: {err}")
    yield server
    server.close()


@pytest.fixture(scope="session")
def sqlite_server() -> Iterator[ScratchServer]:
    yield from _serve(start_sqlite)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ScratchServer]:
    yield from _serve(start_postgres)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[ScratchServer]:
    yield from _serve(start_mariadb)


@pytest.fixture
def engine_db(request: pytest.FixtureRequest) -> Iterator[Callable[[str], ScratchDatabase]]:
    """``engine_db(dialect)`` -> a fresh database on that engine's session server."""
    opened: list[ScratchDatabase] = []

    def make(dialect: str) -> ScratchDatabase:
        server: ScratchServer = request.getfixturevalue(SERVER_FIXTURES[dialect])
        db = server.new_database()
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.close()


@pytest.fixture(autouse=True, scope="session")
def _replay_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI's on-disk replay cache goes to a scratch directory, never the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROLLBACK_PLAN_REPLAY_CACHE_DIR", str(tmp_path_factory.mktemp("replay-cache")))
        yield
