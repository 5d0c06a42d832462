"""Re-runs, redeliveries, concurrent deliveries and failing writes converge on one companion
PR, one plan comment and one check, in the right state."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from bot.events import Job
from bot.forges import CheckState, Forge
from bot.jobs.queue import DurableQueue, SqliteStore, Tuning
from tests.jobs.fake_forge import WRITES
from tests.jobs.scenario import World, make_world, revert_pr

_queues = itertools.count()


def final_state(world: World, n: int) -> tuple[object, ...]:
    companions = world.companions()
    sha = world.forge.pulls[n].head_sha
    trees = [world.repo.git("rev-parse", f"{p.head_branch}^{{tree}}") for p in companions]
    return (
        [(p.number, p.title, p.head_branch, p.base_branch) for p in companions],
        trees,
        [c.body for c in world.forge.bot_comments(n)],
        world.check(sha),
    )


_TUNING = Tuning(attempts=3, backoff=0.0, poll=0.01)


def queue(world: World) -> DurableQueue:
    """The queue the bot runs, on a file of this world's own."""
    store = SqliteStore(
        world.cache.root.parent / f"queue-{next(_queues)}.sqlite3", synchronous="OFF"
    )
    return DurableQueue(store, world.worker.handle, on_give_up=world.worker.give_up, tuning=_TUNING)


def run(world: World, *jobs: Job, workers: int = 1) -> None:
    q = queue(world)
    for job in jobs:
        q.enqueue(job)
    q.start(workers)
    assert q.drain(30)
    q.close()
    q.store.close()


@pytest.fixture
def clean(tmp_path: Path) -> tuple[object, ...]:
    world = make_world(tmp_path / "clean", approve_data_loss=True)
    n = revert_pr(world)
    run(world, world.pr_job(n))
    return final_state(world, n)


def test_same_job_five_times(tmp_path: Path, clean: tuple[object, ...]) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    job = world.pr_job(n)
    q = queue(world)
    assert [q.enqueue(job) for _ in range(5)] == [True, False, False, False, False]
    q.start(1)
    assert q.drain(30)
    q.close()
    q.store.close()
    writes = list(world.forge.calls)
    for _ in range(5):  # five separate deliveries of the same event
        world.worker.handle(world.pr_job(n))
    assert world.forge.calls == writes  # nothing left to write: everything was found again
    assert final_state(world, n) == clean
    assert len(world.companions()) == 1 and len(world.forge.bot_comments(n)) == 1


def test_concurrent_deliveries_for_the_same_revert_converge(
    tmp_path: Path, clean: tuple[object, ...]
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    world.forge.latency = 0.005  # read-then-write races would show as duplicates
    n = revert_pr(world)
    run(world, *(world.pr_job(n) for _ in range(4)), workers=4)
    assert final_state(world, n) == clean


def test_worker_serializes_one_revert_even_outside_the_queue(
    tmp_path: Path, clean: tuple[object, ...]
) -> None:
    """A PR event and a command on the same revert, handled by two threads at once."""
    world = make_world(tmp_path, approve_data_loss=True)
    world.forge.latency = 0.005
    n = revert_pr(world)
    jobs = [world.pr_job(n), world.command(n, "/rollback-plan refresh", "ruth")]
    threads = [threading.Thread(target=world.worker.handle, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert final_state(world, n) == clean


@pytest.mark.parametrize("after", [False, True], ids=["fails-before", "fails-after-doing-it"])
@pytest.mark.parametrize(
    "method", ["commit_files", "open_pull_request", "create_comment", "set_check"]
)
def test_a_transient_error_at_each_write_of_a_first_plan(
    tmp_path: Path, clean: tuple[object, ...], method: str, after: bool
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.forge.fail(method, after=after)
    run(world, world.pr_job(n))
    # Retried; a write that took effect before its response was lost is found, not repeated.
    # (A lost commit_files response is the exception: the forge interface can't tell what the
    # branch holds, so the branch is moved again to an identical tree; still one branch.)
    repeated = not after or method == "commit_files"
    assert world.forge.calls.count(method) == (2 if repeated else 1)
    assert final_state(world, n) == clean


@pytest.mark.parametrize("after", [False, True], ids=["fails-before", "fails-after-doing-it"])
@pytest.mark.parametrize("method", ["react", "edit_comment", "set_check"])
def test_a_transient_error_at_each_write_of_an_approval(
    tmp_path: Path, method: str, after: bool
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    run(world, world.pr_job(n))
    world.forge.fail(method, after=after)
    run(world, world.command(n, "/rollback-plan approve", "wendy"))
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.SUCCESS
    body = world.plan_comment(n).body
    assert body.count("<!-- rollback-plan:approval ") == 1
    assert len(world.forge.bot_comments(n)) == 1 and len(world.companions()) == 1


def test_a_job_that_keeps_failing_says_how_to_retry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.forge.fail("commit_files", times=3)
    job = world.pr_job(n, delivery="delivery-42")
    run(world, job)
    assert world.forge.calls.count("commit_files") == 3  # the attempts, then it gave up
    [failure] = world.forge.bot_comments(n)
    assert "/rollback-plan refresh" in failure.body and "delivery-42" in failure.body
    assert "Traceback" not in failure.body
    assert any("delivery-42" in r.getMessage() for r in caplog.records)
    # The retry the comment suggests works, and says the failure is behind us.
    run(world, world.command(n, "/rollback-plan refresh", "ruth"))
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.ACTION_REQUIRED
    assert "has since been published" in world.replies(n)[0].body


_READS = frozenset(
    {"default_branch", "pull_request", "pull_request_for_branch", "branch_sha", "find_comment",
     "get_check", "permission", "team_members"}
)  # fmt: skip


def test_fault_injection_covers_every_write_of_the_forge_interface() -> None:
    """A write added to the Forge interface without fault injection would escape the tests
    above: every method that is not a read must be one the fake can fail."""
    methods = {name for name in vars(Forge) if not name.startswith("_")}
    assert methods >= _READS
    assert set(WRITES) == methods - _READS
