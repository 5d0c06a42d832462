"""The session limits every shipped PostgreSQL and MySQL/MariaDB down starts with."""

from __future__ import annotations

import pytest

from bot.core.model import Dialect
from bot.core.render import to_script
from bot.core.render.session import Timeouts, duration, preamble


@pytest.mark.parametrize(
    ("ms", "text"),
    [(500, "500ms"), (5_000, "5s"), (1_500, "1500ms"), (120_000, "2min"), (3_600_000, "1h")],
)
def test_durations_are_written_in_the_largest_exact_unit(ms: int, text: str) -> None:
    assert duration(ms) == text


def test_postgres_sets_both_timeouts_with_plain_set_and_says_what_to_do() -> None:
    script = to_script(preamble(Dialect.POSTGRES, Timeouts(2_000, 600_000)))
    sql = [line for line in script.splitlines() if not line.startswith("--")]
    comment = " ".join(line[3:] for line in script.splitlines() if line.startswith("--"))

    # SET LOCAL would be ignored outside a transaction block (golang-migrate, no BEGIN)
    assert sql == ["SET lock_timeout = '2s';", "SET statement_timeout = '10min';"]
    assert "give up after 2s waiting for a lock" in comment
    assert "rolls it back: run it again" in comment


def test_mysql_sets_both_lock_waits_in_whole_seconds_rounded_up() -> None:
    statements = [r.sql.splitlines()[-1] for r in preamble(Dialect.MYSQL, Timeouts(1_500, 0))]
    assert statements == [
        "SET SESSION lock_wait_timeout = 2",
        "SET SESSION innodb_lock_wait_timeout = 2",
    ]


def test_nothing_is_set_where_nothing_is_asked_or_nothing_queues() -> None:
    assert preamble(Dialect.SQLITE, Timeouts()) == []
    assert preamble(Dialect.POSTGRES, Timeouts(0, 0)) == []
    assert preamble(Dialect.MYSQL, Timeouts(0, 60_000)) == []  # no statement timeout there
    only = preamble(Dialect.POSTGRES, Timeouts(0, 60_000))
    assert [r.sql.splitlines()[-1] for r in only] == ["SET statement_timeout = '1min'"]


def test_postgres_preamble_is_exactly_this() -> None:
    """The comment a reviewer reads at the top of every shipped PostgreSQL down."""
    assert to_script(preamble(Dialect.POSTGRES, Timeouts())) == (
        "-- rollback-plan: give up after 5s waiting for a lock and stop any statement after 1h,\n"
        "-- so this migration never holds up later queries on a table for long. If a timeout\n"
        "-- fires, the migration stops with an error and PostgreSQL rolls it back: run it\n"
        "-- again once the blocking query has ended.\n"
        "SET lock_timeout = '5s';\n"
        "SET statement_timeout = '1h';\n"
    )


def test_mysql_preamble_is_exactly_this() -> None:
    assert to_script(preamble(Dialect.MYSQL, Timeouts())) == (
        "-- rollback-plan: give up after 5s waiting for a table's metadata lock or a\n"
        "-- row lock, instead of making every later query on the table queue behind this\n"
        "-- migration. If it fires, the statements before it stay applied (MySQL commits each\n"
        "-- DDL statement): once the blocking query ends, run the rest.\n"
        "SET SESSION lock_wait_timeout = 5;\n"
        "SET SESSION innodb_lock_wait_timeout = 5;\n"
    )


@pytest.mark.parametrize(("ms", "seconds"), [(1, 1), (500, 1), (1_000, 1), (1_001, 2)])
def test_mysql_lock_wait_is_at_least_the_asked_time_and_at_least_one_second(
    ms: int, seconds: int
) -> None:
    (first, _) = preamble(Dialect.MYSQL, Timeouts(ms, 0))
    assert first.sql.endswith(f"SET SESSION lock_wait_timeout = {seconds}")


@pytest.mark.parametrize("dialect", [Dialect.POSTGRES, Dialect.MYSQL])
def test_every_preamble_statement_is_marked_as_the_session_preamble(dialect: Dialect) -> None:
    """Risk findings are placed on the statements after the preamble by this mark."""
    marks = [(r.change, r.object) for r in preamble(dialect, Timeouts())]
    assert marks == [("session", "timeouts")] * 2
