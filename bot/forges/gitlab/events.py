"""GitLab webhook payloads -> our event types. Field names from GitLab's "Webhook events"
docs (doc/user/project/integrations/webhook_events.md). Nothing here does I/O; a payload dict
never travels past this module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.events import (
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
    opt_text,
    repo_name,
    sha,
    text,
    valid_branch,
)

__all__ = ["EVENTS", "PayloadError", "normalize"]

# X-Gitlab-Event values we read; anything else is answered "not handled".
EVENTS = frozenset({"Push Hook", "Merge Request Hook", "Note Hook"})

_MR_ACTIONS = {
    "open": PullAction.OPENED,
    "reopen": PullAction.REOPENED,
    "close": PullAction.CLOSED,
    # GitLab reports a merge as its own action where GitHub says closed+merged; both become
    # MERGED so the rest of the code never asks which forge it was (cf. Atlantis event_parser)
    "merge": PullAction.MERGED,
}
# "approved": all required approvals given; "approval": one user approved. Either is a user's
# approval of the MR as it stands.
_APPROVALS = frozenset({"approved", "approval"})
_UNAPPROVALS = frozenset({"unapproved", "unapproval"})


def normalize(event_name: str, payload: Mapping[str, Any], delivery: str) -> list[Event]:
    """Our events for one delivery; [] for events and actions we don't act on.
    Raises PayloadError when a field we need is missing or has the wrong type."""
    if not isinstance(payload, Mapping):
        raise PayloadError("payload must be a JSON object")
    if event_name == "Push Hook":
        return _push(payload, delivery)
    if event_name == "Merge Request Hook":
        return _merge_request(payload, delivery)
    if event_name == "Note Hook":
        return _note(payload, delivery)
    return []


def _repo(payload: Mapping[str, Any]) -> RepoRef:
    project = obj(payload, "project")
    return RepoRef(
        forge=ForgeKind.GITLAB,
        full_name=repo_name(project, "path_with_namespace", "project", nested=True),
        project_id=opt_integer(project, "id", "project") or opt_integer(payload, "project_id"),
        default_branch=opt_text(project, "default_branch", "project") or "main",
        clone_url=opt_text(project, "git_http_url", "project"),
    )


def _push(payload: Mapping[str, Any], delivery: str) -> list[Event]:
    ref = text(payload, "ref")
    after = text(payload, "after")
    if after == ZERO_SHA or not ref.startswith("refs/heads/"):  # branch deleted
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
            # oldest first, and only the newest 20: the worker reads history from git itself
            commits=commits,
            delivery=delivery,
            pusher=opt_text(payload, "user_username"),
        )
    ]


def _merge_request(payload: Mapping[str, Any], delivery: str) -> list[Event]:
    attrs = obj(payload, "object_attributes")
    action_name = opt_text(attrs, "action", "object_attributes")
    if action_name in _APPROVALS or action_name in _UNAPPROVALS:
        return [
            ReviewEvent(
                repo=_repo(payload),
                number=integer(attrs, "iid", "object_attributes"),
                # the approver is the user who triggered the hook
                author=text(obj(payload, "user"), "username", "user"),
                head_sha=_last_commit(attrs),
                approved=action_name in _APPROVALS,
                delivery=delivery,
            )
        ]
    if action_name == "update":
        # "oldrev" is only present when new commits were pushed to the source branch
        action = PullAction.SYNCHRONIZED if "oldrev" in attrs else PullAction.EDITED
    else:
        found = _MR_ACTIONS.get(action_name)
        if found is None:
            return []
        action = found
    return [
        PullRequestEvent(
            repo=_repo(payload),
            number=integer(attrs, "iid", "object_attributes"),
            action=action,
            title=text(attrs, "title", "object_attributes"),
            body=opt_text(attrs, "description", "object_attributes"),
            # the hook names the MR author only by id (author_id) and `user` is whoever acted;
            # the worker reads the author from the API rather than trust a guess here
            author="",
            head_sha=_last_commit(attrs),
            head_branch=branch(attrs, "source_branch", "object_attributes"),
            base_branch=branch(attrs, "target_branch", "object_attributes"),
            is_fork=_is_fork(attrs, "object_attributes"),
            delivery=delivery,
        )
    ]


def _note(payload: Mapping[str, Any], delivery: str) -> list[Event]:
    attrs = obj(payload, "object_attributes")
    if text(attrs, "noteable_type", "object_attributes") != "MergeRequest":
        return []
    # "action" arrived in GitLab 16.11; older instances only send new notes. Edits are not
    # re-run (fixing a typo in a command must not repeat it).
    if opt_text(attrs, "action", "object_attributes") not in ("", "create"):
        return []
    user = obj(payload, "user")
    mr = obj(payload, "merge_request")
    return [
        CommentEvent(
            repo=_repo(payload),
            number=integer(mr, "iid", "merge_request"),
            comment_id=integer(attrs, "id", "object_attributes"),
            body=opt_text(attrs, "note", "object_attributes"),
            author=text(user, "username", "user"),
            # system notes ("added 1 commit") are GitLab's own; `bot` marks bot users where
            # the instance sends it
            author_is_bot=flag(attrs, "system", "object_attributes") or user.get("bot") is True,
            delivery=delivery,
        )
    ]


def _last_commit(attrs: Mapping[str, Any]) -> str:
    return sha(
        obj(attrs, "last_commit", "object_attributes"), "id", "object_attributes.last_commit"
    )


def _is_fork(attrs: Mapping[str, Any], path: str) -> bool:
    source = opt_integer(attrs, "source_project_id", path)
    target = opt_integer(attrs, "target_project_id", path)
    return source is not None and target is not None and source != target


def _item(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{path} must be an object")
    return value


def _pushed_branch(ref: str) -> str:
    name = ref.removeprefix("refs/heads/")
    if not valid_branch(name):
        raise PayloadError("ref is not a valid branch name")
    return name
