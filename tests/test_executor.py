"""What the executor reads back from comments and PR bodies people can edit: a hand-edited
hidden marker reads as no state, never as a crash or as a wrong value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.approvals import Approval, approval_marker
from bot.executor import (
    CHECK_NAME,
    COMMENT_MARKER,
    FAILURE_KEY,
    GITHUB_COMMENT_LIMIT,
    Executor,
    Publication,
    parse_companion,
    parse_record,
    part_marker,
    reply_marker,
    split_markdown,
)
from bot.forges import CheckState
from tests.jobs.fake_forge import WRITES, FakeForge
from tests.planner.repo import Repo


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


def test_a_record_reads_the_companion_branch_and_the_approvals() -> None:
    ada = Approval("ada", False, "h", "s", "2026-11-03T12:00:00+00:00")
    body = state({"companion_branch": "rollback-plan/abc"}) + "\n" + approval_marker(ada)
    record = parse_record(9, body)
    assert (record.companion_branch, record.approvals) == ("rollback-plan/abc", (ada,))


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
    # the shas are what the bot compares before it commits again: each must be read back
    assert (link.revert_sha, link.start_sha, link.commit) == ("a" * 40, "b" * 40, "c" * 40)


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


# -- writes, against the in-memory fake forge ------------------------------------------


REPO = "acme/app"


def executor(tmp_path: Path, limit: int = GITHUB_COMMENT_LIMIT) -> tuple[Executor, FakeForge, str]:
    repo = Repo(tmp_path / "origin")
    repo.commit("Start", {"README.md": "app\n"})
    repo.git("branch", "revert-x")
    forge = FakeForge(REPO, repo.path / ".git")
    forge.add_pull_request(title="Revert x", head_branch="revert-x", author="ada")
    return Executor(forge, REPO, comment_limit=limit), forge, repo.head()


def problem(text: str, sha: str) -> Publication:
    return Publication(None, problem=text, head_sha=sha, number=1, check=CheckState.FAILURE)


def test_a_plan_that_could_not_be_computed_says_why_and_how_to_retry(tmp_path: Path) -> None:
    ex, forge, sha = executor(tmp_path)
    ex.publish(problem("the config file is not YAML", sha))
    (comment,) = forge.bot_comments(1)
    assert "could not be planned" in comment.body and "the config file is not YAML" in comment.body
    check = forge.get_check(REPO, sha, CHECK_NAME)
    assert check is not None and check.state is CheckState.FAILURE
    assert check.title == "could not be planned"
    assert "The plan could not be computed: the config file is not YAML" in check.summary
    assert "comment `/rollback-plan refresh` once the problem is fixed" in check.summary


def test_publishing_the_same_thing_again_writes_nothing(tmp_path: Path) -> None:
    ex, forge, sha = executor(tmp_path)
    ex.publish(problem("boom", sha))
    writes = [c for c in forge.calls if c in WRITES]
    ex.publish(problem("boom", sha))
    assert [c for c in forge.calls if c in WRITES] == writes


def test_a_shorter_plan_empties_the_parts_it_no_longer_needs(tmp_path: Path) -> None:
    ex, forge, sha = executor(tmp_path, limit=1000)
    ex.publish(problem("long line\n\n" * 300, sha))
    assert len(forge.bot_comments(1)) > 2
    # the markers of earlier posts must stay what they were: they are how parts are found again
    assert forge.bot_comments(1)[1].body.startswith(
        "<!-- rollback-plan:comment part 2 -->\n*Rollback plan, continued (part 2).*\n"
    )
    ex.publish(problem("short", sha))
    first, *rest = forge.bot_comments(1)
    record = ex.record(1)
    assert "short" in first.body and record is not None and record.parts == 1
    assert record.comment_id == first.id
    for i, part in enumerate(rest, start=1):
        assert part.body == (
            f"{part_marker(i)}\n*This part of an earlier, longer plan is no longer used.*\n"
        )


def test_a_failure_reply_is_resolved_once_the_plan_is_published(tmp_path: Path) -> None:
    ex, forge, sha = executor(tmp_path)
    ex.fail(1, None, "gave up; comment `/rollback-plan refresh`")
    ex.publish(problem("boom", sha))
    replies = [c.body for c in forge.bot_comments(1) if reply_marker(FAILURE_KEY) in c.body]
    assert replies == [
        f"{reply_marker(FAILURE_KEY)}\n"
        "*An earlier attempt failed; the plan has since been published.*\n"
    ]


def test_a_failed_job_on_a_pushed_commit_says_so_on_the_commit(tmp_path: Path) -> None:
    ex, forge, sha = executor(tmp_path)
    ex.fail(None, sha, "gave up")
    ex.fail(None, sha, "gave up")
    assert [c.body for c in forge.commit_comments[sha]] == [f"{reply_marker(FAILURE_KEY)}\ngave up"]
    assert forge.bot_comments(1) == []


def header(i: int) -> str:
    return f"<!-- part {i + 1} -->\n"


@pytest.mark.parametrize("text", ["", "a\nb\n"])
def test_a_short_comment_stays_whole(text: str) -> None:
    assert split_markdown(text, 1000, header) == [text]


@pytest.mark.parametrize("fence", ["```sql", "~~~~"])
def test_a_code_block_left_open_is_closed_with_its_own_fence(fence: str) -> None:
    assert split_markdown(f"a\n{fence}\nSELECT 1;\n", 1000, header) == [
        f"a\n{fence}\nSELECT 1;\n{fence[:3] if fence[0] == '`' else fence}\n"
    ]


def test_a_limit_too_small_to_split_into_is_refused_with_the_limit() -> None:
    with pytest.raises(ValueError, match="comment limit 100 is too small"):
        split_markdown("a\n", 100, header)


def test_a_reopened_code_block_keeps_its_long_opening_line_whole() -> None:
    opening = "```" + "x" * 600
    text = opening + "\n" + "line\n" * 300 + "```\n"
    parts = split_markdown(text, 1000, header)
    assert len(parts) > 2
    for i, part in enumerate(parts[1:], start=1):
        lines = part.removeprefix(header(i)).splitlines()
        # the reopening fence stands on its own line, followed by the block's lines
        assert opening.startswith(lines[0]) and lines[0].startswith("```")
        assert set(lines[1:-1]) == {"line"} and lines[-1] == "```"


def test_a_reopened_code_block_starts_with_its_fence_line_and_nothing_more() -> None:
    parts = split_markdown("```sql\n" + "line\n" * 300 + "```\n", 1000, header)
    assert len(parts) > 1
    for i, part in enumerate(parts[1:], start=1):
        assert part.startswith(header(i) + "```sql\nline\n")


def test_a_part_someone_deleted_is_no_obstacle_to_a_shorter_plan(tmp_path: Path) -> None:
    ex, forge, sha = executor(tmp_path, limit=1000)
    ex.publish(problem("long line\n\n" * 300, sha))
    del forge.comments[1][2]
    ex.publish(problem("short", sha))
    assert "short" in forge.bot_comments(1)[0].body


def test_a_job_failing_twice_on_a_pr_says_so_once(tmp_path: Path) -> None:
    ex, forge, _ = executor(tmp_path)
    ex.fail(1, None, "gave up")
    ex.fail(1, None, "gave up again")
    assert [c.body for c in forge.bot_comments(1)] == [
        f"{reply_marker(FAILURE_KEY)}\ngave up again"
    ]
