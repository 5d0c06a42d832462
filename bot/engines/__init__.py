"""Scratch database engines for proving SQL: SQLite, PostgreSQL, MariaDB.

Everything here creates its own servers and databases and must never be pointed at a user's
database. Engine drivers are imported only when an engine is started.
"""

from __future__ import annotations

from bot.engines.catalog import Catalog, normalize_sql
from bot.engines.mariadb import start_mariadb
from bot.engines.postgres import start_postgres
from bot.engines.scratch import EngineError, EngineUnavailable, ScratchDatabase, ScratchServer
from bot.engines.sqlite import start_sqlite

DIALECTS = ("postgres", "mysql", "sqlite")

__all__ = [
    "DIALECTS",
    "Catalog",
    "EngineError",
    "EngineUnavailable",
    "ScratchDatabase",
    "ScratchServer",
    "normalize_sql",
    "start_mariadb",
    "start_postgres",
    "start_scratch_server",
    "start_sqlite",
]


def start_scratch_server(dialect: str) -> ScratchServer:
    """Start a scratch server for ``dialect`` ("postgres", "mysql" or "sqlite")."""
    if dialect == "postgres":
        return start_postgres()
    if dialect == "mysql":
        return start_mariadb()
    if dialect == "sqlite":
        return start_sqlite()
    raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
