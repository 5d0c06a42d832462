"""What an allow comment or the policy's `allow` covers: the objects its statement touched and
what is inside them, matched the way the dialect compares names."""

from __future__ import annotations

import pytest

from bot.core.changes import RenameColumn
from bot.core.model import Dialect, QName
from bot.core.render import Rendered
from bot.core.replay import Allow, replay_sql
from bot.core.risk import Category, Finding, Level, Policy, Verdict
from bot.core.risk.analyse import assess, policy_from_config


def _suppressed(dialect: Dialect, allowed: str) -> list[str | None]:
    before = replay_sql("CREATE TABLE users (id int, name text);", dialect).schema
    rename = RenameColumn(QName("users"), "name", "full_name")
    allow = Allow("rename-breaks-newer-app", "maintenance window", (allowed,), "002.sql", 3)
    return [f.suppressed for f in assess([rename], before, allows=[allow]).findings()]


@pytest.mark.parametrize(
    ("dialect", "allowed", "suppressed"),
    [
        (Dialect.MYSQL, "USERS", "maintenance window"),  # names compare without case
        (Dialect.SQLITE, "Users", "maintenance window"),
        (Dialect.POSTGRES, "users", "maintenance window"),  # the table covers its columns
        (Dialect.POSTGRES, "USERS", None),  # a quoted "USERS" is another table
    ],
)
def test_an_allow_covers_its_table_and_its_columns_as_the_dialect_compares_names(
    dialect: Dialect, allowed: str, suppressed: str | None
) -> None:
    assert _suppressed(dialect, allowed) == [suppressed]


def test_a_policy_allow_without_a_reason_says_the_policy_allowed_it() -> None:
    policy = policy_from_config({"allow": {"rename-breaks-newer-app": None}})
    before = replay_sql("CREATE TABLE users (id int, name text);", Dialect.POSTGRES).schema
    rename = RenameColumn(QName("users"), "name", "full_name")
    assessment = assess([rename], before, policy=policy)
    assert [f.suppressed for f in assessment.findings()] == ["allowed by the policy"]
    assert assessment.verdict is Verdict.SAFE


def test_a_category_a_policy_leaves_out_needs_approval() -> None:
    finding = Finding("drop-check", Category.INTEGRITY, Level.WARNING, "no check", "t.c")
    assert Policy(categories={}).verdict(finding) is Verdict.NEEDS_APPROVAL


@pytest.mark.parametrize(
    ("allowed", "suppressed"), [("users", "dropped on purpose"), ("USERS", None)]
)
def test_an_allow_covers_a_loss_read_from_the_shipped_sql_as_postgres_compares_names(
    allowed: str, suppressed: str | None
) -> None:
    before = replay_sql("CREATE TABLE users (id int);", Dialect.POSTGRES).schema
    allow = Allow("drop-table", "dropped on purpose", (allowed,), "002.sql", 1)
    shipped = [Rendered("DROP TABLE users", "drop_table", "users")]
    assessment = assess([], before, allows=[allow], statements=shipped)
    assert [f.suppressed for _, f in assessment.shipped] == [suppressed]
