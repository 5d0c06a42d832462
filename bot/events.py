"""Our own event and job types: forge payloads are normalized to these at the edge
(bot/forges/*/events.py) and never travel further."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ForgeKind(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


@dataclass(frozen=True)
class RepoRef:
    """A repository on a forge, by the names its API uses."""

    forge: ForgeKind
    full_name: str  # "owner/repo" (GitHub) or "group/sub/project" (GitLab path_with_namespace)
    project_id: int | None = None  # GitLab's numeric id
    installation_id: int | None = None  # GitHub App installation that delivered the event
    default_branch: str = "main"
    clone_url: str = ""


class PullAction(StrEnum):
    OPENED = "opened"
    SYNCHRONIZED = "synchronized"  # new commits on the head branch
    REOPENED = "reopened"
    EDITED = "edited"
    CLOSED = "closed"
    MERGED = "merged"  # GitLab "merge", GitHub closed+merged


@dataclass(frozen=True)
class PushEvent:
    repo: RepoRef
    branch: str
    before: str
    after: str
    commits: tuple[str, ...]  # shas pushed, oldest first
    delivery: str
    pusher: str = ""  # login of who pushed: a pushed revert's author for the approval rules


@dataclass(frozen=True)
class PullRequestEvent:
    """A pull request (GitHub) or merge request (GitLab) changed."""

    repo: RepoRef
    number: int  # PR number / MR iid
    action: PullAction
    title: str
    body: str
    author: str
    head_sha: str
    head_branch: str
    base_branch: str
    is_fork: bool  # head lives in another repository: never push there
    delivery: str


@dataclass(frozen=True)
class CommentEvent:
    """A comment on a PR/MR (commands are read from these)."""

    repo: RepoRef
    number: int
    comment_id: int
    body: str
    author: str
    author_is_bot: bool
    delivery: str


@dataclass(frozen=True)
class ReviewEvent:
    """An approving review on a PR (GitHub) or an approval of an MR (GitLab)."""

    repo: RepoRef
    number: int
    author: str
    head_sha: str
    approved: bool
    delivery: str


@dataclass(frozen=True)
class CheckRerunEvent:
    """Someone asked the forge to run our check again."""

    repo: RepoRef
    head_sha: str
    delivery: str
    number: int | None = None  # the PR/MR the check was set for, when the check says so


Event = PushEvent | PullRequestEvent | CommentEvent | ReviewEvent | CheckRerunEvent


class JobKind(StrEnum):
    PUSH = "push"  # plan pushed revert commits
    PULL_REQUEST = "pull_request"  # plan a revert PR/MR
    COMMAND = "command"  # a /rollback-plan comment
    REVIEW = "review"  # an approval on the companion PR
    RERUN = "rerun"


@dataclass(frozen=True)
class Job:
    """What the worker is asked to do: plain values only (never clients or payloads), so a
    job can be stored, retried and run by another process."""

    kind: JobKind
    forge: ForgeKind
    repo: str  # full name
    delivery: str
    number: int | None = None
    sha: str | None = None
    branch: str | None = None
    author: str | None = None
    comment_id: int | None = None
    command: str | None = None  # the comment text for COMMAND jobs
    project_id: int | None = None
    installation_id: int | None = None
    before: str | None = None  # PUSH: the branch tip before the push (the pushed range's start)
    # a digest of the signed event this job came from: the same body re-sent under another
    # delivery id is the same job (the queue dedupes on it within a window)
    event_digest: str = ""

    @property
    def lock_key(self) -> str:
        """One job at a time per pull request (or pushed sha) in a repository."""
        return f"{self.forge.value}:{self.repo}:{self.number or self.sha or self.branch}"
