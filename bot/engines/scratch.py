"""What every scratch engine offers: servers we start ourselves, databases we create in them."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.engines.catalog import Catalog


class EngineUnavailable(RuntimeError):
    """The engine can't be started here; the message says why."""


class EngineError(RuntimeError):
    """A statement failed on the engine."""

    def __init__(self, statement: str, message: str, code: str | None = None) -> None:
        super().__init__(f"{message}\n  in statement: {statement.strip()}")
        self.statement = statement
        self.message = message  # the engine's own error text
        self.code = code  # SQLSTATE (PostgreSQL), error number (MariaDB), error name (SQLite)


class ScratchDatabase(Protocol):
    """A fresh database on a scratch server; autocommit."""

    dialect: str

    def execute(self, statements: Sequence[str]) -> None:
        """Run statements in order; raise EngineError on the first failure."""
        ...

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one query."""
        ...

    def queries(self, sqls: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        """Rows of each query, in order (sent together where the engine can)."""
        ...

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """All rows of a table, sorted by all columns."""
        ...

    def catalog(self) -> Catalog:
        """The normalized schema of this database, read from the engine."""
        ...

    def close(self) -> None:
        """Drop the database and disconnect."""
        ...


class ScratchServer(Protocol):
    """A throwaway server (or, for SQLite, a factory of in-memory databases)."""

    dialect: str
    version: str

    def new_database(self) -> ScratchDatabase:
        """A fresh, empty database."""
        ...

    def close(self) -> None:
        """Stop the server and delete its files."""
        ...


_ORDERED = (str, bytes, datetime.date, datetime.time, datetime.timedelta, uuid.UUID)


def _value_key(value: Any) -> tuple[int, str, Any]:
    """Sort key that never compares values of different types (NULLs first)."""
    if value is None:
        return (0, "", 0)
    if isinstance(value, int | float | decimal.Decimal):
        # bool is an int here on purpose: SQLite and MariaDB have no separate boolean
        return (1, "", value)
    if isinstance(value, datetime.datetime):
        # naive and aware datetimes don't compare; the ISO text orders the same within a column
        return (2, "datetime", value.isoformat())
    if isinstance(value, _ORDERED):
        return (2, type(value).__name__, value)
    return (3, type(value).__name__, repr(value))


def sort_rows(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows sorted by all columns in Python, so no engine collation or unorderable type
    (PostgreSQL json, point...) decides the order."""
    return sorted(rows, key=lambda row: tuple(_value_key(value) for value in row))
