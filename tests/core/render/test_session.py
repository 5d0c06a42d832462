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
