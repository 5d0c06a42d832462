"""GitLab payload normalization on the examples published in GitLab's webhook docs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.events import CommentEvent, ForgeKind, PullAction, PullRequestEvent, PushEvent, ReviewEvent
from bot.forges.gitlab.events import PayloadError, normalize

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks" / "gitlab"
LAST_COMMIT = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"


def load(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((DATA / f"{name}.json").read_text()))


def mr(action: str, **attrs: Any) -> dict[str, Any]:
    data = load("merge_request.open")
    data["object_attributes"]["action"] = action
    data["object_attributes"].update(attrs)
    return data


def test_push() -> None:
    (event,) = normalize("Push Hook", load("push"), "d")
    assert isinstance(event, PushEvent)
    assert (event.branch, event.before, event.after) == (
        "master",
        "95790bf891e76fee5e1747ab589903a6a1f80f22",
        LAST_COMMIT,
    )
    assert event.commits == ("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", LAST_COMMIT)
    assert event.pusher == "jsmith"
    assert event.repo.forge is ForgeKind.GITLAB
    assert (event.repo.full_name, event.repo.project_id, event.repo.clone_url) == (
        "mike/diaspora",
        15,
        "http://example.com/mike/diaspora.git",
    )


def test_open() -> None:
    (event,) = normalize("Merge Request Hook", load("merge_request.open"), "d")
    assert isinstance(event, PullRequestEvent)
    assert event.action is PullAction.OPENED
    assert (event.number, event.head_sha, event.head_branch, event.base_branch, event.title) == (
        1,
        LAST_COMMIT,
        "ms-viewport",
        "master",
        "MS-Viewport",
    )
    assert event.is_fork is False  # source_project_id == target_project_id
    assert event.repo.full_name == "gitlabhq/gitlab-test"


@pytest.mark.parametrize(
    ("action", "attrs", "expected"),
    [
        ("reopen", {}, PullAction.REOPENED),
        ("update", {"oldrev": "95790bf891e76fee5e1747ab589903a6a1f80f22"}, PullAction.SYNCHRONIZED),
        ("update", {}, PullAction.EDITED),
        ("close", {}, PullAction.CLOSED),
        ("merge", {}, PullAction.MERGED),
    ],
)
def test_actions(action: str, attrs: dict[str, Any], expected: PullAction) -> None:
    (event,) = normalize("Merge Request Hook", mr(action, **attrs), "d")
    assert isinstance(event, PullRequestEvent) and event.action is expected


def test_fork() -> None:
    (event,) = normalize("Merge Request Hook", mr("open", source_project_id=99), "d")
    assert isinstance(event, PullRequestEvent) and event.is_fork


@pytest.mark.parametrize(
    ("action", "approved"), [("approved", True), ("approval", True), ("unapproval", False)]
)
def test_approvals(action: str, approved: bool) -> None:
    (event,) = normalize("Merge Request Hook", mr(action), "d")
    assert isinstance(event, ReviewEvent)
    assert (event.approved, event.author, event.head_sha, event.number) == (
        approved,
        "root",
        LAST_COMMIT,
        1,
    )


def test_note_on_merge_request() -> None:
    (event,) = normalize("Note Hook", load("note.merge_request"), "d")
    assert isinstance(event, CommentEvent)
    assert (event.number, event.comment_id, event.body, event.author, event.author_is_bot) == (
        1,
        1244,
        "This MR needs work.",
        "root",
        False,
    )


def test_note_edits_and_other_targets_are_nothing() -> None:
    data = load("note.merge_request")
    data["object_attributes"]["action"] = "update"
    assert normalize("Note Hook", data, "d") == []
    data = load("note.merge_request")
    data["object_attributes"]["noteable_type"] = "Issue"
    assert normalize("Note Hook", data, "d") == []


def test_unknown_events_are_nothing() -> None:
    assert normalize("Pipeline Hook", {"object_kind": "pipeline"}, "d") == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["object_attributes"].pop("last_commit"),
            "missing field object_attributes.last_commit (expected an object)",
        ),
        (
            lambda d: d["object_attributes"].__setitem__("iid", 1.5),
            "field object_attributes.iid must be an integer, not a number",
        ),
        (
            lambda d: d.__setitem__("project", "gitlabhq/gitlab-test"),
            "field project must be an object, not a string",
        ),
    ],
)
def test_payload_errors_name_the_field(mutate: Any, message: str) -> None:
    data = load("merge_request.open")
    mutate(data)
    with pytest.raises(PayloadError) as err:
        normalize("Merge Request Hook", data, "d")
    assert str(err.value) == message
