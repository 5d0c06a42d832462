"""The unmodelled finding, word for word: where the statement is, its first words, and why
the engine could not model it."""

from __future__ import annotations

from bot.core.replay import Unmodelled
from bot.core.risk import Category, Level
from bot.core.risk.rules.unmodelled import finding
from tests.core.risk.helpers import said

USERS = "CREATE TABLE users (id int PRIMARY KEY);"


def test_a_statement_of_a_migration() -> None:
    assert said("postgres", USERS, "DO $$ BEGIN PERFORM 1; END $$;", "unmodelled") == [
        (
            "warning",
            "002_change.sql:1",
            "002_change.sql:1 (DO $$ BEGIN PERFORM 1; END $$): anonymous code block (DO): its "
            "effect on the schema is unknown; its effect is not in this plan, check it by hand",
        )
    ]


def test_long_statements_are_cut_to_80_characters_of_single_spaced_text() -> None:
    sql = "UPDATE  users\n   SET " + ", ".join(f"c{i} = {i}" for i in range(40))
    f = finding(Unmodelled("m/001.sql", 12, sql, "dynamic SQL"))
    first = " ".join(sql.split())[:80]
    assert len(first) == 80
    assert (f.rule, f.category, f.level, f.object) == (
        "unmodelled",
        Category.UNMODELLED,
        Level.WARNING,
        "m/001.sql:12",
    )
    assert f.message == (
        f"m/001.sql:12 ({first}): dynamic SQL; its effect is not in this plan, check it by hand"
    )


def test_a_gap_of_the_down_itself_has_no_file_and_maybe_no_sql() -> None:
    f = finding(Unmodelled("", 0, "", "the rebuild has nothing to put in it"))
    assert (f.object, f.message) == (
        "the down",
        "the down: the rebuild has nothing to put in it; its effect is not in this plan, check "
        "it by hand",
    )
