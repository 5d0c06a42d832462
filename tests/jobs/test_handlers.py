"""The worker's answers a person sees, case by case (written from the surviving mutants of
bot/jobs/handlers.py): failure comments, re-runs of the check, commands and reviews that act
on nothing, pushes, and revert PRs whose base moved on. Real repositories, the fake forge."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.approvals import ApprovalPolicy
from bot.events import JobKind
from bot.executor import reply_marker
from bot.forges import CheckState, ForgeError
from bot.jobs.handlers import Workflow
from bot.jobs.repo_cache import Remote
from bot.planner import PlanOptions
from tests.jobs.scenario import EMAIL, M, World, make_world, revert_pr

AUDIT = {
    f"{M}/000003_audit.up.sql": "CREATE TABLE audit (id integer PRIMARY KEY);\n",
    f"{M}/000003_audit.down.sql": "DROP TABLE audit;\n",
}
FAILED = (
    "**rollback-plan could not finish** planning this change (delivery `{}`); the forge or "
    "the repository did not answer in time. Comment `/rollback-plan refresh` to try again."
)


@pytest.fixture
def gated(tmp_path: Path) -> tuple[World, int]:
    """A revert PR whose plan drops a column: needs approval under this repo's policy."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    return world, n


def pushed_revert(world: World) -> tuple[str, str]:
    """`Add email` then its revert, pushed to main: (the commit before, the revert)."""
    before = world.repo.commit("Add email", EMAIL)
    return before, world.repo.revert("HEAD")


# -- giving up ---------------------------------------------------------------------------


def test_a_pr_job_given_up_says_so_on_the_pr_word_for_word(gated: tuple[World, int]) -> None:
    world, n = gated
    job = world.pr_job(n, delivery="d-given-up", sha="ignored")
    world.worker.give_up(job, ForgeError("502 Bad Gateway", transient=True, status=502))
    [failure] = [c for c in world.forge.bot_comments(n) if reply_marker("failure") in c.body]
    assert failure.body == reply_marker("failure") + "\n" + FAILED.format("d-given-up")
    assert world.forge.commit_comments == {}


