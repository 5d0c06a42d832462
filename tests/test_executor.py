"""What the executor reads back from comments and PR bodies people can edit: a hand-edited
hidden marker reads as no state, never as a crash or as a wrong value."""

from __future__ import annotations

import json

import pytest

from bot.executor import COMMENT_MARKER, parse_companion, parse_record


def state(data: object) -> str:
    return f"{COMMENT_MARKER}\n<!-- rollback-plan:state {json.dumps(data)} -->\nplan"


def companion(data: object) -> str:
    return f"<!-- rollback-plan:companion {json.dumps(data)} -->\nbody"


LINK = {"revert_pr": 4, "revert_sha": "a" * 40, "base": "main", "start_sha": "b" * 40,
        "commit": "c" * 40, "files": "0123456789abcdef", "author": "ada"}  # fmt: skip


def test_a_record_reads_back_what_was_written() -> None:
    record = parse_record(9, state({"plan_hash": "h", "head_sha": "s", "verdict": "safe",
                                    "companion_number": 12, "parts": 3, "revert_author": "ada"}))  # fmt: skip
    assert (record.plan_hash, record.head_sha, record.verdict) == ("h", "s", "safe")
    assert (record.companion_number, record.parts, record.revert_author) == (12, 3, "ada")


@pytest.mark.parametrize(
    "edited",
    [[1, 2], "text", {"parts": "x"}, {"parts": 0}, {"parts": -3}, {"parts": True},
     {"parts": [2]}, {"companion_number": "12"}, {"companion_number": True},
     {"plan_hash": 7}, {"revert_author": ["ada"]}],
)  # fmt: skip
def test_a_hand_edited_state_falls_back_to_defaults(edited: object) -> None:
    record = parse_record(9, state(edited))
    assert record.parts == 1 and record.companion_number is None
    assert record.plan_hash == "" and record.revert_author is None


def test_a_state_that_is_not_json_is_no_state() -> None:
    record = parse_record(9, f"{COMMENT_MARKER}\n<!-- rollback-plan:state {{nope}} -->")
    assert (record.comment_id, record.plan_hash, record.parts) == (9, "", 1)


def test_a_companion_link_reads_back() -> None:
    link = parse_companion(companion(LINK))
    assert link is not None
    assert (link.revert_pr, link.base, link.files, link.author) == (4, "main", LINK["files"], "ada")


@pytest.mark.parametrize("key", ["revert_sha", "base", "start_sha", "commit", "files"])
@pytest.mark.parametrize("value", [None, 5, ["main"], {"x": 1}])
def test_a_companion_link_missing_a_field_is_no_link(key: str, value: object) -> None:
    """A link the bot cannot trust would make it act on the wrong revert or branch."""
    data = (
        {**LINK, key: value} if value is not None else {k: v for k, v in LINK.items() if k != key}
    )
    assert parse_companion(companion(data)) is None


def test_optional_link_fields_of_the_wrong_type_are_dropped() -> None:
    link = parse_companion(companion({**LINK, "revert_pr": True, "author": 3}))
    assert link is not None and link.revert_pr is None and link.author is None
