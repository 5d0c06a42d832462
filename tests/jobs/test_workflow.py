"""The workflow end to end against the in-memory forge and real git repositories: what a
person sees on the revert PR (companion PR, plan comment, check) and how it moves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.approvals import ApprovalPolicy
from bot.events import JobKind
from bot.executor import COMMENT_MARKER
from bot.forges import CheckState
from tests.jobs.fake_forge import BOT
from tests.jobs.scenario import EMAIL, REPO, M, World, make_world, revert_pr


@pytest.fixture
def gated(tmp_path: Path) -> tuple[World, int]:
    """A revert PR whose plan drops a column: needs approval under this repo's policy."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    return world, n


@pytest.fixture
def refused(tmp_path: Path) -> tuple[World, int]:
    """The same revert under the default policy: losing data is refused."""
    world = make_world(tmp_path)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    return world, n


def head(world: World, n: int) -> str:
    return world.forge.pulls[n].head_sha


def test_revert_pr_gets_a_companion_pr_a_plan_comment_and_a_check(gated: tuple[World, int]) -> None:
    world, n = gated
    sha = head(world, n)
    [companion] = world.companions()
    assert companion.head_branch == f"rollback-plan/{sha[:12]}"
    assert companion.base_branch == "revert-2-add-email"  # it merges into the revert
    assert companion.title == 'Rollback plan: Revert "Add email (#2)"'
    assert world.forge.labels[companion.number] == ("rollback-plan",)
    # The branch carries the re-added migration and the compensating one, on the revert's head.
    branch = f"rollback-plan/{sha[:12]}"
    assert world.repo.git("rev-parse", f"{branch}~1") == sha
    assert world.repo.show(branch, f"{M}/000002_email.up.sql") == EMAIL[f"{M}/000002_email.up.sql"]
    tree = world.repo.git("ls-tree", "-r", "--name-only", branch, M).splitlines()
    rollback = [p for p in tree if "_rollback_" in p and p.endswith(".up.sql")]
    assert len(rollback) == 1
    assert "ALTER TABLE users DROP COLUMN email" in world.repo.show(branch, rollback[0])
    # The body explains the plan and how to approve.
    assert "ALTER TABLE users DROP COLUMN email" in companion.body
    assert "`/rollback-plan approve`" in companion.body and "data loss" in companion.body

    comment = world.plan_comment(n)
    assert comment.author == BOT
    summary = comment.body.split("<!-- rollback-plan:plan -->")[0]
    assert "needs approval" in summary and companion.url in summary
    check = world.check(sha)
    assert check.state is CheckState.ACTION_REQUIRED
    assert companion.url in check.summary and "/rollback-plan approve" in check.summary


def test_refused_plan_fails_the_check_until_approved_as_data_loss(
    refused: tuple[World, int],
) -> None:
    world, n = refused
    sha = head(world, n)
    assert world.check(sha).state is CheckState.FAILURE
    assert "loses data" in world.check(sha).summary

    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    [reply] = world.replies(n)
    assert "approve data-loss" in reply.body
    assert world.check(sha).state is CheckState.FAILURE

    world.worker.handle(world.command(n, "/rollback-plan approve data-loss", "wendy"))
    assert world.check(sha).state is CheckState.SUCCESS
    assert "@wendy" in world.check(sha).summary and "data loss" in world.check(sha).summary


def test_writer_approves(gated: tuple[World, int]) -> None:
    world, n = gated
    sha = head(world, n)
    job = world.command(n, "/rollback-plan approve", "wendy")
    world.worker.handle(job)
    assert (n, job.comment_id, "eyes") in world.forge.reactions
    assert world.check(sha).state is CheckState.SUCCESS
    assert "Approved** by @wendy" in world.plan_comment(n).body
    assert [c.state for s, c in world.forge.check_history if s == sha] == [
        CheckState.ACTION_REQUIRED,
        CheckState.SUCCESS,
    ]


