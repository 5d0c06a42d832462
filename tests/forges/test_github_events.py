"""GitHub payload normalization on the published example payloads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.events import (
    CheckRerunEvent,
    CommentEvent,
    ForgeKind,
    PullAction,
    PullRequestEvent,
    PushEvent,
    ReviewEvent,
)
from bot.forges.github.events import PayloadError, normalize

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks" / "github"


def load(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((DATA / f"{name}.json").read_text()))


def test_synchronize() -> None:
    (event,) = normalize("pull_request", load("pull_request.synchronize"), "d1")
    assert isinstance(event, PullRequestEvent)
    assert event.action is PullAction.SYNCHRONIZED
    assert (event.number, event.head_sha, event.head_branch, event.base_branch) == (
        2,
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        "changes",
        "master",
    )
    assert event.title == "Update the README with new information."
    assert event.author == "Codertocat"
    assert event.is_fork is False
    assert event.repo.forge is ForgeKind.GITHUB
    assert event.repo.full_name == "Codertocat/Hello-World"
    assert event.repo.default_branch == "master"
    assert event.repo.installation_id == 1
    assert event.delivery == "d1"


def test_closed_and_merged_is_merged() -> None:
    data = load("pull_request.synchronize")
    data["action"] = "closed"
    data["pull_request"]["merged"] = True
    (event,) = normalize("pull_request", data, "d")
    assert isinstance(event, PullRequestEvent)
    assert event.action is PullAction.MERGED
    data["pull_request"]["merged"] = False
    (event,) = normalize("pull_request", data, "d")
    assert isinstance(event, PullRequestEvent)
    assert event.action is PullAction.CLOSED


def test_fork_and_deleted_fork() -> None:
    data = load("pull_request.synchronize")
    data["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World"
    (event,) = normalize("pull_request", data, "d")
    assert isinstance(event, PullRequestEvent) and event.is_fork
    data["pull_request"]["head"]["repo"] = None
    (event,) = normalize("pull_request", data, "d")
    assert isinstance(event, PullRequestEvent) and event.is_fork


def test_null_body_is_empty_text() -> None:
    data = load("pull_request.synchronize")
    data["pull_request"]["body"] = None
    (event,) = normalize("pull_request", data, "d")
    assert isinstance(event, PullRequestEvent) and event.body == ""


def test_tag_deletion_push_is_nothing() -> None:
    assert normalize("push", load("push.tag-deleted"), "d") == []


def test_branch_push() -> None:
    data = load("push.tag-deleted")
    shas = ["a" * 40, "b" * 40]
    data.update(
        ref="refs/heads/main", after=shas[-1], deleted=False, commits=[{"id": s} for s in shas]
    )
    (event,) = normalize("push", data, "d")
    assert isinstance(event, PushEvent)
    assert (event.branch, event.before, event.after, event.commits) == (
        "main",
        "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        shas[-1],
        tuple(shas),
    )
    assert event.pusher == "Codertocat"  # the sender's login (`pusher` has no login)
    del data["sender"]
    (event,) = normalize("push", data, "d")
    assert event.pusher == ""  # nobody named: nobody is barred from approving


def test_check_run_rerequested() -> None:
    (event,) = normalize("check_run", load("check_run.rerequested"), "d")
    assert isinstance(event, CheckRerunEvent)
    assert event.head_sha == "d6fde92930d4715a2b49857d24b940956b26d2d3"
    assert event.repo.installation_id == 1
    assert event.number is None  # external_id "": not a check of a PR of ours


@pytest.mark.parametrize(
    ("external_id", "number"),
    [("pr:12", 12), ("pr:0", None), ("pr:12x", None), ("pr:-1", None), ("12", None), ("", None)],
)
def test_a_rerun_names_the_pr_its_check_was_set_for(external_id: str, number: int | None) -> None:
    data = load("check_run.rerequested")
    data["check_run"]["external_id"] = external_id
    (event,) = normalize("check_run", data, "d")
    assert isinstance(event, CheckRerunEvent) and event.number == number


def test_check_suite_rerequested() -> None:
    data = load("check_run.rerequested")
    data["check_suite"] = data.pop("check_run")["check_suite"]
    (event,) = normalize("check_suite", data, "d")
    assert isinstance(event, CheckRerunEvent)
    assert event.head_sha == "d6fde92930d4715a2b49857d24b940956b26d2d3"


def test_comment_on_issue_is_nothing_and_on_pr_is_a_comment() -> None:
    data = load("issue_comment.created.on-issue")
    assert normalize("issue_comment", data, "d") == []
    data["issue"]["pull_request"] = {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"
    }
    (event,) = normalize("issue_comment", data, "d")
    assert isinstance(event, CommentEvent)
    assert (event.number, event.comment_id, event.author, event.author_is_bot) == (
        1,
        492700400,
        "Codertocat",
        False,
    )
    data["comment"]["user"]["type"] = "Bot"
    (event,) = normalize("issue_comment", data, "d")
    assert isinstance(event, CommentEvent) and event.author_is_bot


def test_review_states() -> None:
    data = load("pull_request.synchronize")
    data["action"] = "submitted"
    data["review"] = {
        "id": 237895671,
        "user": {"login": "Codertocat", "type": "User"},
        "commit_id": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        "state": "approved",
    }
    (event,) = normalize("pull_request_review", data, "d")
    assert isinstance(event, ReviewEvent)
    assert (event.approved, event.author, event.number) == (True, "Codertocat", 2)
    data["review"]["state"] = "commented"
    (event,) = normalize("pull_request_review", data, "d")
    assert isinstance(event, ReviewEvent) and not event.approved


def test_ping_and_unknown_events_are_nothing() -> None:
    assert normalize("ping", load("ping"), "d") == []
    assert normalize("deployment", {}, "d") == []


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("pull_request", "number"),
            "2",
            "field pull_request.number must be an integer, not a string",
        ),
        (("pull_request", "head"), None, "missing field pull_request.head (expected an object)"),
        (("pull_request", "head", "sha"), "main", "pull_request.head.sha must be a hex commit sha"),
        (
            ("repository", "full_name"),
            7,
            "field repository.full_name must be a string, not a number",
        ),
        (("action",), ["opened"], "field action must be a string, not an array"),
    ],
)
def test_payload_errors_name_the_field(path: tuple[str, ...], value: object, message: str) -> None:
    data = load("pull_request.synchronize")
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(PayloadError) as err:
        normalize("pull_request", data, "d")
    assert str(err.value) == message