def test_a_push_job_given_up_says_so_on_the_commit(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    before, revert = pushed_revert(world)
    job = world.job(JobKind.PUSH, sha=revert, before=before, branch="main", delivery="d-push")
    world.worker.give_up(job, RuntimeError("a bug"))
    [failure] = world.forge.commit_comments[revert]
    assert failure.body == reply_marker("failure") + "\n" + FAILED.format("d-push")


def test_an_unreachable_forge_gets_no_comment_only_a_log_line(
    gated: tuple[World, int], caplog: pytest.LogCaptureFixture
) -> None:
    world, n = gated
    calls = list(world.forge.calls)
    with caplog.at_level(logging.WARNING, logger="bot.jobs.handlers"):
        world.worker.give_up(
            world.pr_job(n, delivery="d-down"), ForgeError("connection failed", transient=True)
        )
    assert world.forge.calls == calls
    assert [r.getMessage() for r in caplog.records if r.name == "bot.jobs.handlers"] == [
        "delivery d-down: the forge is unreachable; no failure comment"
    ]


# -- re-running the check ------------------------------------------------------------------


def test_rerunning_the_check_of_an_approved_revert_pr_keeps_the_approval(
    gated: tuple[World, int],
) -> None:
    """The forge's "Re-run" names only the commit: the companion says which PR it is."""
    world, n = gated
    sha = world.forge.pulls[n].head_sha
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    [companion] = world.companions()
    world.worker.handle(world.job(JobKind.RERUN, sha=sha))
    assert world.check(sha).state is CheckState.SUCCESS
    assert "@wendy" in world.check(sha).summary
    assert world.forge.commit_comments == {}  # it is a PR, not a pushed commit
    assert world.companions() == [companion]  # its body still names the revert PR
    assert world.forge.bot_comments(companion.number) == []
    assert "Approved** by @wendy" in world.plan_comment(n).body


def test_rerunning_the_check_of_an_approved_fork_revert_pr_keeps_the_approval(
    tmp_path: Path,
) -> None:
    """A fork's revert PR has no companion to be found by: its check names the PR, and the
    web layer reads that into the re-run job (tests/forges, tests/web). Planned as a pushed
    commit instead, the approval was thrown away and a plan comment put on the commit."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world, fork=True)
    world.worker.handle(world.pr_job(n))
    sha = world.forge.pulls[n].head_sha
    assert world.check(sha).external_id == f"pr:{n}"
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    assert world.check(sha).state is CheckState.SUCCESS
    world.worker.handle(world.job(JobKind.RERUN, sha=sha, number=n))
    assert world.check(sha).state is CheckState.SUCCESS
    assert "@wendy" in world.check(sha).summary
    assert world.forge.commit_comments == {} and world.companions() == []


def test_rerunning_the_check_of_an_approved_pushed_revert_keeps_the_approval(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    before, revert = pushed_revert(world)
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))
    [companion] = world.companions()
    world.worker.handle(world.command(companion.number, "/rollback-plan approve", "wendy"))
    world.repo.commit("Later", {"README.md": "later\n"})  # main moved on since
    assert world.check(revert).external_id == ""  # no PR holds its plan: the companion does
    world.worker.handle(world.job(JobKind.RERUN, sha=revert))
    assert world.check(revert).state is CheckState.SUCCESS
    assert world.companions() == [companion]  # still on the commit after the revert
    assert world.repo.git("rev-parse", f"{companion.head_branch}~1") == revert
    assert len(world.forge.commit_comments[revert]) == 1


def test_rerunning_a_check_never_set_plans_the_revert_on_the_default_branch(
    tmp_path: Path,
) -> None:
    """The push's delivery was lost: the re-run plans the revert from the branch's tip."""
    world = make_world(tmp_path, approve_data_loss=True)
    _, revert = pushed_revert(world)
    world.forge.default = "trunk"
    world.repo.git("branch", "trunk")
    tip = world.repo.commit("Later", {"README.md": "later\n"})
    world.repo.git("branch", "-f", "trunk", tip)
    world.worker.handle(world.job(JobKind.RERUN, sha=revert))
    assert world.check(revert).state is CheckState.ACTION_REQUIRED
    [companion] = world.companions()
    assert companion.base_branch == "trunk"
    assert companion.head_branch == f"rollback-plan/{revert[:12]}"
    assert world.repo.git("rev-parse", f"{companion.head_branch}~1") == tip


def test_rerunning_a_pr_s_job_plans_the_pr_again(gated: tuple[World, int]) -> None:
    world, n = gated
    world.forge.checks.clear()
    world.worker.handle(world.job(JobKind.RERUN, number=n))
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.ACTION_REQUIRED
    world.worker.handle(world.job(JobKind.RERUN, number=n + 99))  # gone: nothing to do


def test_rerunning_a_pr_that_is_no_revert_posts_no_report(tmp_path: Path) -> None:
    """The reversibility report is given when asked for, by `/rollback-plan`, only."""
    world = make_world(tmp_path)
    world.repo.git("checkout", "-q", "-b", "add-email")
    world.repo.commit("Add email", EMAIL)
    world.repo.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Add email", head_branch="add-email", author="bob")
    world.worker.handle(world.job(JobKind.RERUN, number=pr.number))
    assert world.forge.calls == []


# -- pushes ------------------------------------------------------------------------------


def test_every_revert_of_a_push_is_planned_oldest_first(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    before = r.head()
    r.commit("Add email", EMAIL)
    r.commit("Add audit", AUDIT)
    audit_revert = r.revert("HEAD")
    email_revert = r.revert("HEAD~2")
    r.commit("Docs", {"README.md": "docs\n"})  # the tip is no revert
    world.worker.handle(world.job(JobKind.PUSH, sha=r.head(), before=before, branch="main"))
    assert [p.head_branch for p in world.companions()] == [
        f"rollback-plan/{audit_revert[:12]}",
        f"rollback-plan/{email_revert[:12]}",
    ]
    assert list(world.forge.commit_comments) == [audit_revert, email_revert]


def test_a_new_branch_s_push_looks_at_its_tip_only(tmp_path: Path) -> None:
    """GitHub sends `before` as forty zeros for a branch just created."""
    world = make_world(tmp_path, approve_data_loss=True)
    _, revert = pushed_revert(world)
    tip = world.repo.commit("Docs", {"README.md": "docs\n"})
    world.worker.handle(world.job(JobKind.PUSH, sha=tip, before="0" * 40, branch="main"))
    assert world.forge.calls == []
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before="0" * 40, branch="main"))
    assert world.check(revert).state is CheckState.ACTION_REQUIRED


def test_pushes_planned_elsewhere_are_left_alone(tmp_path: Path) -> None:
    """A branch with an open PR is planned as the PR; our own companion branches never; a
    revert already checked (a redelivery) is not planned twice."""
    world = make_world(tmp_path, approve_data_loss=True)
    before, revert = pushed_revert(world)
    world.repo.git("branch", "revert-2-add-email", revert)
    world.forge.add_pull_request(title="Undo", head_branch="revert-2-add-email", author="bob")
    for branch in ("revert-2-add-email", f"rollback-plan/{revert[:12]}"):
        world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch=branch))
    assert world.forge.calls == []
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))
    calls = list(world.forge.calls)
    assert calls
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))
    assert world.forge.calls == calls


def test_a_push_that_cannot_be_read_says_so_on_its_commit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(tmp_path)
    before, revert = pushed_revert(world)
    world.cache.remote_for = lambda job: Remote(f"file://{tmp_path}/gone")
    job = world.job(JobKind.PUSH, sha=revert, before=before, branch="main", delivery="d-gone")
    with caplog.at_level(logging.WARNING, logger="bot.jobs.handlers"):
        world.worker.handle(job)
    [failure] = world.forge.commit_comments[revert]
    text = failure.body.split("\n", 1)[1]
    assert text.startswith("**rollback-plan could not read the push:** git could not find "), text
    [logged] = [r.getMessage() for r in caplog.records if r.name == "bot.jobs.handlers"]
    assert logged.startswith("push d-gone of acme/app: git could not find "), logged


def test_a_push_job_s_author_is_the_revert_s_author(tmp_path: Path) -> None:
    """Under the default policy the author of a revert may not accept its data loss; a push
    job's author is whoever pushed (the web layer's tests check it is filled in)."""
    world = make_world(tmp_path)
    before, revert = pushed_revert(world)
    job = world.job(JobKind.PUSH, sha=revert, before=before, branch="main", author="wendy")
    world.worker.handle(job)
    [companion] = world.companions()
    world.worker.handle(
        world.command(companion.number, "/rollback-plan approve data-loss", "wendy")
    )
    assert "author of the revert cannot approve" in world.replies(companion.number)[0].body
    assert world.check(revert).state is CheckState.FAILURE
    world.worker.handle(
        world.command(companion.number, "/rollback-plan approve data-loss", "alice")
    )
    assert world.check(revert).state is CheckState.SUCCESS


def test_a_pushed_revert_s_companion_is_titled_after_the_revert(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    before, revert = pushed_revert(world)
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))
    [companion] = world.companions()
    assert companion.title == 'Rollback plan: Revert "Add email"'


def test_a_pushed_revert_that_changes_no_schema_passes_without_a_companion(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    before = world.repo.commit("Docs", {"README.md": "docs\n"})
    revert = world.repo.revert("HEAD")
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))
    assert world.check(revert).state is CheckState.SUCCESS
    assert world.companions() == [] and "commit_files" not in world.forge.calls


def test_merging_a_revert_pr_whose_check_is_on_a_later_commit_plans_nothing_twice(
    tmp_path: Path,
) -> None:
    """The revert commit has no check of its own (the PR's head came after it): the
    companion commit landing in the same push says it was planned."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    r.commit("Add email (#2)", EMAIL)
    r.git("checkout", "-q", "-b", "cleanup")
    r.revert("HEAD")
    r.commit("Tidy", {"README.md": "tidy\n"})
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Cleanup", head_branch="cleanup", author="alice")
    world.worker.handle(world.pr_job(pr.number))
    [companion] = world.companions()
    before = r.head()
    r.git("checkout", "-q", "cleanup")
    r.git("merge", "-q", "--no-ff", "-m", "Merge companion", companion.head_branch)
    r.git("checkout", "-q", "main")
    r.git("merge", "-q", "--no-ff", "-m", "Merge pull request #1", "cleanup")
    world.worker.handle(world.job(JobKind.PUSH, sha=r.head(), before=before, branch="main"))
    assert world.forge.commit_comments == {} and world.companions() == [companion]


def test_a_revert_naming_an_old_commit_by_seven_characters_names_it_in_full(
    tmp_path: Path,
) -> None:
    """The reverted commit lies below the shallow clone: it is fetched to be named."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    added = r.commit("Add email", EMAIL)
    for i in range(4):
        r.commit(f"Docs {i}", {"README.md": f"docs {i}\n"})
    before = r.head()
    r.git("revert", "--no-edit", added)
    r.git("commit", "-q", "--amend", "-m", f"Undo email\n\nThis reverts commit {added[:7]}.")
    revert = r.head()
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))
    [comment] = world.forge.commit_comments[revert]
    assert f"**Reverts** `{added[:12]}`: Undo email" in comment.body


# -- a repository that cannot be read ------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "branch"),
    [
        ('Revert "Add email"', "", "undo"),
        ("Undo the email column", "Reverts acme/app#2", "undo"),
        ("Undo the email column", "", "revert-2-add-email"),
    ],
    ids=["title", "body", "branch"],
)
def test_an_unreadable_revert_pr_says_so_by_its_title_body_or_branch(
    tmp_path: Path, title: str, body: str, branch: str
) -> None:
    world = make_world(tmp_path)
    world.repo.git("branch", branch)
    pr = world.forge.add_pull_request(title=title, body=body, head_branch=branch, author="bob")
    world.cache.remote_for = lambda job: Remote(f"file://{tmp_path}/gone")
    world.worker.handle(world.pr_job(pr.number))
    assert "could not be computed" in world.plan_comment(pr.number).body
    assert world.check(pr.head_sha).state is CheckState.FAILURE


def test_an_unreadable_pr_that_is_no_revert_gets_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.repo.git("branch", "feature")
    pr = world.forge.add_pull_request(title="Add a column", head_branch="feature", author="bob")
    world.cache.remote_for = lambda job: Remote(f"file://{tmp_path}/gone")
    world.worker.handle(world.pr_job(pr.number))
    assert world.forge.calls == []


# -- a revert PR whose base moved on -------------------------------------------------------


def test_a_revert_pr_is_planned_as_merged_into_a_base_that_moved_on(tmp_path: Path) -> None:
    """A migration merged on main after the revert branched off stays: only email goes."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.repo.commit("Audit", AUDIT)
    world.worker.handle(world.pr_job(n))
    body = world.plan_comment(n).body
    assert "undoing 1 migration(s)" in body
    assert "ALTER TABLE users DROP COLUMN email" in body and "DROP TABLE audit" not in body
    assert "later migrations stay applied (000003\\_audit.up.sql)" in body
    assert "does not merge cleanly" not in body


def test_a_revert_pr_merged_into_a_moved_base_names_only_commits_the_repository_has(
    tmp_path: Path,
) -> None:
    """The merge preview is made in the bot's clone; a plan that named it (the not-a-plain-
    rollback warning did) pointed readers at a commit nobody else can find."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    r.commit("Add email (#2)", EMAIL)
    r.git("checkout", "-q", "-b", "revert-2-add-email")
    r.revert("HEAD")
    r.commit("Add notes", {f"{M}/000004_notes.up.sql": "CREATE TABLE notes (id integer);\n"})
    r.git("checkout", "-q", "main")
    r.commit("Audit", AUDIT)
    pr = world.forge.add_pull_request(
        title='Revert "Add email (#2)"', body="", head_branch="revert-2-add-email", author="a"
    )
    world.worker.handle(world.pr_job(pr.number))
    body = world.plan_comment(pr.number).body
    [warning] = [line for line in body.splitlines() if "not a plain rollback" in line]
    assert f"to {pr.head_sha[:12]} undoes" in warning, warning
    for token in set(re.findall(r"\b[0-9a-f]{12}\b", body)):
        assert r.git("cat-file", "-t", token) == "commit", token


def test_a_revert_pr_that_conflicts_with_its_base_is_planned_from_where_it_branched(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    edited = EMAIL[f"{M}/000002_email.up.sql"] + "-- edited on main\n"
    world.repo.commit("Edit email", {f"{M}/000002_email.up.sql": edited})
    world.worker.handle(world.pr_job(n))
    body = world.plan_comment(n).body
    note = "the revert does not merge cleanly into main: planned from where it branched off"
    assert f"- {note}" in body
    assert "ALTER TABLE users DROP COLUMN email" in body
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.ACTION_REQUIRED


def test_an_approval_of_a_revert_pr_merged_into_a_moved_base_lasts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview merge is the same commit each time it is made, whoever makes it when:
    otherwise the plan (whose files name it) changes and every approval is lost."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.repo.commit("Audit", AUDIT)
    world.worker.handle(world.pr_job(n))
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    sha = world.forge.pulls[n].head_sha
    assert world.check(sha).state is CheckState.SUCCESS
    [companion] = world.companions()
    # Later, on a worker whose git identity and clock are others.
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Someone Else")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "else@example.com")
        monkeypatch.setenv(f"GIT_{who}_DATE", "2030-01-01T00:00:00Z")
    assert os.environ["GIT_AUTHOR_DATE"] == "2030-01-01T00:00:00Z"
    world.worker.plans.__init__()  # type: ignore[misc]  # a fresh worker's empty cache
    world.worker.handle(world.pr_job(n))
    assert world.check(sha).state is CheckState.SUCCESS
    assert world.companions() == [companion]


# -- help and reviews ----------------------------------------------------------------------


def test_help_names_who_may_approve_and_whom_it_answers(tmp_path: Path) -> None:
    world = make_world(tmp_path, policy=ApprovalPolicy(teams=("acme/dba", "acme/sre")))
    n = revert_pr(world)
    world.worker.handle(world.command(n, "/rollback-plan help", "bob"))
    world.worker.handle(world.command(n, "/rollback-plan frobnicate", "mallory"))
    helped, unknown = world.replies(n)
    text = helped.body.split("\n", 1)[1]
    assert text.startswith("**`/rollback-plan` commands**"), text
    assert "(needs write permission or membership of acme/dba, acme/sre)." in text
    assert "does not know" not in text
    assert (
        "@mallory: `rollback-plan` does not know the command /rollback-plan frobnicate."
        in unknown.body
    )


def test_help_under_the_default_policy_names_the_permission_alone(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    n = revert_pr(world)
    world.worker.handle(world.command(n, "/rollback-plan help", "bob"))
    [helped] = world.replies(n)
    assert "(needs write permission)." in helped.body


def test_a_review_counts_only_on_the_companion_and_only_from_someone(
    gated: tuple[World, int],
) -> None:
    world, n = gated
    sha = world.forge.pulls[n].head_sha
    [companion] = world.companions()
    calls = list(world.forge.calls)
    world.worker.handle(world.job(JobKind.REVIEW, number=n, author="wendy", sha=sha))
    world.worker.handle(world.job(JobKind.REVIEW, number=companion.number, author="", sha=sha))
    assert world.forge.calls == calls  # neither approves, nor is answered
    assert world.check(sha).state is CheckState.ACTION_REQUIRED


def test_each_denied_reviewer_gets_an_answer_of_their_own(gated: tuple[World, int]) -> None:
    world, _ = gated
    [companion] = world.companions()
    for who in ("ruth", "tom"):
        world.worker.handle(world.job(JobKind.REVIEW, number=companion.number, author=who))
    replies = [r.body for r in world.replies(companion.number)]
    assert len(replies) == 2
    assert "@ruth" in replies[0] and "@tom" in replies[1]


def test_an_approving_review_does_not_accept_data_loss(tmp_path: Path) -> None:
    """Only `/rollback-plan approve data-loss` does: a review is a plain approval."""
    world = make_world(tmp_path)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    sha = world.forge.pulls[n].head_sha
    [companion] = world.companions()
    world.worker.handle(world.job(JobKind.REVIEW, number=companion.number, author="wendy"))
    assert world.check(sha).state is CheckState.FAILURE
    assert "approve data-loss" in world.replies(companion.number)[0].body


# -- commands and approvals ----------------------------------------------------------------


def test_an_approval_is_announced_in_the_plan_comment(gated: tuple[World, int]) -> None:
    world, n = gated
    verdicts: list[str] = []
    world.worker.on_plan = verdicts.append
    world.worker.handle(world.command(n, "/rollback-plan approve data-loss", "wendy"))
    assert "\n- @wendy approved this plan accepting the data loss.\n" in world.plan_comment(n).body
    assert verdicts == ["needs-approval"]


def test_a_plain_approval_is_announced_without_data_loss(gated: tuple[World, int]) -> None:
    world, n = gated
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    assert "\n- @wendy approved this plan.\n" in world.plan_comment(n).body


def test_approving_a_plan_that_could_not_be_computed(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.cache.remote_for = lambda job: Remote(f"file://{tmp_path}/gone")
    world.worker.handle(world.pr_job(n))
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    world.worker.handle(world.command(n, "/rollback-plan approve", "alice"))
    for reply in world.replies(n):  # one answer to each
        assert reply.body.split("\n", 1)[1] == (
            "There is no rollback plan to approve yet. Comment `/rollback-plan refresh`."
        )
    assert len(world.replies(n)) == 2
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.FAILURE


def test_approving_a_plan_that_changed_since_it_was_shown(gated: tuple[World, int]) -> None:
    world, n = gated
    for i in range(2):
        world.repo.git("checkout", "-q", "revert-2-add-email")
        world.repo.commit("Tidy", {"README.md": f"tidy {i}\n"})
        world.repo.git("checkout", "-q", "main")
        new = world.forge.sync(n).head_sha  # its delivery not handled yet
        world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    assert len(world.replies(n)) == 2  # one answer to each
    for reply in world.replies(n):
        assert reply.body.split("\n", 1)[1] == (
            "@wendy: the plan changed since the comment showed it (new commits or a new "
            "plan); it has been updated. Review it and approve again."
        )
    assert world.check(new).state is CheckState.ACTION_REQUIRED
    assert f"`{new[:12]}`" in world.plan_comment(n).body and "Approved**" not in (
        world.plan_comment(n).body
    )


def test_a_denied_approval_says_why_word_for_word(gated: tuple[World, int]) -> None:
    world, n = gated
    world.worker.handle(world.command(n, "/rollback-plan approve", "ruth"))
    [reply] = world.replies(n)
    text = reply.body.split("\n", 1)[1]
    assert text.startswith("@ruth: **approval not accepted**: "), text
    assert text.endswith(". The check is unchanged."), text


def test_approving_before_the_plan_is_published_publishes_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    [reply] = world.replies(n)
    assert "There is no rollback plan to approve yet." in reply.body
    assert world.forge.checks == {} and world.companions() == []
    assert len(world.forge.bot_comments(n)) == 1


def test_a_denied_approval_leaves_the_plan_comment_as_it_was(gated: tuple[World, int]) -> None:
    """Even its notice of the approval before, which a new publication would drop."""
    world, n = gated
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    before = world.plan_comment(n).body
    assert "@wendy approved this plan." in before
    world.worker.handle(world.command(n, "/rollback-plan approve", "ruth"))
    assert world.plan_comment(n).body == before


def test_approving_a_pr_that_is_no_revert(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.repo.git("checkout", "-q", "-b", "add-email")
    world.repo.commit("Add email", EMAIL)
    world.repo.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Add email", head_branch="add-email", author="bob")
    world.worker.handle(world.command(pr.number, "/rollback-plan approve", "wendy"))
    [reply] = world.replies(pr.number)
    assert reply.body.split("\n", 1)[1] == (
        "There is nothing to approve here: this is not a revert, so it has no rollback plan "
        "to gate."
    )
    assert world.forge.checks == {}


def test_approving_on_the_companion_of_a_revert_pr_approves_the_revert(
    gated: tuple[World, int],
) -> None:
    world, n = gated
    [companion] = world.companions()
    world.worker.handle(world.command(companion.number, "/rollback-plan approve", "wendy"))
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.SUCCESS
    assert "Approved** by @wendy" in world.plan_comment(n).body
    assert world.forge.bot_comments(companion.number) == []


def test_commands_the_bot_does_not_act_on(gated: tuple[World, int]) -> None:
    """Its own text quoted back, an approval without an author, a PR that is gone."""
    world, n = gated
    sha = world.forge.pulls[n].head_sha
    quoted = "> <!-- rollback-plan:comment -->\n/rollback-plan approve"
    world.forge.add_comment(n, quoted, "wendy")
    calls = list(world.forge.calls)
    world.worker.handle(world.job(JobKind.COMMAND, number=n, command=quoted, author="wendy"))
    world.worker.handle(world.job(JobKind.COMMAND, number=n, command="/rollback-plan approve"))
    world.worker.handle(
        world.job(JobKind.COMMAND, number=n + 99, command="/rollback-plan approve", author="x")
    )
    assert world.forge.calls == calls
    assert world.check(sha).state is CheckState.ACTION_REQUIRED


def test_a_command_without_a_comment_id_gets_no_reaction(gated: tuple[World, int]) -> None:
    world, n = gated
    job = world.job(JobKind.COMMAND, number=n, command="/rollback-plan approve", author="wendy")
    world.worker.handle(job)
    assert world.forge.reactions == []
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.SUCCESS


# -- what a PR is planned as ---------------------------------------------------------------


def test_a_pr_whose_base_branch_is_gone_says_so(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    pr = world.forge.pulls[n]
    world.forge.pulls[n] = replace(pr, base_branch="release")
    world.worker.handle(world.pr_job(n))
    assert "could not be computed:** the base branch 'release' is gone" in (
        world.plan_comment(n).body
    )
    assert world.check(pr.head_sha).state is CheckState.FAILURE


def test_a_revert_below_the_head_of_its_pr_is_found(tmp_path: Path) -> None:
    """The PR's title and branch say nothing; its second-to-last commit is the revert."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    r.commit("Add email (#2)", EMAIL)
    r.git("checkout", "-q", "-b", "cleanup")
    revert = r.revert("HEAD")
    r.commit("Tidy", {"README.md": "tidy\n"})
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Cleanup", head_branch="cleanup", author="alice")
    world.worker.handle(world.pr_job(pr.number))
    [companion] = world.companions()
    assert companion.head_branch == f"rollback-plan/{revert[:12]}"
    assert world.check(pr.head_sha).state is CheckState.ACTION_REQUIRED
    assert f"Reverts** `{r.git('rev-parse', 'main')[:12]}`" in world.plan_comment(pr.number).body


def test_a_pr_that_is_no_revert_and_has_none_below_gets_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    r = world.repo
    r.git("checkout", "-q", "-b", "work")
    r.commit("Add email", EMAIL)
    r.commit("Docs", {"README.md": "docs\n"})
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Work", head_branch="work", author="bob")
    world.worker.handle(world.pr_job(pr.number))
    assert world.forge.calls == []


def test_the_report_on_a_pr_is_of_its_own_changes_when_the_base_moved_on(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    r = world.repo
    r.git("checkout", "-q", "-b", "add-email")
    r.commit("Add email", EMAIL)
    r.git("checkout", "-q", "main")
    r.commit("Audit", AUDIT)
    pr = world.forge.add_pull_request(title="Add email", head_branch="add-email", author="bob")
    world.worker.handle(world.command(pr.number, "/rollback-plan", "bob"))
    body = world.plan_comment(pr.number).body
    assert "Reversibility report" in body and "ALTER TABLE users DROP COLUMN email" in body
    assert "audit" not in body


def test_a_revert_pr_rewritten_keeps_its_one_companion(gated: tuple[World, int]) -> None:
    """The revert commit amended and force-pushed: the companion branch stays the same."""
    world, n = gated
    [companion] = world.companions()
    r = world.repo
    r.git("checkout", "-q", "revert-2-add-email")
    r.git("commit", "-q", "--amend", "-m", 'Revert "Add email (#2)"\n\nReworded.')
    r.git("checkout", "-q", "main")
    new = world.forge.sync(n).head_sha
    world.worker.handle(world.pr_job(n))
    [again] = world.companions()
    assert again.number == companion.number and again.head_branch == companion.head_branch
    assert world.repo.git("rev-parse", f"{again.head_branch}~1") == new


# -- the operator's settings ---------------------------------------------------------------


def test_the_operator_s_plan_options_hold_for_prs_and_pushes(tmp_path: Path) -> None:
    """Proofs turned off (`verify: false`): neither plan says it was proven."""
    world = make_world(tmp_path, approve_data_loss=True)
    world.worker.settings = Workflow(plan_options=PlanOptions(verify=False))
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    assert "**Proven**" not in world.plan_comment(n).body
    world.repo.git("checkout", "-q", "main")
    before = world.repo.commit("Add audit", AUDIT)
    revert = world.repo.revert("HEAD")
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=before, branch="main"))
    [comment] = world.forge.commit_comments[revert]
    assert "DROP TABLE audit" in comment.body and "**Proven**" not in comment.body


def test_a_rerun_that_cannot_read_the_repository_says_why_on_the_commit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    _, revert = pushed_revert(world)
    world.cache.remote_for = lambda job: Remote(f"file://{tmp_path}/gone")
    with caplog.at_level(logging.WARNING, logger="bot.jobs.handlers"):
        world.worker.handle(world.job(JobKind.RERUN, sha=revert))
    [comment] = world.forge.commit_comments[revert]
    assert "**The plan could not be computed:** git could not find " in comment.body
    assert world.check(revert).state is CheckState.FAILURE
    [logged] = [r.getMessage() for r in caplog.records if r.name == "bot.jobs.handlers"]
    assert logged.startswith(f"planning acme/app@{revert[:12]} failed: git could not find ")
