"""The repository a job plans from: one cached bare clone per repository, fetched shallow.

Fetches name commits by SHA (GitHub and GitLab serve any reachable commit, a fork PR's head
too), `--depth` first, then `--deepen` until what the plan needs is there or a cap is hit.
The token travels in an `http.extraheader` passed through git's environment: it is never in
a URL, a command line, the clone's config or a log line.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git

from bot.events import Job
from bot.jobs.locks import KeyedLocks

log = logging.getLogger(__name__)

_SHA = re.compile(r"[0-9a-f]{7,64}")


@dataclass(frozen=True)
class Remote:
    """Where to fetch a repository from, and with what token (None: no auth, e.g. file://)."""

    url: str
    token: str | None = None
    username: str = "x-access-token"  # GitHub App tokens; GitLab takes "oauth2"

    def __repr__(self) -> str:  # a Remote in a log line must not show its token
        return f"Remote(url={self.url!r}, token={'***' if self.token else None})"


class CloneError(Exception):
    """The repository could not be fetched; the message is safe to show people."""


class CachedRepo:
    """A fetched clone, held under its lock for the duration of a job."""

    def __init__(self, repo: git.Repo, fetch: Callable[[list[str]], None], max_depth: int):
        self.repo = repo
        self._fetch = fetch
        self._max_depth = max_depth

    def has(self, sha: str) -> bool:
        try:
            self.repo.git.cat_file("-e", f"{sha}^{{commit}}")
            return True
        except git.GitCommandError:
            return False

    def shallow(self) -> bool:
        return Path(self.repo.git_dir, "shallow").exists()

    def boundary(self) -> set[str]:
        """The commits whose parents this shallow clone does not have."""
        path = Path(self.repo.git_dir, "shallow")
        return set(path.read_text().split()) if path.exists() else set()

    def deepen_until(self, done: Callable[[], bool], shas: Sequence[str], step: int = 50) -> bool:
        """Fetch more history behind `shas` until `done()` or the depth cap; True if done."""
        fetched = 0
        while not done():
            if not self.shallow() or fetched >= self._max_depth:
                return False
            self._fetch([f"--deepen={step}", *shas])
            fetched += step
            step = min(step * 2, self._max_depth)
        return True


class RepoCache:
    """Cached clones under `root`, one directory per repository, one job at a time in each."""

    def __init__(
        self,
        root: Path,
        remote_for: Callable[[Job], Remote],
        *,
        depth: int = 50,
        max_depth: int = 5000,
        timeout: float = 300.0,
    ) -> None:
        self.root = root
        self.remote_for = remote_for
        self.depth = depth
        self.max_depth = max_depth
        self.timeout = timeout
        self._locks = KeyedLocks()

    @contextmanager
    def open(self, job: Job, shas: Sequence[str]) -> Iterator[CachedRepo]:
        """The clone with `shas` and their first parents present (as far as the cap allows)."""
        wanted = [s for s in dict.fromkeys(shas) if s]
        for sha in wanted:
            if not _SHA.fullmatch(sha):
                raise CloneError(f"{sha[:40]!r} is not a commit SHA")
        remote = self.remote_for(job)
        path = self.root / job.forge.value / _dirname(job.repo)
        with self._locks(str(path)):
            repo = self._init(path, remote)

            def fetch(args: list[str]) -> None:
                self._run_fetch(repo, remote, args, job)

            cached = CachedRepo(repo, fetch, self.max_depth)
            if not all(cached.has(s) for s in wanted):
                fetch([f"--depth={self.depth}", *wanted])
            missing = [s for s in wanted if not cached.has(s)]
            if missing:
                raise CloneError(f"commit {missing[0][:12]} is not in {job.repo}")
            # A commit at the shallow boundary looks parentless: its diff would be wrong.
            cached.deepen_until(lambda: all(_parent_present(cached, s) for s in wanted), wanted)
            yield cached

    def _init(self, path: Path, remote: Remote) -> git.Repo:
        try:
            if (path / "HEAD").exists():
                repo = git.Repo(path)
            else:
                shutil.rmtree(path, ignore_errors=True)  # a half-made directory from a crash
                path.mkdir(parents=True, exist_ok=True)
                repo = git.Repo.init(path, bare=True)
                # Fetched commits have no refs: nothing may prune them while they are cached.
                with repo.config_writer() as cw:
                    cw.set_value("gc", "auto", "0")
            with repo.config_writer() as cw:
                cw.set_value('remote "origin"', "url", remote.url)
            return repo
        except (git.GitError, OSError) as err:
            raise CloneError(f"cannot prepare the local clone: {type(err).__name__}") from None

    def _run_fetch(self, repo: git.Repo, remote: Remote, args: list[str], job: Job) -> None:
        env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true"}
        secret = ""
        if remote.token:
            secret = base64.b64encode(f"{remote.username}:{remote.token}".encode()).decode()
            env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraheader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {secret}",
            }
        try:
            repo.git.execute(
                ["git", "fetch", "--no-tags", "--quiet", "origin", *args],
                env={**os.environ, **env},
                kill_after_timeout=self.timeout,
            )
        except git.GitCommandError as err:
            # GitPython wraps git's output as "\n  stderr: '...'": people get git's own words
            said = str(err.stderr or "").strip().removeprefix("stderr: '").removesuffix("'")
            stderr = _scrub(said, remote.token, secret)
            log.warning("fetch of %s failed (delivery %s): %s", job.repo, job.delivery, stderr)
            raise CloneError(_explain(stderr, job.repo)) from None


def _parent_present(cached: CachedRepo, sha: str) -> bool:
    # Ask the shallow list, not `sha^@`: git lists no parents for a commit at the shallow
    # boundary (cut off, not absent); any other commit here has its parents here.
    try:
        full = cached.repo.git.rev_parse(f"{sha}^{{commit}}")
    except git.GitCommandError:
        return False
    return full not in cached.boundary()


def _dirname(repo: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "__", repo).strip(".")
    return f"{safe or 'repo'}.git"


def _scrub(text: str, *secrets: str | None) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return re.sub(r"://[^/@\s]+@", "://***@", text)


def _explain(stderr: str, repo: str) -> str:
    low = stderr.lower()
    if any(s in low for s in ("authentication failed", "could not read username", " 401", " 403")):
        return (
            f"git could not authenticate to fetch {repo}: check the bot's token or app installation"
        )
    if "not found" in low or "does not appear to be a git repository" in low:
        return f"git could not find {repo}: the repository is gone or the bot has no access"
    if "timed out" in low or "timeout" in low:
        return f"fetching {repo} timed out"
    last = [line for line in stderr.splitlines() if line.strip()]
    detail = last[-1].strip()[:300] if last else "no details"
    return f"git could not fetch {repo}: {detail}"
