"""The rest of the worker's answers (written from the surviving mutants of bot/jobs/handlers.py's
`_plan_pr`, `_revert_in_pr`, `_ctx` and the module's helpers): which commits of a push are
looked at, what a revert PR merged into a moved base is planned as. Real repositories, the
fake forge."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.approvals import ApprovalPolicy
from bot.events import ForgeKind, Job, JobKind
from bot.forges import CheckState
from bot.jobs.handlers import Worker, Workflow
from bot.jobs.repo_cache import CachedRepo, Remote
from bot.planner import PlanOptions
from tests.jobs.fake_forge import FakeForge
from tests.jobs.scenario import EMAIL, NOW, REPO, M, World, make_world, revert_pr

AUDIT = {
    f"{M}/000003_audit.up.sql": "CREATE TABLE audit (id integer PRIMARY KEY);\n",
    f"{M}/000003_audit.down.sql": "DROP TABLE audit;\n",
}


def test_a_large_revert_pr_is_planned_as_merged_into_a_base_that_moved_on(
    tmp_path: Path,
) -> None:
    """The reverted change also added 200 KB of seed data: the merge preview is dated by the
    revert's date alone (its whole diff in git's environment was more than exec allows)."""
    world = make_world(tmp_path, approve_data_loss=True)
    seed = "".join(f"{i},user{i}@example.com\n" for i in range(8000))
    n = revert_pr(world, {**EMAIL, "db/seed/users.csv": seed})
    world.repo.commit("Audit", AUDIT)
    world.worker.handle(world.pr_job(n))
    body = world.plan_comment(n).body
    assert "ALTER TABLE users DROP COLUMN email" in body and "DROP TABLE audit" not in body
    assert "does not merge cleanly" not in body


def test_a_new_branch_s_push_fetches_its_tip_only(tmp_path: Path) -> None:
    """No `before` to start from: the history behind the tip is not fetched to find one."""
    world = make_world(tmp_path, approve_data_loss=True)
    first = world.repo.head()
    for i in range(4):
        world.repo.commit(f"Docs {i}", {"README.md": f"docs {i}\n"})
    push = world.job(JobKind.PUSH, sha=world.repo.head(), before="0" * 40, branch="docs")
    world.worker.handle(push)
    assert world.forge.calls == []
    with world.cache.open(push, [world.repo.head()]) as cached:
        assert cached.shallow() and not cached.has(first)


def test_a_force_push_is_looked_at_by_its_tip_only(tmp_path: Path) -> None:
    """A rebase rewrites every commit: a revert planned under its old sha is not planned
    again (a second companion) under its new one."""
    world: World = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    start = r.head()
    added = r.commit("Add email", EMAIL)
    revert = r.revert("HEAD")
    world.worker.handle(world.job(JobKind.PUSH, sha=revert, before=start, branch="main"))
    [companion] = world.companions()
    r.git("reset", "-q", "--hard", start)
    r.commit("Tidy", {"README.md": "tidy\n"})
    r.git("cherry-pick", added, revert)
    tip = r.commit("Docs", {"README.md": "docs\n"})
    world.worker.handle(world.job(JobKind.PUSH, sha=tip, before=revert, branch="main"))
    assert world.companions() == [companion]
    assert list(world.forge.commit_comments) == [revert]


def test_a_push_of_more_than_a_hundred_commits_is_looked_at_by_its_newest_hundred(
    tmp_path: Path,
) -> None:
    """The work of one push is bounded: the revert 101st from the tip is not looked at."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    start = r.head()
    r.commit("Add email", EMAIL)
    r.commit("Add audit", AUDIT)
    oldest = r.revert("HEAD")
    hundredth = r.revert("HEAD~2")
    for i in range(99):
        r.git("commit", "-q", "--allow-empty", "-m", f"Docs {i}")
    world.worker.handle(world.job(JobKind.PUSH, sha=r.head(), before=start, branch="main"))
    assert [p.head_branch for p in world.companions()] == [f"rollback-plan/{hundredth[:12]}"]
    assert oldest not in world.forge.commit_comments


