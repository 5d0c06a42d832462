"""A small in-memory forge that behaves like one: numbered PRs, one object per create, errors
for what does not exist, branches and commits written into a real git repository (the one the
bot fetches from), only the bot's own comments found by marker. Writes can be made to fail,
before or after they take effect (a timeout after the forge did the work)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from bot.forges import Check, Comment, ForgeError, Permission, PullRequest, PullState

T = TypeVar("T")
BOT = "rollback-plan[bot]"
WRITES = (
    "open_pull_request",
    "update_pull_request",
    "commit_files",
    "create_comment",
    "edit_comment",
    "comment_on_commit",
    "react",
    "set_check",
)
_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Forge",
    "GIT_AUTHOR_EMAIL": "forge@example.com",
    "GIT_COMMITTER_NAME": "Forge",
    "GIT_COMMITTER_EMAIL": "forge@example.com",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.devnull,
}


@dataclass
class Fault:
    method: str
    after: bool  # True: the write happens, then the call fails (a lost response)
    left: int = 1


@dataclass
class FakeForge:
    repo: str
    git_dir: Path  # the repository's git storage: branches the bot commits land here
    default: str = "main"
    permissions: dict[str, Permission] = field(default_factory=dict)
    teams: dict[str, frozenset[str]] = field(default_factory=dict)
    latency: float = 0.0  # widens race windows in concurrency tests
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    labels: dict[int, tuple[str, ...]] = field(default_factory=dict)
    comments: dict[int, list[Comment]] = field(default_factory=dict)
    commit_comments: dict[str, list[Comment]] = field(default_factory=dict)
    checks: dict[tuple[str, str], Check] = field(default_factory=dict)
    check_history: list[tuple[str, Check]] = field(default_factory=list)
    check_urls: dict[str, str] = field(default_factory=dict)  # sha -> the check's details link
    reactions: list[tuple[int, int, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _ids: int = 1000
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- test setup -------------------------------------------------------------------

    def add_pull_request(
        self,
        *,
        title: str,
        head_branch: str,
        author: str,
        body: str = "",
        base_branch: str = "main",
        is_fork: bool = False,
    ) -> PullRequest:
        """A PR opened by a person; its head is the branch's tip in the repository."""
        head = self._git("rev-parse", f"refs/heads/{head_branch}")
        with self._lock:
            pr = PullRequest(
                self._number(),
                title,
                body,
                author,
                head,
                head_branch,
                base_branch,
                is_fork,
                PullState.OPEN,
                f"https://forge.test/{self.repo}/pull/{{n}}",
            )
            pr = replace(pr, url=pr.url.format(n=pr.number))
            self.pulls[pr.number] = pr
            return pr

    def sync(self, number: int) -> PullRequest:
        """The PR's head moved (someone pushed to its branch)."""
        pr = self.pulls[number]
        pr = replace(pr, head_sha=self._git("rev-parse", f"refs/heads/{pr.head_branch}"))
        self.pulls[number] = pr
        return pr

    def add_comment(self, number: int, body: str, author: str) -> Comment:
        with self._lock:
            self._need_pr(number)
            comment = Comment(self._id(), body, author)
            self.comments.setdefault(number, []).append(comment)
            return comment

    def fail(self, method: str, *, after: bool = False, times: int = 1) -> None:
        assert method in WRITES, method
        self.faults.append(Fault(method, after, times))

    def bot_comments(self, number: int) -> list[Comment]:
        return [c for c in self.comments.get(number, []) if c.author == BOT]

    # -- reads ------------------------------------------------------------------------

    def default_branch(self, repo: str) -> str:
        self._repo(repo)
        return self.default

    def pull_request(self, repo: str, number: int) -> PullRequest | None:
        self._repo(repo)
        return self.pulls.get(number)

    def pull_request_for_branch(self, repo: str, branch: str) -> PullRequest | None:
        self._repo(repo)
        with self._lock:
            for pr in self.pulls.values():
                if pr.head_branch == branch and pr.state is PullState.OPEN and not pr.is_fork:
                    return pr
        return None

    def branch_sha(self, repo: str, branch: str) -> str | None:
        self._repo(repo)
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
        except subprocess.CalledProcessError:
            return None

    def find_comment(self, repo: str, number: int, marker: str) -> Comment | None:
        self._repo(repo)
        with self._lock:
            self._need_pr(number)  # a forge answers 404 for comments of no PR/MR
            for c in self.comments.get(number, []):
                if c.author == BOT and marker in c.body:
                    return c
        return None

    def get_check(self, repo: str, sha: str, name: str) -> Check | None:
        self._repo(repo)
        return self.checks.get((sha, name))

    def permission(self, repo: str, user: str) -> Permission:
        self._repo(repo)
        return self.permissions.get(user, Permission.NONE)

    def team_members(self, repo: str, team: str) -> frozenset[str]:
        self._repo(repo)
        return self.teams.get(team, frozenset())

    # -- writes -----------------------------------------------------------------------

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str, labels: tuple[str, ...]
    ) -> PullRequest:
        def do() -> PullRequest:
            sha = self.branch_sha(repo, head)
            if sha is None or self.branch_sha(repo, base) is None:
                raise ForgeError("422 Validation Failed: head or base does not exist", status=422)
            if self.pull_request_for_branch(repo, head) is not None:
                raise ForgeError("422 A pull request already exists", status=422)
            n = self._number()
            pr = PullRequest(
                n, title, body, BOT, sha, head, base, False, PullState.OPEN, self._url(n)
            )
            self.pulls[n] = pr
            self.labels[n] = labels
            return pr

        return self._write("open_pull_request", repo, do)

    def update_pull_request(self, repo: str, number: int, *, title: str, body: str) -> None:
        def do() -> None:
            pr = self._need_pr(number)
            self.pulls[number] = replace(pr, title=title, body=body)

        self._write("update_pull_request", repo, do)

    def commit_files(
        self, repo: str, *, branch: str, start_sha: str, files: Mapping[str, str], message: str
    ) -> str:
        def do() -> str:
            if self._type(start_sha) != "commit":
                raise ForgeError(f"422 {start_sha} is not a commit", status=422)
            with tempfile.TemporaryDirectory() as tmp:
                env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                self._git("read-tree", start_sha, env=env)
                for path, content in files.items():
                    blob = self._git("hash-object", "-w", "--stdin", stdin=content)
                    self._git(
                        "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env
                    )
                tree = self._git("write-tree", env=env)
            sha = self._git("commit-tree", tree, "-p", start_sha, "-m", message)
            self._git("update-ref", f"refs/heads/{branch}", sha)
            for n, pr in self.pulls.items():
                if pr.head_branch == branch and not pr.is_fork:
                    self.pulls[n] = replace(pr, head_sha=sha)
            return sha

        return self._write("commit_files", repo, do)

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        def do() -> Comment:
            self._need_pr(number)
            comment = Comment(self._id(), body, BOT)
            self.comments.setdefault(number, []).append(comment)
            return comment

        return self._write("create_comment", repo, do)

    def edit_comment(self, repo: str, number: int, comment_id: int, body: str) -> None:
        def do() -> None:
            self._need_pr(number)
            found = self.comments.get(number, [])
            for i, c in enumerate(found):
                if c.id == comment_id:
                    if c.author != BOT:
                        raise ForgeError("403 cannot edit another user's comment", status=403)
                    found[i] = replace(c, body=body)
                    return
            raise ForgeError(f"404 comment {comment_id} not found", status=404)

        self._write("edit_comment", repo, do)

    def comment_on_commit(self, repo: str, sha: str, body: str, marker: str) -> None:
        def do() -> None:
            if self._type(sha) != "commit":
                raise ForgeError(f"422 no commit {sha}", status=422)
            found = self.commit_comments.setdefault(sha, [])
            for i, c in enumerate(found):
                if marker in c.body:
                    found[i] = replace(c, body=body)
                    return
            found.append(Comment(self._id(), body, BOT))

        self._write("comment_on_commit", repo, do)

    def react(self, repo: str, number: int, comment_id: int, reaction: str) -> None:
        def do() -> None:
            self._need_pr(number)
            if not any(c.id == comment_id for c in self.comments.get(number, [])):
                raise ForgeError(f"404 comment {comment_id} not found", status=404)
            if (number, comment_id, reaction) not in self.reactions:  # one per user and kind
                self.reactions.append((number, comment_id, reaction))

        self._write("react", repo, do)

    def set_check(
        self, repo: str, sha: str, name: str, check: Check, details_url: str = ""
    ) -> None:
        def do() -> None:
            if self._type(sha) != "commit":
                raise ForgeError(f"422 no commit {sha}", status=422)
            self.checks[(sha, name)] = check
            self.check_urls[sha] = details_url
            self.check_history.append((sha, check))

        self._write("set_check", repo, do)

    # -- internals --------------------------------------------------------------------

    def _write(self, method: str, repo: str, do: Callable[[], T]) -> T:
        self._repo(repo)
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.calls.append(method)
            fault = next((f for f in self.faults if f.method == method and f.left > 0), None)
            if fault is not None:
                fault.left -= 1
                if not fault.after:
                    raise ForgeError(f"502 injected before {method}", transient=True, status=502)
            result = do()
            if fault is not None:
                raise ForgeError(f"timeout injected after {method}", transient=True)
            return result

    def _repo(self, repo: str) -> None:
        if repo != self.repo:
            raise ForgeError(f"404 repository {repo} not found", status=404)

    def _need_pr(self, number: int) -> PullRequest:
        pr = self.pulls.get(number)
        if pr is None:
            raise ForgeError(f"404 pull request {number} not found", status=404)
        return pr

    def _number(self) -> int:
        return max(self.pulls, default=0) + 1

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    def _url(self, n: int) -> str:
        return f"https://forge.test/{self.repo}/pull/{n}"

    def _type(self, sha: str) -> str:
        try:
            return self._git("cat-file", "-t", sha)
        except subprocess.CalledProcessError:
            return ""

    def _git(
        self, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
    ) -> str:
        out = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), *args],
            env={**_ENV, **(env or {})},
            input=stdin,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()
