"""Which events become which jobs: the web layer's whole decision. Pure: no forge calls."""

from __future__ import annotations

from bot.commands import parse
from bot.events import (
    CheckRerunEvent,
    CommentEvent,
    Event,
    Job,
    JobKind,
    PullAction,
    PullRequestEvent,
    PushEvent,
    ReviewEvent,
)
from bot.settings import Settings

# opened/synchronized/reopened/edited are (re)planned. A merge needs no job of its own: the
# merge pushes to the base branch and that push is planned. Closed without merge: nothing.
_PLANNED = frozenset(
    {PullAction.OPENED, PullAction.SYNCHRONIZED, PullAction.REOPENED, PullAction.EDITED}
)


def job_for(event: Event, settings: Settings) -> Job | None:
    """The job an event asks for, or None when it asks for nothing."""
    if isinstance(event, PushEvent):
        return _job(
            event,
            JobKind.PUSH,
            sha=event.after,
            branch=event.branch,
            before=event.before,
            author=event.pusher or None,
        )
    if isinstance(event, PullRequestEvent):
        if event.action not in _PLANNED:
            return None
        return _job(
            event,
            JobKind.PULL_REQUEST,
            number=event.number,
            sha=event.head_sha,
            branch=event.head_branch,
            author=event.author or None,
        )
    if isinstance(event, CommentEvent):
        # our own comments (and any bot's) are never commands: a plan that quotes
        # "/rollback-plan approve" must not approve itself
        if event.author_is_bot or settings.is_bot_login(event.author):
            return None
        # the worker's parser, so the web never drops a command the worker would act on
        if parse(event.body) is None:
            return None
        return _job(
            event,
            JobKind.COMMAND,
            number=event.number,
            author=event.author,
            comment_id=event.comment_id,
            command=event.body.strip(),  # text only; the worker parses it, nothing runs it
        )
    if isinstance(event, ReviewEvent):
        if not event.approved or settings.is_bot_login(event.author):
            return None
        return _job(
            event,
            JobKind.REVIEW,
            number=event.number,
            sha=event.head_sha,
            author=event.author,
        )
    if isinstance(event, CheckRerunEvent):
        return _job(event, JobKind.RERUN, sha=event.head_sha, number=event.number)
    return None


def _job(
    event: Event,
    kind: JobKind,
    *,
    number: int | None = None,
    sha: str | None = None,
    branch: str | None = None,
    author: str | None = None,
    comment_id: int | None = None,
    command: str | None = None,
    before: str | None = None,
) -> Job:
    return Job(
        kind=kind,
        forge=event.repo.forge,
        repo=event.repo.full_name,
        delivery=event.delivery,
        number=number,
        sha=sha,
        branch=branch,
        author=author,
        comment_id=comment_id,
        command=command,
        project_id=event.repo.project_id,
        installation_id=event.repo.installation_id,
        before=before,
    )
