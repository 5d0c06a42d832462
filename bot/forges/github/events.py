"""GitHub webhook payloads -> our event types. Field names from GitHub's "Webhook events and
payloads" docs (examples: octokit/webhooks payload-examples). Nothing here does I/O; a payload
dict never travels past this module."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.events import (
    CheckRerunEvent,
    CommentEvent,
    Event,
    ForgeKind,
    PullAction,
    PullRequestEvent,
    PushEvent,
    RepoRef,
    ReviewEvent,
)
from bot.forges.payload import (
    ZERO_SHA,
    PayloadError,
    array,
    branch,
    flag,
    integer,
    obj,
    opt_integer,
    opt_obj,
    opt_text,
    repo_name,
    sha,
    text,
    valid_branch,
)

__all__ = ["EVENTS", "PayloadError", "normalize"]

# X-GitHub-Event values we read; anything else is answered "not handled".
EVENTS = frozenset(
    {"push", "pull_request", "issue_comment", "pull_request_review", "check_run", "check_suite"}
)

_PULL_ACTIONS = {
    "opened": PullAction.OPENED,
    "synchronize": PullAction.SYNCHRONIZED,
    "reopened": PullAction.REOPENED,
    "edited": PullAction.EDITED,
    "closed": PullAction.CLOSED,
}


def normalize(event_name: str, payload: Mapping[str, Any], delivery: str) -> list[Event]:
    """Our events for one delivery; [] for events and actions we don't act on.
    Raises PayloadError when a field we need is missing or has the wrong type."""
    if not isinstance(payload, Mapping):
        raise PayloadError("payload must be a JSON object")
    if event_name == "push":
        return _push(payload, delivery)
    if event_name == "pull_request":
        return _pull_request(payload, delivery)
    if event_name == "issue_comment":
        return _issue_comment(payload, delivery)
    if event_name == "pull_request_review":
        return _review(payload, delivery)
    if event_name in ("check_run", "check_suite"):
        return _rerun(event_name, payload, delivery)
    return []


def _repo(payload: Mapping[str, Any]) -> RepoRef:
    repository = obj(payload, "repository")
    installation = opt_obj(payload, "installation")
    return RepoRef(
        forge=ForgeKind.GITHUB,
        full_name=repo_name(repository, "full_name", "repository"),
        installation_id=(
            opt_integer(installation, "id", "installation") if installation is not None else None
        ),
        default_branch=opt_text(repository, "default_branch", "repository") or "main",
        clone_url=opt_text(repository, "clone_url", "repository"),
    )


def _push(payload: Mapping[str, Any], delivery: str) -> list[Event]:
    ref = text(payload, "ref")
    after = text(payload, "after")
    # a deleted branch has nothing to plan; tags are releases, not reverts
    if flag(payload, "deleted") or after == ZERO_SHA or not ref.startswith("refs/heads/"):
        return []
    commits = tuple(
        sha(_item(commit, f"commits[{i}]"), "id", f"commits[{i}]")
        for i, commit in enumerate(array(payload, "commits"))
    )
    return [
        PushEvent(
            repo=_repo(payload),
            branch=_pushed_branch(ref),
            before=sha(payload, "before"),
            after=sha(payload, "after"),
            commits=commits,  # GitHub lists them oldest first
            delivery=delivery,
            # `pusher` has a name and an email; the login of whoever pushed is the sender's
            pusher=opt_text(sender, "login", "sender")
            if (sender := opt_obj(payload, "sender"))
            else "",
        )
    ]


def _pull_request(payload: Mapping[str, Any], delivery: str) -> list[Event]:
    action = _PULL_ACTIONS.get(text(payload, "action"))
    if action is None:  # labeled, assigned, review_requested, ...
        return []
    pr = obj(payload, "pull_request")
    if action is PullAction.CLOSED and flag(pr, "merged", "pull_request"):
        action = PullAction.MERGED
    head = obj(pr, "head", "pull_request")
    base = obj(pr, "base", "pull_request")
    base_repo = obj(base, "repo", "pull_request.base")
    # the head repository is null when the fork was deleted: still someone else's branch
    head_repo = opt_obj(head, "repo", "pull_request.head")
    is_fork = head_repo is None or text(head_repo, "full_name", "pull_request.head.repo") != text(
        base_repo, "full_name", "pull_request.base.repo"
    )
    return [
        PullRequestEvent(
            repo=_repo(payload),
            number=integer(pr, "number", "pull_request"),
            action=action,
            title=text(pr, "title", "pull_request"),
            body=opt_text(pr, "body", "pull_request"),
            author=_login(pr, "pull_request"),
            head_sha=sha(head, "sha", "pull_request.head"),
            head_branch=branch(head, "ref", "pull_request.head"),
            base_branch=branch(base, "ref", "pull_request.base"),
            is_fork=is_fork,
            delivery=delivery,
        )
    ]


def _issue_comment(payload: Mapping[str, Any], delivery: str) -> list[Event]:
    # only new comments: re-running a command because someone fixed a typo in it would
    # repeat its effect
    if text(payload, "action") != "created":
        return []
    issue = obj(payload, "issue")
    if opt_obj(issue, "pull_request", "issue") is None:  # a plain issue, not a PR
        return []
    comment = obj(payload, "comment")
    user = obj(comment, "user", "comment")
    sender = opt_obj(payload, "sender")
    return [
        CommentEvent(
            repo=_repo(payload),
            number=integer(issue, "number", "issue"),
            comment_id=integer(comment, "id", "comment"),
            body=opt_text(comment, "body", "comment"),
            author=text(user, "login", "comment.user"),
            author_is_bot=_is_bot(user) or (sender is not None and _is_bot(sender)),
            delivery=delivery,
        )
    ]


def _review(payload: Mapping[str, Any], delivery: str) -> list[Event]:
    if text(payload, "action") != "submitted":  # edited/dismissed: not an approval
        return []
    review = obj(payload, "review")
    pr = obj(payload, "pull_request")
    # webhooks send the state lower-case ("approved"); the REST API upper-case
    state = text(review, "state", "review").lower()
    commit = review.get("commit_id")
    head_sha = (
        sha(review, "commit_id", "review")
        if commit is not None
        else sha(obj(pr, "head", "pull_request"), "sha", "pull_request.head")
    )
    return [
        ReviewEvent(
            repo=_repo(payload),
            number=integer(pr, "number", "pull_request"),
            author=text(obj(review, "user", "review"), "login", "review.user"),
            head_sha=head_sha,
            approved=state == "approved",
            delivery=delivery,
        )
    ]


_CHECK_OF_PR = re.compile(r"pr:([1-9][0-9]{0,9})")


def _rerun(event_name: str, payload: Mapping[str, Any], delivery: str) -> list[Event]:
    # GitHub sends check_run/check_suite "rerequested" only to the app that owns the check
    if text(payload, "action") != "rerequested":
        return []
    check = obj(payload, event_name)
    # our check runs carry their PR ("pr:12"): a fork's revert PR is found by nothing else
    ours = _CHECK_OF_PR.fullmatch(opt_text(check, "external_id", event_name))
    return [
        CheckRerunEvent(
            repo=_repo(payload),
            head_sha=sha(check, "head_sha", event_name),
            delivery=delivery,
            number=int(ours.group(1)) if ours else None,
        )
    ]


def _login(data: Mapping[str, Any], path: str) -> str:
    return text(obj(data, "user", path), "login", f"{path}.user")


def _is_bot(user: Mapping[str, Any]) -> bool:
    return user.get("type") == "Bot"


def _item(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{path} must be an object")
    return value


def _pushed_branch(ref: str) -> str:
    name = ref.removeprefix("refs/heads/")
    if not valid_branch(name):
        raise PayloadError("ref is not a valid branch name")
    return name
