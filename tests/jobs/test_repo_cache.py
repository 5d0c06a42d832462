"""Fetching: shallow, deepened on demand, cached between jobs; failures are clear sentences
and the token is never logged or stored."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.events import ForgeKind, Job, JobKind
from bot.forges import CheckState
from bot.jobs.repo_cache import CloneError, Remote, RepoCache
from tests.jobs.git_http import GitHttp
from tests.jobs.scenario import REPO, make_world, revert_pr
from tests.planner.repo import Repo

TOKEN = "ghs_s3cr3tT0ken"


def job(delivery: str = "d-1") -> Job:
    return Job(JobKind.PUSH, ForgeKind.GITHUB, REPO, delivery)


def history(tmp_path: Path, n: int) -> Repo:
    r = Repo(tmp_path / "origin")
    for i in range(n):
        r.commit(f"c{i}", {f"f{i}.txt": f"{i}\n"})
    return r


def test_shallow_then_deepened_until_the_old_commit_is_there(tmp_path: Path) -> None:
    r = history(tmp_path, 12)
    first = r.git("rev-list", "--max-parents=0", "HEAD")
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{r.path}"), depth=2)
    with cache.open(job(), [r.head()]) as cached:
        assert cached.shallow() and not cached.has(first)
        assert cached.deepen_until(lambda: cached.has(first), [r.head()], step=2)
    # The next job reuses the clone: nothing to fetch for a commit it has.
    with cache.open(job("d-2"), [first]) as cached:
        assert cached.has(first)
    assert len(list((tmp_path / "cache" / "github").iterdir())) == 1


def test_deepening_stops_at_the_cap(tmp_path: Path) -> None:
    r = history(tmp_path, 12)
    first = r.git("rev-list", "--max-parents=0", "HEAD")
    cache = RepoCache(tmp_path / "c", lambda j: Remote(f"file://{r.path}"), depth=2, max_depth=4)
    with cache.open(job(), [r.head()]) as cached:
        assert not cached.deepen_until(lambda: cached.has(first), [r.head()], step=2)


def test_a_failed_fetch_is_a_clear_error_without_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    remote = Remote(f"file://{tmp_path}/missing", token=TOKEN)
    cache = RepoCache(tmp_path / "cache", lambda j: remote)
    with pytest.raises(CloneError) as err, cache.open(job(), ["a" * 40]):
        pass
    assert REPO in str(err.value) and TOKEN not in str(err.value)
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    assert TOKEN not in repr(remote)
    config = next((tmp_path / "cache").rglob("config")).read_text()
    assert TOKEN not in config  # the token is passed per call, never stored


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[GitHttp, Repo]]:
    origin = history(tmp_path, 3)
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(origin.path), str(tmp_path / "srv" / "origin.git")],
        check=True,
    )
    server = GitHttp(tmp_path / "srv", "x-access-token", TOKEN)
    yield server, origin
    server.close()


def test_the_fetch_sends_the_token_in_a_header(
    tmp_path: Path, served: tuple[GitHttp, Repo]
) -> None:
    server, origin = served
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"{server.url}/origin.git", TOKEN))
    with cache.open(job(), [origin.head()]) as cached:
        assert cached.has(origin.head())
    assert server.authorizations and set(server.authorizations) == {server.expected}
    # ...and nowhere it would stay: not in the clone's config
    config = next((tmp_path / "cache").rglob("config")).read_text()
    assert TOKEN not in config and server.expected.split()[1] not in config


def test_a_wrong_token_is_a_clear_error(tmp_path: Path, served: tuple[GitHttp, Repo]) -> None:
    server, origin = served
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"{server.url}/origin.git", "nope"))
    with (
        pytest.raises(CloneError, match="could not authenticate"),
        cache.open(job(), [origin.head()]),
    ):
        pass


def test_git_output_is_scrubbed_of_the_token(
    tmp_path: Path,
    served: tuple[GitHttp, Repo],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An operator debugging with git's curl tracing on: the request headers, Authorization
    included, are in git's output; none of it reaches the log or the error."""
    monkeypatch.setenv("GIT_CURL_VERBOSE", "1")
    monkeypatch.setenv("GIT_TRACE_REDACT", "0")
    server, _ = served
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"{server.url}/gone.git", TOKEN))
    with pytest.raises(CloneError) as err, cache.open(job(), ["a" * 40]):
        pass
    secret = server.expected.split()[1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in (logged, str(err.value)):
        assert TOKEN not in text and secret not in text
    assert "Authorization: Basic ***" in logged  # the header was there, masked


def test_not_a_sha_is_refused_before_git_sees_it(tmp_path: Path) -> None:
    cache = RepoCache(tmp_path / "cache", lambda j: Remote("file:///nowhere"))
    with (
        pytest.raises(CloneError, match="not a commit SHA"),
        cache.open(job(), ["--upload-pack=x"]),
    ):
        pass


def test_a_repository_that_fails_to_clone_gets_a_comment_and_a_failing_check(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.cache.remote_for = lambda j: Remote(f"file://{tmp_path}/gone", token=TOKEN)
    world.worker.handle(world.pr_job(n))
    body = world.plan_comment(n).body
    assert "could not be computed" in body and "/rollback-plan refresh" in body
    assert "Traceback" not in body and TOKEN not in body
    assert world.check(world.forge.pulls[n].head_sha).state is CheckState.FAILURE
