"""Scratch servers start next to each other and leave nothing behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.engines import EngineError, ScratchServer, start_mariadb, start_postgres

SERVERS: dict[str, tuple[Callable[[Path], ScratchServer], str, str]] = {
    # fixture that proves the engine can start here, starter, pid file inside the workdir
    "postgres": (start_postgres, "postgres_server", "*/pgdata/postmaster.pid"),
    "mysql": (start_mariadb, "mariadb_server", "*/mysqld.pid"),
}


def _running(pid: int) -> bool:
    if Path("/proc/self").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        # a stopped postmaster is reparented to PID 1, which may never reap it: a zombie is gone
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("dialect", sorted(SERVERS))
def test_close_stops_the_server_and_removes_its_files(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    start, session_fixture, pid_glob = SERVERS[dialect]
    request.getfixturevalue(session_fixture)  # skips (or fails in CI) if the engine can't run

    # a second server while the session one runs: its own port, socket and datadir
    server = start(tmp_path)
    (pid_file,) = tmp_path.glob(pid_glob)
    pid = int(pid_file.read_text().split()[0])
    db = server.new_database()
    db.execute(["CREATE TABLE t (x INT)"])
    assert db.query("SELECT COUNT(*) FROM t") == [(0,)]

    server.close()

    assert list(tmp_path.iterdir()) == []
    assert not _running(pid)
    with pytest.raises(EngineError):
        db.query("SELECT 1")


def test_versions_name_the_engine(
    postgres_server: ScratchServer, mariadb_server: ScratchServer, sqlite_server: ScratchServer
) -> None:
    assert postgres_server.version.startswith("PostgreSQL ")
    assert mariadb_server.version.startswith("MariaDB ")
    assert sqlite_server.version.startswith("SQLite 3.")