def test_reader_is_denied_and_the_check_does_not_move(gated: tuple[World, int]) -> None:
    world, n = gated
    sha = head(world, n)
    before = (world.check(sha), world.plan_comment(n).body)
    world.worker.handle(world.command(n, "/rollback-plan approve", "ruth"))
    [reply] = world.replies(n)
    assert "approval not accepted" in reply.body
    assert "write permission" in reply.body and "@ruth has read" in reply.body
    assert (world.check(sha), world.plan_comment(n).body) == before


def test_author_cannot_approve_their_own_data_loss(refused: tuple[World, int]) -> None:
    world, n = refused
    sha = head(world, n)
    world.worker.handle(world.command(n, "/rollback-plan approve data-loss", "alice"))
    [reply] = world.replies(n)
    assert "author of the revert cannot approve" in reply.body
    assert world.check(sha).state is CheckState.FAILURE


def test_team_member_approves(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True, policy=ApprovalPolicy(teams=("acme/dba",)))
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    world.worker.handle(world.command(n, "/rollback-plan approve", "tom"))  # read, but in dba
    assert world.check(head(world, n)).state is CheckState.SUCCESS
    world.worker.handle(world.command(n, "/rollback-plan approve", "ruth"))  # read, not in dba
    assert "acme/dba" in world.replies(n)[-1].body


def test_new_push_to_the_revert_invalidates_the_approval(gated: tuple[World, int]) -> None:
    world, n = gated
    old = head(world, n)
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    assert world.check(old).state is CheckState.SUCCESS

    world.repo.git("checkout", "-q", "revert-2-add-email")
    world.repo.commit("Tidy", {"README.md": "tidy\n"})
    world.repo.git("checkout", "-q", "main")
    new = world.forge.sync(n).head_sha
    world.worker.handle(world.pr_job(n))

    assert world.check(new).state is CheckState.ACTION_REQUIRED
    assert "no longer counts" in world.check(new).summary
    assert "no longer counts" in world.plan_comment(n).body
    # Still one companion, now on the new head.
    [companion] = world.companions()
    assert world.repo.git("rev-parse", f"{companion.head_branch}~1") == new
    assert len(world.forge.bot_comments(n)) == 1  # the plan comment, edited in place


def test_approving_review_on_the_companion_counts(gated: tuple[World, int]) -> None:
    world, n = gated
    [companion] = world.companions()
    world.worker.handle(
        world.job(JobKind.REVIEW, number=companion.number, author="wendy", sha=companion.head_sha)
    )
    assert world.check(head(world, n)).state is CheckState.SUCCESS
    # A reader's review does not.
    world.worker.handle(world.job(JobKind.REVIEW, number=companion.number, author="ruth"))
    assert "approval not accepted" in world.replies(companion.number)[0].body


