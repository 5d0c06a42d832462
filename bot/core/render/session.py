"""What a shipped down sets for its own session first: how long it may wait for a lock, and
how long one statement may run.

Without a lock timeout, a DDL statement queued behind one long-running query makes every
later query on the table queue behind it: the outage a rollback was meant to end. Plain `SET`
(not `SET LOCAL`): it works whether or not the migration tool wraps the file in a transaction
(goose, dbmate, Flyway and Atlas do; golang-migrate sends the file as one multi-statement
query, which PostgreSQL runs as one transaction, and `SET LOCAL` outside a transaction block
is ignored with a warning).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.model import Dialect
from bot.core.render import Rendered

# The change kind and object of the preamble's statements (no change of the down made them).
KIND = "session"
OBJECT = "timeouts"


@dataclass(frozen=True)
class Timeouts:
    """Limits a shipped down sets for its session, in milliseconds; 0 leaves the engine's own."""

    lock_ms: int = 5_000  # "a few seconds": long enough for a brief lock, short of an outage
    statement_ms: int = 3_600_000  # an hour, as strong_migrations recommends


def duration(ms: int) -> str:
    """`ms` in the largest PostgreSQL unit that writes it exactly: 5s, 500ms, 2min, 1h."""
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def preamble(dialect: Dialect, timeouts: Timeouts) -> list[Rendered]:
    """The SET statements a down on `dialect` starts with, the first saying why in a comment.

    SQLite has no lock queue to protect (one writer, and the migration's own busy timeout).
    MySQL/MariaDB get no statement timeout: MySQL's max_execution_time covers only SELECT and
    MariaDB's max_statement_time is unknown to MySQL, so no one spelling works on both.
    """
    sets: list[str] = []
    why: str
    if dialect is Dialect.POSTGRES:
        if timeouts.lock_ms:
            sets.append(f"SET lock_timeout = '{duration(timeouts.lock_ms)}'")
        if timeouts.statement_ms:
            sets.append(f"SET statement_timeout = '{duration(timeouts.statement_ms)}'")
        why = (
            f"-- rollback-plan: {_limits(timeouts)},\n"
            "-- so this migration never holds up later queries on a table for long. If a timeout\n"
            "-- fires, the migration stops with an error and PostgreSQL rolls it back: run it\n"
            "-- again once the blocking query has ended.\n"
        )
    elif dialect is Dialect.MYSQL and timeouts.lock_ms:
        seconds = max(1, -(-timeouts.lock_ms // 1000))  # whole seconds, rounded up
        sets += [
            f"SET SESSION lock_wait_timeout = {seconds}",
            f"SET SESSION innodb_lock_wait_timeout = {seconds}",
        ]
        why = (
            f"-- rollback-plan: give up after {seconds}s waiting for a table's metadata lock or a\n"
            "-- row lock, instead of making every later query on the table queue behind this\n"
            "-- migration. If it fires, the statements before it stay applied (MySQL commits each\n"
            "-- DDL statement): once the blocking query ends, run the rest.\n"
        )
    if not sets:
        return []
    return [Rendered(why + sets[0], KIND, OBJECT)] + [Rendered(s, KIND, OBJECT) for s in sets[1:]]


def _limits(timeouts: Timeouts) -> str:
    parts = []
    if timeouts.lock_ms:
        parts.append(f"give up after {duration(timeouts.lock_ms)} waiting for a lock")
    if timeouts.statement_ms:
        parts.append(f"stop any statement after {duration(timeouts.statement_ms)}")
    return " and ".join(parts)
