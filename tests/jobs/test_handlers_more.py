"""More of the worker's answers a person sees (written from the surviving mutants of
bot/jobs/handlers.py's `handle`, `_command`, `_on_pr`, `_decide_and_publish`, ...): which jobs
are acted on, what a command on a companion does, what the check and comment say. Real
repositories, the fake forge."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.events import JobKind
from bot.forges import CheckState, PullState
from bot.jobs.repo_cache import Remote
from tests.jobs.scenario import EMAIL, M, World, make_world, revert_pr

AUDIT = {
    f"{M}/000003_audit.up.sql": "CREATE TABLE audit (id integer PRIMARY KEY);\n",
    f"{M}/000003_audit.down.sql": "DROP TABLE audit;\n",
}


@pytest.fixture
def gated(tmp_path: Path) -> tuple[World, int]:
    """A revert PR whose plan drops a column: needs approval under this repo's policy."""
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.worker.handle(world.pr_job(n))
    return world, n


def test_a_command_job_without_a_pr_does_nothing(tmp_path: Path) -> None:
    """A stored job naming no PR (none is made from a comment today): nothing to answer on."""
    world: World = make_world(tmp_path)
    for text in ("/rollback-plan help", "/rollback-plan approve", "/rollback-plan"):
        world.worker.handle(world.job(JobKind.COMMAND, command=text, author="wendy"))
    assert world.forge.calls == []


@pytest.mark.parametrize("state", [PullState.CLOSED, PullState.MERGED])
def test_a_pr_job_of_a_revert_pr_no_longer_open_plans_nothing(
    tmp_path: Path, state: PullState
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.forge.pulls[n] = replace(world.forge.pulls[n], state=state)
    world.worker.handle(world.pr_job(n))
    world.worker.handle(world.pr_job(n + 99))  # and one the forge does not know
    assert world.forge.calls == []


def test_each_approval_of_a_pr_that_is_no_revert_gets_its_own_answer(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.repo.git("checkout", "-q", "-b", "add-email")
    world.repo.commit("Add email", EMAIL)
    world.repo.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Add email", head_branch="add-email", author="bob")
    world.worker.handle(world.command(pr.number, "/rollback-plan approve", "wendy"))
    world.worker.handle(world.command(pr.number, "/rollback-plan approve", "alice"))
    first, second = world.replies(pr.number)
    assert first.body.endswith("no rollback plan to gate.")
    assert second.body.endswith("no rollback plan to gate.")


def test_approving_on_the_companion_of_a_pr_no_longer_a_revert_posts_no_report(
    gated: tuple[World, int],
) -> None:
    """The revert PR rewritten into something else: the companion's approval has nothing
    to approve, and no reversibility report (only `/rollback-plan` asks for one) appears."""
    world, n = gated
    [companion] = world.companions()
    r = world.repo
    r.git("checkout", "-q", "-b", "tidy", "main")
    r.commit("Tidy", {"README.md": "tidy\n"})
    r.git("checkout", "-q", "main")
    pr = world.forge.pulls[n]
    world.forge.pulls[n] = replace(pr, title="Tidy", body="", head_branch="tidy")
    world.forge.sync(n)
    shown = world.plan_comment(n).body
    world.worker.handle(world.command(companion.number, "/rollback-plan approve", "wendy"))
    assert world.plan_comment(n).body == shown
    assert "Reversibility report" not in shown


def test_a_report_that_cannot_read_the_repository_says_why(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.repo.git("checkout", "-q", "-b", "add-email")
    world.repo.commit("Add email", EMAIL)
    world.repo.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(title="Add email", head_branch="add-email", author="bob")
    world.cache.remote_for = lambda job: Remote(f"file://{tmp_path}/gone")
    world.worker.handle(world.command(pr.number, "/rollback-plan", "bob"))
    body = world.plan_comment(pr.number).body
    assert "could not be computed:** git could not find " in body, body


def test_an_approval_lapses_when_the_base_moves_and_the_plan_with_it(
    gated: tuple[World, int],
) -> None:
    """The same head, a new plan (main gained a migration): approve what was shown only."""
    world, n = gated
    sha = world.forge.pulls[n].head_sha
    world.worker.handle(world.command(n, "/rollback-plan approve", "wendy"))
    assert world.check(sha).state is CheckState.SUCCESS
    world.repo.commit("Audit", AUDIT)
    world.worker.handle(world.pr_job(n))
    assert world.check(sha).state is CheckState.ACTION_REQUIRED
    assert (
        f"An approval by @wendy was for an earlier plan or head (`{sha[:12]}`): it no longer "
        "counts." in world.plan_comment(n).body
    )


def test_the_plan_comment_s_summary_word_for_word(gated: tuple[World, int]) -> None:
    """Planned again without any approval: the same three lines, nothing announced."""
    world, n = gated
    world.worker.handle(world.pr_job(n))
    head = world.plan_comment(n).body.split("<!-- rollback-plan:plan -->")[0]
    assert head.split("\n", 2)[2] == (
        "### Rollback plan: needs approval\n\n"
        "- **Check `rollback-plan`:** action required\n"
        "- **Companion pull request:** https://forge.test/acme/app/pull/2 carries the "
        "compensating files.\n"
        "- **To approve:** a person with write permission comments `/rollback-plan approve`\n\n"
    )
