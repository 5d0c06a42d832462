"""More of the worker's answers a person sees (written from the surviving mutants of
bot/jobs/handlers.py's `handle`, `_command`, `_on_pr`, `_decide_and_publish`, ...): which jobs
are acted on, what a command on a companion does, what the check and comment say. Real
repositories, the fake forge."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.events import JobKind
from bot.forges import PullState
from tests.jobs.scenario import World, make_world, revert_pr


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