def test_a_revert_pr_s_plan_says_what_it_reverts_word_for_word(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    reverted = world.repo.git("rev-parse", "main")
    assert (
        f'\n**Reverts** `{reverted[:12]}`: Revert "Add email (\\#2)" (detected by git message).\n'
        in world.plan_comment(n).body
    )


def test_a_pr_re_applying_a_reverted_change_says_it_re_applies(tmp_path: Path) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    r.commit("Add email", EMAIL)
    reverted = r.revert("HEAD")
    r.git("checkout", "-q", "-b", "reapply-email")
    r.revert("HEAD")
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(
        title='Reapply "Add email"', head_branch="reapply-email", author="alice"
    )
    world.worker.handle(world.pr_job(pr.number))
    assert (
        f'\n**Re-applies** `{reverted[:12]}`: Revert "Revert "Add email"" (detected by git '
        "message).\n" in world.plan_comment(pr.number).body
    )


def test_a_revert_made_by_hand_is_found_by_its_content(tmp_path: Path) -> None:
    """No `Revert` in the message: the commit undoes exactly what an earlier one did."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    start = r.head()
    added = r.commit("Add email", EMAIL)
    undo = r.commit("Take the email column out again", dict.fromkeys(EMAIL))
    world.worker.handle(world.job(JobKind.PUSH, sha=undo, before=start, branch="main"))
    assert [p.head_branch for p in world.companions()] == [f"rollback-plan/{undo[:12]}"]
    [comment] = world.forge.commit_comments[undo]
    assert f"**Reverts** `{added[:12]}`" in comment.body and "(detected by content)" in comment.body


def test_a_revert_pr_fetches_only_the_history_it_plans_from(tmp_path: Path) -> None:
    """Where the revert branched off is in the first fetch: nothing older is fetched."""
    world = make_world(tmp_path, approve_data_loss=True)
    first = world.repo.head()
    for i in range(4):
        world.repo.commit(f"Docs {i}", {"README.md": f"docs {i}\n"})
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    assert "ALTER TABLE users DROP COLUMN email" in world.plan_comment(n).body
    with world.cache.open(world.pr_job(n), [world.forge.pulls[n].head_sha]) as cached:
        assert cached.shallow() and not cached.has(first)


def undo_by_hand(world: World, branch: str) -> str:
    """`Add email (#2)` on main, then a branch taking it out by hand (and tidying the README):
    neither the commit's message nor its content says it is a revert."""
    r = world.repo
    r.commit("Add email (#2)", EMAIL)
    r.git("checkout", "-q", "-b", branch)
    r.commit("Undo the email column", {**dict.fromkeys(EMAIL), "README.md": "tidy\n"})
    r.git("checkout", "-q", "main")
    return r.git("rev-parse", "main")


@pytest.mark.parametrize(
    ("body", "branch", "detected_by"),
    [
        ("Reverts acme/app#2", "undo", "github pr"),
        ("", "revert-2-add-email", "branch name"),
    ],
    ids=["body", "branch"],
)
def test_a_revert_pr_is_found_by_its_body_or_its_branch(
    tmp_path: Path, body: str, branch: str, detected_by: str
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    added = undo_by_hand(world, branch)
    pr = world.forge.add_pull_request(
        title="Undo the email column", body=body, head_branch=branch, author="alice"
    )
    world.worker.handle(world.pr_job(pr.number))
    shown = world.plan_comment(pr.number).body
    assert f"**Reverts** `{added[:12]}`" in shown and f"(detected by {detected_by})" in shown
    assert world.check(pr.head_sha).state is CheckState.ACTION_REQUIRED


def test_a_revert_more_than_fifty_commits_below_its_pr_s_head_is_not_looked_for(
    tmp_path: Path,
) -> None:
    """The work of one PR is bounded: its newest 50 commits are looked at."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    r.commit("Add email (#2)", EMAIL)
    r.git("checkout", "-q", "-b", "cleanup")
    r.revert("HEAD")
    for i in range(50):
        r.git("commit", "-q", "--allow-empty", "-m", f"Docs {i}")
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Cleanup", head_branch="cleanup", author="alice")
    world.worker.handle(world.pr_job(pr.number))
    assert world.forge.calls == []


def test_a_revert_below_its_pr_s_head_is_found_past_the_first_fetch(tmp_path: Path) -> None:
    """The clone's first fetch (two commits deep here, as a clone that already held the head
    may be) stops above the revert: the PR's commits are all looked at, not those fetched."""
    world = make_world(tmp_path, approve_data_loss=True)
    r = world.repo
    r.commit("Add email (#2)", EMAIL)
    r.git("checkout", "-q", "-b", "cleanup")
    revert = r.revert("HEAD")
    for i in range(3):
        r.commit(f"Tidy {i}", {"README.md": f"tidy {i}\n"})
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Cleanup", head_branch="cleanup", author="alice")
    world.worker.handle(world.pr_job(pr.number))
    assert [p.head_branch for p in world.companions()] == [f"rollback-plan/{revert[:12]}"]
    assert world.check(pr.head_sha).state is CheckState.ACTION_REQUIRED


def test_a_gitlab_job_is_answered_on_gitlab_in_its_words_and_limits(tmp_path: Path) -> None:
    """One worker for both forges: the job's forge answers it, says "merge request", and
    keeps its own comment limit when the operator set only GitHub's."""
    world = make_world(tmp_path, approve_data_loss=True, comment_limit=1500)
    n = revert_pr(world)
    gitlab = FakeForge(REPO, world.repo.path / ".git", pulls=dict(world.forge.pulls))
    forges = {ForgeKind.GITHUB: world.forge, ForgeKind.GITLAB: gitlab}
    worker = Worker(world.worker.settings, lambda job: forges[job.forge], world.cache, lambda: NOW)
    worker.handle(Job(JobKind.PULL_REQUEST, ForgeKind.GITLAB, REPO, "d-gitlab", number=n))
    assert world.forge.calls == []
    [comment] = gitlab.bot_comments(n)  # one part: GitLab takes a million characters
    assert "- **Companion merge request:** https://forge.test/acme/app/pull/2" in comment.body
    assert "ALTER TABLE users DROP COLUMN email" in comment.body


def test_the_plan_comment_names_whom_the_operator_s_policy_lets_approve(tmp_path: Path) -> None:
    policy = ApprovalPolicy(teams=("acme/dba", "acme/sre"))
    world = make_world(tmp_path, approve_data_loss=True, policy=policy)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    assert (
        "- **To approve:** a person with write permission or membership of acme/dba, acme/sre "
        "comments `/rollback-plan approve`\n" in world.plan_comment(n).body
    )


def add_email_pr(world: World, files: dict[str, str] | None = None) -> int:
    """A PR adding the email column (no revert): only `/rollback-plan` gets it a report."""
    r = world.repo
    r.git("checkout", "-q", "-b", "add-email")
    r.commit("Add email", files or EMAIL)
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Add email", head_branch="add-email", author="bob")
    return pr.number


def test_a_reversibility_report_names_its_migration_by_the_pr_s_date(tmp_path: Path) -> None:
    """Asked again later, the report names the same compensating migration: it is dated by
    the PR's head commit (2026-11-02 10:00), not by the worker's clock (2026-11-03)."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = add_email_pr(
        world,
        {
            f"{M}/20260102000000_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
            f"{M}/20260102000000_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
        },
    )
    world.worker.handle(world.command(n, "/rollback-plan", "bob"))
    body = world.plan_comment(n).body
    assert "Reversibility report" in body
    assert f"- `{M}/20261102100000_rollback_" in body, body


def test_a_reversibility_report_holds_the_operator_s_plan_options(tmp_path: Path) -> None:
    """Proofs turned off (`verify: false`): the report does not say it was proven."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = add_email_pr(world)
    world.worker.handle(world.command(n, "/rollback-plan", "bob"))
    assert "**Proven**" in world.plan_comment(n).body
    world.worker.settings = Workflow(plan_options=PlanOptions(verify=False))
    world.worker.handle(world.command(n, "/rollback-plan", "bob"))
    body = world.plan_comment(n).body
    assert "ALTER TABLE users DROP COLUMN email" in body and "**Proven**" not in body


def test_a_conflicting_revert_pr_keeps_what_main_gained_since_it_branched(
    tmp_path: Path,
) -> None:
    """Planned from where it branched off: the audit table main gained since is not dropped."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    edited = EMAIL[f"{M}/000002_email.up.sql"] + "-- edited on main\n"
    world.repo.commit("Edit email", {f"{M}/000002_email.up.sql": edited, **AUDIT})
    world.worker.handle(world.pr_job(n))
    body = world.plan_comment(n).body
    assert "does not merge cleanly into main" in body
    assert "ALTER TABLE users DROP COLUMN email" in body and "audit" not in body


def test_a_revert_pr_that_cannot_be_read_is_logged_for_the_operator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(tmp_path)
    n = revert_pr(world)
    world.cache.remote_for = lambda job: Remote(f"file://{tmp_path}/gone")
    with caplog.at_level(logging.WARNING, logger="bot.jobs.handlers"):
        world.worker.handle(world.pr_job(n))
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.jobs.handlers"]
    assert line.startswith(f"planning acme/app#{n} failed: git could not find "), line
    assert "could not be computed:** git could not find " in world.plan_comment(n).body


def _empty_commits(path: Path, count: int) -> tuple[CachedRepo, str, str]:
    """A repository of `count` empty commits on a first one: (its CachedRepo, first, last)."""
    import git

    g = git.Repo.init(path)
    g.git.config("user.name", "t")
    g.git.config("user.email", "t@example.com")
    g.git.commit("--allow-empty", "-m", "start")
    first = g.head.commit.hexsha
    for n in range(count):
        g.git.commit("--allow-empty", "-m", f"c{n}")
    return CachedRepo(g, lambda _: None, 0), first, g.head.commit.hexsha


def test_a_push_past_the_commit_bound_says_which_commits_were_not_looked_at(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.jobs import handlers

    cached, before, after = _empty_commits(tmp_path / "r", handlers._MAX_PUSHED + 3)

    with caplog.at_level(logging.WARNING, logger="bot.jobs.handlers"):
        shas = handlers._pushed(cached, before, after)
    assert len(shas) == handlers._MAX_PUSHED and shas[-1] == after  # the newest, oldest first
    assert f"added {handlers._MAX_PUSHED + 3} commits: only the newest" in caplog.text

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.jobs.handlers"):
        assert len(handlers._pushed(cached, shas[0] + "~1", after)) == handlers._MAX_PUSHED
    assert caplog.text == ""  # exactly at the bound: nothing left out


def test_a_pull_request_past_the_commit_bound_says_it_looked_at_the_newest_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.forges import PullRequest, PullState
    from bot.jobs import handlers

    cached, base, head = _empty_commits(tmp_path / "r", handlers._MAX_PR_COMMITS + 1)
    pr = PullRequest(7, "Work", "", "a", head, "work", "main", False, PullState.OPEN, "x/y!7")

    with caplog.at_level(logging.WARNING, logger="bot.jobs.handlers"):
        assert handlers.Worker._revert_in_pr(None, cached, pr, base) is None  # type: ignore[arg-type]
    assert "x/y!7: no revert among its newest 50 commits" in caplog.text
