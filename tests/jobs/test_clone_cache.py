"""The clone cache, further: a commit is planned with its parent even when an earlier fetch
left it at the shallow boundary, deepening is bounded, the clone is reused and kept from
pruning, each repository has its own directory, and every way a fetch fails is one clear
sentence in git's own words, without the token."""

from __future__ import annotations

import logging
import socket
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.events import ForgeKind, Job, JobKind
from bot.jobs.locks import KeyedLocks
from bot.jobs.repo_cache import CloneError, Remote, RepoCache
from tests.jobs.git_http import GitHttp
from tests.planner.repo import Repo

TOKEN = "ghs_s3cr3tT0ken"
MISSING = "a" * 40


def job(repo: str = "acme/app", delivery: str = "d-1") -> Job:
    return Job(JobKind.PUSH, ForgeKind.GITHUB, repo, delivery)


def history(path: Path, n: int) -> Repo:
    r = Repo(path)
    for i in range(n):
        r.commit(f"c{i}", {f"f{i}.txt": f"{i}\n"})
    return r


def count(cache_repo: object, sha: str) -> int:
    return int(cache_repo.git.rev_list("--count", sha))  # type: ignore[attr-defined]


def failure(cache: RepoCache, repo: str = "acme/app") -> str:
    with pytest.raises(CloneError) as err, cache.open(job(repo), [MISSING]):
        pass
    return str(err.value)


# -- locks ---------------------------------------------------------------------------------


def test_one_lock_per_key_and_other_keys_are_not_blocked() -> None:
    locks = KeyedLocks()
    app = locks("github/acme__app.git")
    assert locks("github/acme__app.git") is app
    with app:  # a job holds this clone: another repository's job still runs
        other = locks("github/acme__web.git")
        assert other.acquire(blocking=False)
        other.release()
        assert not locks("github/acme__app.git").acquire(blocking=False)


# -- shallow history -----------------------------------------------------------------------


def test_a_commit_at_the_boundary_of_an_earlier_fetch_gets_its_parent(tmp_path: Path) -> None:
    """A first job fetched the tip two deep; a second job plans the older of those two: it
    must not look parentless (its diff would be the whole tree)."""
    r = history(tmp_path / "origin", 6)
    older, parent = r.git("rev-parse", "HEAD~1"), r.git("rev-parse", "HEAD~2")
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{r.path}"), depth=2)
    with cache.open(job(), [r.head()]) as cached:
        assert cached.boundary() == {older} and not cached.has(parent)
    with cache.open(job(delivery="d-2"), [older]) as cached:
        assert cached.has(parent)


def test_a_tip_fetched_one_deep_is_deepened_to_its_parent(tmp_path: Path) -> None:
    r = history(tmp_path / "origin", 4)
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{r.path}"), depth=1)
    with cache.open(job(), [r.head()]) as cached:
        assert cached.has(r.git("rev-parse", "HEAD~1"))


def test_a_whole_history_is_not_shallow_and_is_not_deepened(tmp_path: Path) -> None:
    r = history(tmp_path / "origin", 3)
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{r.path}"))
    with cache.open(job(), [r.head()]) as cached:
        assert not cached.shallow() and cached.boundary() == set()
        assert not cached.deepen_until(lambda: False, [r.head()])


@pytest.mark.parametrize(("cap", "commits"), [(4, 9), (3, 5)])
def test_deepening_doubles_its_step_until_the_cap_was_asked_for(
    tmp_path: Path, cap: int, commits: int
) -> None:
    """Two deep, then steps of 1, 2, 4...: with a cap of 4 it asks for 1 + 2 + 4 more
    commits, with a cap of 3 for 1 + 2 (it stops once the commits asked for reach the cap)."""
    r = history(tmp_path / "origin", 20)
    cache = RepoCache(
        tmp_path / "cache", lambda j: Remote(f"file://{r.path}"), depth=2, max_depth=cap
    )
    with cache.open(job(), [r.head()]) as cached:
        assert not cached.deepen_until(lambda: False, [r.head()], step=1)
        assert count(cached.repo, r.head()) == commits


# -- the clone on disk ---------------------------------------------------------------------


def test_the_next_job_reuses_the_clone_without_fetching(tmp_path: Path) -> None:
    head = history(tmp_path / "served", 3).head()
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{tmp_path}/served"))
    with cache.open(job(), [head]) as cached:
        assert cached.repo.bare
        # fetched commits have no refs: automatic gc must not prune them
        assert cached.repo.git.config("gc.auto") == "0"
    (tmp_path / "served").rename(tmp_path / "gone")  # the remote cannot be reached now
    with cache.open(job(delivery="d-2"), [head]) as cached:
        assert cached.has(head)


def test_a_half_made_clone_from_a_crash_is_started_again(tmp_path: Path) -> None:
    r = history(tmp_path / "origin", 2)
    left = tmp_path / "cache" / "github" / "acme__app.git"
    left.mkdir(parents=True)
    (left / "config").write_text("[[[ half written")  # no HEAD: the init never finished
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{r.path}"))
    with cache.open(job(), [r.head()]) as cached:
        assert cached.has(r.head())


def test_a_clone_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("")  # the cache directory is a file
    cache = RepoCache(tmp_path / "cache", lambda j: Remote("file:///nowhere"))
    assert failure(cache) == "cannot prepare the local clone: NotADirectoryError"


