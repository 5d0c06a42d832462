"""The forge, as the workflow sees it: one narrow domain interface, two implementations
(bot/forges/github with PyGithub, bot/forges/gitlab with python-gitlab). Nothing outside
this package asks which forge it is talking to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class ForgeError(RuntimeError):
    """A forge call failed after our retries; `transient` says whether retrying later may work."""

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None):
        super().__init__(message)
        self.transient = transient
        self.status = status


class CheckState(StrEnum):
    PENDING = "pending"  # being planned
    SUCCESS = "success"  # safe, or approved
    ACTION_REQUIRED = "action_required"  # needs approval
    FAILURE = "failure"  # refused (data loss) and not approved as data loss, or an error


class PullState(StrEnum):
    """Where a pull/merge request stands (GitLab's "opened" and "locked" are open)."""

    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class Permission(StrEnum):
    """What a user may do in a repository, mapped from each forge's own levels."""

    NONE = "none"
    READ = "read"
    WRITE = "write"  # GitHub write / GitLab Developer
    MAINTAIN = "maintain"  # GitHub maintain / GitLab Maintainer
    ADMIN = "admin"  # GitHub admin / GitLab Owner

    @property
    def rank(self) -> int:
        return ["none", "read", "write", "maintain", "admin"].index(self.value)


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    author: str
    head_sha: str
    head_branch: str
    base_branch: str
    is_fork: bool
    state: PullState
    url: str = ""


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str


@dataclass(frozen=True)
class Check:
    state: CheckState
    title: str
    summary: str
    # Ours, kept with a check run (GitHub Apps): the PR/MR whose check it is, "pr:12". A re-run
    # request names only a commit, and a fork's revert PR has no companion to find it by.
    # Not compared: a status (tokens, GitLab) has no such field to read back.
    external_id: str = field(default="", compare=False)


class Forge(Protocol):
    """Everything the workflow needs from a forge. Reads never raise for "not found": they
    return None. Writes raise ForgeError. Every call has a timeout."""

    def default_branch(self, repo: str) -> str: ...

    def pull_request(self, repo: str, number: int) -> PullRequest | None: ...

    def pull_request_for_branch(self, repo: str, branch: str) -> PullRequest | None:
        """The open PR/MR whose head is `branch` in `repo` itself."""
        ...

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str, labels: tuple[str, ...]
    ) -> PullRequest: ...

    def update_pull_request(self, repo: str, number: int, *, title: str, body: str) -> None: ...

    def branch_sha(self, repo: str, branch: str) -> str | None: ...

    def commit_files(
        self,
        repo: str,
        *,
        branch: str,
        start_sha: str,
        files: Mapping[str, str],
        message: str,
    ) -> str:
        """Create or move `branch` (in `repo`, never a fork) to a new commit on `start_sha`
        whose tree has `files` written; returns the commit sha."""
        ...

    def find_comment(self, repo: str, number: int, marker: str) -> Comment | None:
        """Our earlier comment on the PR/MR, found by its hidden marker."""
        ...

    def create_comment(self, repo: str, number: int, body: str) -> Comment: ...

    def edit_comment(self, repo: str, number: int, comment_id: int, body: str) -> None: ...

    def comment_on_commit(self, repo: str, sha: str, body: str, marker: str) -> None:
        """For pushed reverts: one comment on the commit, edited in place when re-run."""
        ...

    def react(self, repo: str, number: int, comment_id: int, reaction: str) -> None: ...

    def get_check(self, repo: str, sha: str, name: str) -> Check | None: ...

    def set_check(
        self, repo: str, sha: str, name: str, check: Check, details_url: str = ""
    ) -> None: ...

    def permission(self, repo: str, user: str) -> Permission: ...

    def team_members(self, repo: str, team: str) -> frozenset[str]:
        """Members of a GitHub team (org/team slug) or GitLab group (path)."""
        ...
