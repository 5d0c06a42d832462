"""Splitting a long comment at the platform's limit without breaking code blocks."""

from __future__ import annotations

import pytest

from bot.executor import split_markdown


def header(i: int) -> str:
    return f"<!-- part {i + 1} -->\n"


def fences_balanced(part: str) -> bool:
    return sum(1 for ln in part.splitlines() if ln.lstrip().startswith("```")) % 2 == 0


def test_short_text_is_one_part() -> None:
    assert split_markdown("hello\n", 1000, header) == ["hello\n"]


@pytest.mark.parametrize("limit", [400, 700, 1500])
def test_code_blocks_are_closed_and_reopened(limit: int) -> None:
    sql = "".join(f"ALTER TABLE t{i} DROP COLUMN c{i};\n" for i in range(200))
    text = "# Summary\n\nverdict\n\n```sql\n" + sql + "```\n\nafter\n"
    parts = split_markdown(text, limit, header)
    assert len(parts) > 1 and parts[0].startswith("# Summary")
    for i, part in enumerate(parts):
        assert len(part) <= limit and fences_balanced(part), part
        if i:
            assert part.startswith(header(i))
    body = "".join(p for p in parts).replace("```\n", "").replace("```sql\n", "")
    for i in range(200):
        assert f"ALTER TABLE t{i} DROP COLUMN c{i};" in body


def test_a_line_longer_than_a_part_is_cut() -> None:
    parts = split_markdown("x" * 5000 + "\n", 1000, header)
    assert all(len(p) <= 1000 for p in parts) and sum(p.count("x") for p in parts) == 5000