@pytest.mark.parametrize(
    ("repo", "directory"),
    [
        ("Acme/App", "Acme__App.git"),
        ("group/sub/app", "group__sub__app.git"),
        ("Xilinx/.github", "Xilinx__.github.git"),
        ("../..", "__.git"),
        ("...", "repo.git"),
    ],
)
def test_each_repository_has_its_own_directory_under_the_cache(
    tmp_path: Path, repo: str, directory: str
) -> None:
    r = history(tmp_path / "origin", 1)
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{r.path}"))
    with cache.open(job(repo), [r.head()]):
        pass
    assert [p.name for p in (tmp_path / "cache" / "github").iterdir()] == [directory]


def test_remote_shows_its_token_masked() -> None:
    assert repr(Remote("https://github.com/acme/app.git", TOKEN)) == (
        "Remote(url='https://github.com/acme/app.git', token=***)"
    )
    assert repr(Remote("file:///srv/app")) == "Remote(url='file:///srv/app', token=None)"


# -- failures: one sentence, git's own words --------------------------------------------------


@pytest.fixture
def answering() -> Iterator[list[int]]:
    """An HTTP server on 127.0.0.1 answering every request with the status put in the list."""
    status = [500]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(status[0])
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    status.append(server.server_address[1])
    yield status
    server.shutdown()
    server.server_close()


def test_a_server_error_is_git_s_last_line_cut_to_300_characters(
    tmp_path: Path, answering: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{answering[1]}/{'long-' * 80}app.git"
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(url))
    said = f"fatal: unable to access '{url}/': The requested URL returned error: 500"
    assert failure(cache) == f"git could not fetch acme/app: {said[:300]}"
    [logged] = [r.getMessage() for r in caplog.records if r.name == "bot.jobs.repo_cache"]
    assert logged == f"fetch of acme/app failed (delivery d-1): {said}"


def test_a_forbidden_answer_is_an_authentication_error(
    tmp_path: Path, answering: list[int]
) -> None:
    answering[0] = 403
    cache = RepoCache(tmp_path / "cache", lambda j: Remote(f"http://127.0.0.1:{answering[1]}/a"))
    assert failure(cache) == (
        "git could not authenticate to fetch acme/app: check the bot's token or app installation"
    )


def test_a_missing_repository_over_http_and_on_disk_is_not_found(tmp_path: Path) -> None:
    gone = "git could not find acme/app: the repository is gone or the bot has no access"
    (tmp_path / "srv").mkdir()
    server = GitHttp(tmp_path / "srv", "x-access-token", TOKEN)
    try:
        cache = RepoCache(tmp_path / "c1", lambda j: Remote(f"{server.url}/gone.git", TOKEN))
        assert failure(cache) == gone  # git: "repository '...' not found"
    finally:
        server.close()
    cache = RepoCache(tmp_path / "c2", lambda j: Remote(f"file://{tmp_path}/nothing"))
    assert failure(cache) == gone  # git: "'...' does not appear to be a git repository"


def test_a_fetch_that_hangs_is_stopped_and_said_to_have_timed_out(tmp_path: Path) -> None:
    hang_up = threading.Event()
    with socket.socket() as silent:  # takes the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]

        def hold() -> None:
            conn, _ = silent.accept()
            hang_up.wait(20)  # bounded, so a fetch without a timeout fails instead of hanging
            conn.close()

        threading.Thread(target=hold, daemon=True).start()
        cache = RepoCache(
            tmp_path / "cache", lambda j: Remote(f"http://127.0.0.1:{port}/a.git"), timeout=1.0
        )
        try:
            assert failure(cache) == "fetching acme/app timed out"
        finally:
            hang_up.set()


def _remote_saying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, token: str | None = None
) -> RepoCache:
    """A remote whose transport prints `text` and fails, as ssh does (git adds its trailer)."""
    r = history(tmp_path / "origin", 1)
    script = tmp_path / "upload-pack"
    script.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{text}\nEOF\nexit 255\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "gitconfig"
    config.write_text(f'[remote "origin"]\n\tuploadpack = {script}\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    return RepoCache(tmp_path / "cache", lambda j: Remote(f"file://{r.path}", token))


def test_a_connection_timeout_is_said_to_have_timed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = "ssh: connect to host github.com port 22: Connection timed out"
    assert failure(_remote_saying(tmp_path, monkeypatch, said)) == "fetching acme/app timed out"


def test_the_token_is_scrubbed_from_whatever_the_remote_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    said = f"remote: token {TOKEN} rejected\nfetching https://bot:hunter2@example.com/x.git"
    failure(_remote_saying(tmp_path, monkeypatch, said, TOKEN))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "remote: token *** rejected" in logged and TOKEN not in logged
    assert "https://***@example.com/x.git" in logged and "hunter2" not in logged


def test_an_operator_s_askpass_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker started from a shell or an IDE may have GIT_ASKPASS set: a fetch that needs
    credentials fails with a clear error instead of running it (or waiting on a prompt)."""
    ran = tmp_path / "askpass-ran"
    askpass = tmp_path / "askpass"
    askpass.write_text(f"#!/bin/sh\ntouch {ran}\necho someone\n")
    askpass.chmod(askpass.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("GIT_ASKPASS", str(askpass))
    history(tmp_path / "origin", 1).path.rename(tmp_path / "srv")
    (tmp_path / "served").mkdir()
    (tmp_path / "srv").rename(tmp_path / "served" / "app")
    server = GitHttp(tmp_path / "served", "x-access-token", TOKEN)
    try:
        for token in (None, "wrong"):
            cache = RepoCache(
                tmp_path / f"cache-{token}", lambda j, t=token: Remote(f"{server.url}/app", t)
            )
            assert failure(cache).startswith("git could not authenticate to fetch acme/app")
    finally:
        server.close()
    assert not ran.exists()
