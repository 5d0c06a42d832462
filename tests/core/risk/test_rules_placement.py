"""A rule's finding is shown under the statement that does what it warns about, also when a
down changes one column twice (its comment, then its type) and renders both as one group."""

from __future__ import annotations

import pytest

from bot.core.risk.analyse import statement_findings
from tests.core.risk.helpers import rollback

COMMENTED = "CREATE TABLE t (id int PRIMARY KEY, v {}); COMMENT ON COLUMN t.v IS 'old';"


@pytest.mark.parametrize(
    ("history_type", "migration", "alter", "rules"),
    [
        (
            "numeric(10,2)",
            "ALTER TABLE t ALTER COLUMN v TYPE numeric(12,4)",
            "ALTER TABLE t ALTER COLUMN v TYPE numeric(10,2)",
            ["lossy-type-change", "pg-table-rewrite"],
        ),
        (
            "varchar(50)",
            "ALTER TABLE t ALTER COLUMN v TYPE varchar(100)",
            "ALTER TABLE t ALTER COLUMN v TYPE varchar(50)",
            ["narrowing-may-fail", "pg-table-rewrite"],
        ),
        (
            "int NOT NULL",
            "ALTER TABLE t ALTER COLUMN v DROP NOT NULL",
            "ALTER TABLE t ALTER COLUMN v SET NOT NULL",
            ["required-column-breaks-newer-app", "set-not-null", "set-not-null-scan"],
        ),
    ],
)
def test_a_type_change_after_a_comment_change_is_shown_on_its_alter(
    history_type: str, migration: str, alter: str, rules: list[str]
) -> None:
    down, assessment = rollback(
        "postgres", COMMENTED.format(history_type), f"{migration}; COMMENT ON COLUMN t.v IS 'new';"
    )
    # the down undoes the comment, then the type: two changes, one group of statements
    assert [c.after.comment for c in down.changes] == ["old", "old"]  # type: ignore[attr-defined]
    placed = [
        (r.sql, sorted(f.rule for f in fs))
        for r, fs in statement_findings(assessment, down.statements)
    ]
    assert placed == [(alter, rules), ("COMMENT ON COLUMN t.v IS 'old'", [])]