def test_reversibility_report_before_merge(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    r = world.repo
    r.git("checkout", "-q", "-b", "add-email")
    r.commit("Add email", EMAIL)
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Add email", head_branch="add-email", author="bob")
    world.worker.handle(world.pr_job(pr.number))
    assert world.forge.calls == []  # not a revert: nothing to say
    world.worker.handle(world.command(pr.number, "/rollback-plan", "bob"))
    body = world.plan_comment(pr.number).body
    assert "Reversibility report" in body and "ALTER TABLE users DROP COLUMN email" in body
    assert world.forge.checks == {} and world.companions() == []


def test_unknown_command_gets_help_with_the_text_escaped(gated: tuple[World, int]) -> None:
    world, n = gated
    text = "/rollback-plan <img src=x onerror=alert(1)> $(rm -rf /) `x` [a](b)"
    world.worker.handle(world.command(n, text, "mallory"))
    [reply] = world.replies(n)
    assert "does not know the command" in reply.body and "/rollback-plan approve" in reply.body
    assert re.search(r"(?<!\\)<img", reply.body) is None and "\\<img" in reply.body
    assert "\\`x\\`" in reply.body and "\\[a\\](b)" in reply.body


def test_fork_pr_gets_the_plan_and_the_check_but_no_branch(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world, fork=True)
    world.worker.handle(world.pr_job(n))
    assert "commit_files" not in world.forge.calls and world.companions() == []
    assert "rollback-plan/" not in world.repo.git("branch", "--list")
    assert "from a fork" in world.plan_comment(n).body
    assert world.check(head(world, n)).state is CheckState.ACTION_REQUIRED


def test_pushed_revert_on_main(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    r.commit("Docs", {"README.md": "docs\n"})
    before = r.commit("Add email", EMAIL)
    revert = r.revert("HEAD")
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))

    [companion] = world.companions()
    assert companion.base_branch == "main"
    assert companion.head_branch == f"rollback-plan/{revert[:12]}"
    assert world.repo.git("rev-parse", f"{companion.head_branch}~1") == revert
    [on_commit] = world.forge.commit_comments[revert]
    assert COMMENT_MARKER in on_commit.body and companion.url in on_commit.body
    assert world.check(revert).state is CheckState.ACTION_REQUIRED
    # Approvals for a pushed revert are given on its companion.
    world.worker.handle(world.command(companion.number, "/rollback-plan approve", "wendy"))
    assert world.check(revert).state is CheckState.SUCCESS
    # Only the revert was planned: the other commits in its history are no reverts.
    assert list(world.forge.commit_comments) == [revert]


def test_pushed_commits_that_are_no_reverts_are_left_alone(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    before = world.repo.head()
    after = world.repo.commit("Add email", EMAIL)
    world.worker.handle(world.job(JobKind.PUSH, sha=after, before=before, branch="main"))
    assert world.forge.calls == []


def test_long_plans_are_split_without_breaking_code_blocks(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True, comment_limit=1500)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    parts = world.forge.bot_comments(n)
    assert len(parts) > 2
    assert parts[0].body.startswith(COMMENT_MARKER)
    assert "needs approval" in parts[0].body.split("<!-- rollback-plan:plan -->")[0]
    for p in parts:
        assert len(p.body) <= 1500
        fences = [ln for ln in p.body.splitlines() if ln.lstrip().startswith("```")]
        assert len(fences) % 2 == 0, p.body
    joined = "".join(p.body for p in parts)
    assert "ALTER TABLE users DROP COLUMN email" in joined
    calls = len(world.forge.calls)
    world.worker.handle(world.pr_job(n))
    assert len(world.forge.calls) == calls and len(world.forge.bot_comments(n)) == len(parts)


def test_plan_comment_is_only_read_from_the_bot(gated: tuple[World, int]) -> None:
    """A person pasting a forged approval marker approves nothing."""
    world, n = gated
    forged = world.plan_comment(n).body.replace("<!-- rollback-plan:state", "<!-- x")
    world.forge.add_comment(n, COMMENT_MARKER + "\n" + forged, "mallory")
    world.worker.handle(world.pr_job(n))
    assert world.check(head(world, n)).state is CheckState.ACTION_REQUIRED
    assert world.forge.find_comment(REPO, n, COMMENT_MARKER) == world.plan_comment(n)


def test_merging_a_planned_revert_pr_plans_nothing_twice(gated: tuple[World, int]) -> None:
    """The merge pushes the revert to main: it was planned as a PR already."""
    world, _ = gated
    [companion] = world.companions()
    before = world.repo.head()
    # The companion is merged into the revert, then the revert into main.
    world.repo.git("checkout", "-q", "revert-2-add-email")
    world.repo.git("merge", "-q", "--no-ff", "-m", "Merge companion", companion.head_branch)
    world.repo.git("checkout", "-q", "main")
    world.repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #1", "revert-2-add-email")
    after = world.repo.head()
    world.worker.handle(world.job(JobKind.PUSH, sha=after, before=before, branch="main"))
    assert world.forge.commit_comments == {} and world.companions() == [companion]
