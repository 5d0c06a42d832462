"""The webhook endpoints, driven with the platforms' published example payloads.

Where a published example for an action does not exist (e.g. GitHub `pull_request` "edited",
an `issue_comment` on a pull request), the test takes the nearest real payload and changes only
the fields that differ, in plain sight."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from bot.events import ForgeKind, JobKind
from bot.web import create_app
from tests.web.conftest import (
    BOT_LOGIN,
    GITHUB_SECRET,
    GITLAB_SECRET,
    Queue,
    Send,
    github_signature,
    payload,
    settings,
)

PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
SECRETS = (GITHUB_SECRET, GITLAB_SECRET)


def assert_clean(response: Any, *must_not_contain: str) -> None:
    """No traceback, no secret, no echo of what was sent."""
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    for secret in SECRETS:
        assert secret not in text
    for echoed in must_not_contain:
        assert echoed not in text
    if text:
        assert "\n" not in text.strip()  # one line


def pr_comment(body: str, login: str = "Codertocat", user_type: str = "User") -> dict[str, Any]:
    """The published issue_comment example, on a pull request: GitHub marks a PR's issue with
    an `issue.pull_request` object (REST docs "Issues": pull_request.url, html_url, ...)."""
    data = payload("github", "issue_comment.created.on-issue")
    data["issue"]["pull_request"] = {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1",
        "html_url": "https://github.com/Codertocat/Hello-World/pull/1",
        "diff_url": "https://github.com/Codertocat/Hello-World/pull/1.diff",
        "patch_url": "https://github.com/Codertocat/Hello-World/pull/1.patch",
    }
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = login
    data["comment"]["user"]["type"] = user_type
    data["sender"]["login"] = login
    data["sender"]["type"] = user_type
    return data


# -- GitHub: signatures --------------------------------------------------------------------


def test_github_good_signature_is_accepted(send_github: Send, queue: Queue) -> None:
    response = send_github("pull_request", payload("github", "pull_request.synchronize"))
    assert response.status_code == 202
    assert response.get_json() == {
        "accepted": 1,
        "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    }
    assert len(queue.jobs) == 1


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing
        "sha256=" + "0" * 64,  # wrong
        "sha1=" + "0" * 40,  # the old SHA-1 header format is not accepted
        "sha256=not-hex-at-all",
    ],
)
def test_github_bad_or_missing_signature_is_401(
    send_github: Send, queue: Queue, signature: str
) -> None:
    body = payload("github", "pull_request.synchronize")
    body["pull_request"]["title"] = "UNIQUE-TITLE-8842"
    response = send_github("pull_request", body, signature=signature)
    assert response.status_code == 401
    assert_clean(response, "UNIQUE-TITLE-8842")
    assert queue.jobs == []


def test_github_signature_with_another_secret_is_401(send_github: Send, queue: Queue) -> None:
    raw = json.dumps(payload("github", "pull_request.synchronize")).encode()
    response = send_github("pull_request", raw, signature=github_signature(raw, "other-secret"))
    assert response.status_code == 401
    assert queue.jobs == []


def test_github_signature_covers_the_raw_body(send_github: Send, queue: Queue) -> None:
    """Re-serialising the JSON would change bytes; the HMAC must be of the bytes received."""
    raw = json.dumps(payload("github", "pull_request.synchronize"), indent=3).encode()
    assert send_github("pull_request", raw).status_code == 202
    tampered = raw.replace(PR_HEAD.encode(), b"f" * 40)
    response = send_github("pull_request", tampered, signature=github_signature(raw), delivery="d2")
    assert response.status_code == 401
    assert len(queue.jobs) == 1


# -- GitHub: events -> jobs ----------------------------------------------------------------


def test_github_ping_is_200(send_github: Send, queue: Queue) -> None:
    response = send_github("ping", payload("github", "ping"))
    assert response.status_code == 200
    assert queue.jobs == []


def test_github_pull_request_synchronize_becomes_a_pull_request_job(
    send_github: Send, queue: Queue
) -> None:
    send_github("pull_request", payload("github", "pull_request.synchronize"))
    (job,) = queue.jobs
    assert job.kind is JobKind.PULL_REQUEST
    assert job.forge is ForgeKind.GITHUB
    assert (job.repo, job.number, job.sha, job.branch) == (
        "Codertocat/Hello-World",
        2,
        PR_HEAD,
        "changes",
    )
    assert job.installation_id == 1
    # who opened it decides who may approve its data loss (the author may not, by default)
    assert job.author == "Codertocat"


@pytest.mark.parametrize("action", ["opened", "reopened", "edited"])
def test_github_pull_request_actions_that_plan(
    send_github: Send, queue: Queue, action: str
) -> None:
    body = payload("github", "pull_request.synchronize")
    body["action"] = action
    assert send_github("pull_request", body).status_code == 202
    assert [j.kind for j in queue.jobs] == [JobKind.PULL_REQUEST]


@pytest.mark.parametrize("merged", [False, True])
def test_github_closed_pull_request_makes_no_job(
    send_github: Send, queue: Queue, merged: bool
) -> None:
    """Closed unmerged: nothing to roll back. Merged: the merge's push is planned instead."""
    body = payload("github", "pull_request.synchronize")
    body["action"] = "closed"
    body["pull_request"]["state"] = "closed"
    body["pull_request"]["merged"] = merged
    response = send_github("pull_request", body)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert queue.jobs == []


def test_github_unhandled_action_is_204(send_github: Send, queue: Queue) -> None:
    body = payload("github", "pull_request.synchronize")
    body["action"] = "labeled"
    assert send_github("pull_request", body).status_code == 204
    assert queue.jobs == []


def test_github_unknown_event_is_204(send_github: Send, queue: Queue) -> None:
    assert send_github("star", {"action": "created"}).status_code == 204
    assert queue.jobs == []


def test_github_branch_push_becomes_a_push_job(send_github: Send, queue: Queue) -> None:
    body = payload("github", "push.tag-deleted")  # the published push example, as a branch push
    after = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    body.update(ref="refs/heads/main", after=after, deleted=False, commits=[{"id": after}])
    assert send_github("push", body).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.sha, job.branch) == (JobKind.PUSH, after, "main")
    # the pushed range's start: where the database was before this push
    assert job.before == body["before"] and job.before
    # who pushed: a pushed revert's author, who may not accept its data loss
    assert job.author == "Codertocat"


def test_github_deletion_push_makes_no_job(send_github: Send, queue: Queue) -> None:
    assert send_github("push", payload("github", "push.tag-deleted")).status_code == 204
    body = payload("github", "push.tag-deleted")
    body["ref"] = "refs/heads/feature"  # a deleted branch: after is all zeros
    assert send_github("push", body, delivery="other").status_code == 204
    assert queue.jobs == []


def test_github_check_run_rerequested_becomes_a_rerun(send_github: Send, queue: Queue) -> None:
    assert send_github("check_run", payload("github", "check_run.rerequested")).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.sha, job.repo) == (
        JobKind.RERUN,
        "d6fde92930d4715a2b49857d24b940956b26d2d3",
        "github/hello-world",
    )
    assert job.number is None  # a check run of another app's making names no PR of ours


def test_a_rerun_of_our_check_names_the_pr_it_was_set_for(send_github: Send, queue: Queue) -> None:
    # a fork's revert PR has no companion: the check run's external_id is how it is found
    body = payload("github", "check_run.rerequested")
    body["check_run"]["external_id"] = "pr:12"
    assert send_github("check_run", body).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.number) == (JobKind.RERUN, 12)


# the `review` object of octokit/webhooks payload-examples/.../pull_request_review/
# submitted.payload.json (user urls trimmed); its pull_request is the same PR #2 as the
# synchronize example
REVIEW = {
    "id": 237895671,
    "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3MjM3ODk1Njcx",
    "user": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": False},
    "body": None,
    "commit_id": PR_HEAD,
    "submitted_at": "2019-05-15T15:20:38Z",
    "state": "commented",
    "html_url": "https://github.com/Codertocat/Hello-World/pull/2#pullrequestreview-237895671",
    "pull_request_url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2",
    "author_association": "OWNER",
}


def review_payload(state: str) -> dict[str, Any]:
    body = payload("github", "pull_request.synchronize")
    body["action"] = "submitted"
    body["review"] = dict(REVIEW, state=state)
    return body


def test_github_approving_review_becomes_a_review_job(send_github: Send, queue: Queue) -> None:
    assert send_github("pull_request_review", review_payload("approved")).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.number, job.sha, job.author) == (
        JobKind.REVIEW,
        2,
        PR_HEAD,
        "Codertocat",
    )


@pytest.mark.parametrize("state", ["commented", "changes_requested"])
def test_github_other_reviews_make_no_job(send_github: Send, queue: Queue, state: str) -> None:
    assert send_github("pull_request_review", review_payload(state)).status_code == 204
    assert queue.jobs == []


# -- GitHub: comments ----------------------------------------------------------------------


def test_github_command_comment_becomes_a_command_job(send_github: Send, queue: Queue) -> None:
    response = send_github("issue_comment", pr_comment("/rollback-plan approve data-loss"))
    assert response.status_code == 202
    (job,) = queue.jobs
    assert job.kind is JobKind.COMMAND
    assert (job.number, job.author, job.comment_id, job.command) == (
        1,
        "Codertocat",
        492700400,
        "/rollback-plan approve data-loss",
    )


@pytest.mark.parametrize(
    "body",
    [
        "You are totally right! I'll get this fixed right away.",
        "/rollback-planner approve",  # not our command word
        "please run /rollback-plan approve",  # must start the comment
    ],
)
def test_github_non_command_comment_makes_no_job(
    send_github: Send, queue: Queue, body: str
) -> None:
    assert send_github("issue_comment", pr_comment(body)).status_code == 204
    assert queue.jobs == []


def test_github_comment_on_a_plain_issue_makes_no_job(send_github: Send, queue: Queue) -> None:
    body = payload("github", "issue_comment.created.on-issue")
    body["comment"]["body"] = "/rollback-plan"
    assert send_github("issue_comment", body).status_code == 204
    assert queue.jobs == []


@pytest.mark.parametrize(
    ("login", "user_type"),
    [(BOT_LOGIN, "Bot"), ("some-other-app[bot]", "Bot"), ("rollback-plan-bot", "User")],
)
def test_github_bot_comments_are_ignored(
    send_github: Send, queue: Queue, login: str, user_type: str
) -> None:
    """Our own plan comment quotes the commands; it must never approve itself."""
    body = pr_comment("/rollback-plan approve data-loss", login=login, user_type=user_type)
    assert send_github("issue_comment", body).status_code == 204
    assert queue.jobs == []


def test_github_edited_comment_is_not_rerun(send_github: Send, queue: Queue) -> None:
    body = pr_comment("/rollback-plan approve")
    body["action"] = "edited"
    assert send_github("issue_comment", body).status_code == 204
    assert queue.jobs == []


def test_github_hostile_comment_is_only_text(send_github: Send, queue: Queue) -> None:
    """Markdown, HTML and shell in a command are stored as text for the worker; nothing is
    executed or rendered here, and the response does not echo them."""
    hostile = (
        "/rollback-plan approve $(touch /tmp/pwned-rp) `rm -rf /` ; echo hi | sh\n"
        "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))\n"
        "```\n{{ config }} ${jndi:ldap://x}\n```"
    )
    response = send_github("issue_comment", pr_comment(hostile))
    assert response.status_code == 202
    assert_clean(response, "<script>", "pwned", "jndi")
    (job,) = queue.jobs
    assert job.command == hostile.strip()
    assert not os.path.exists("/tmp/pwned-rp")


# -- GitHub: bad input ---------------------------------------------------------------------


def test_github_replayed_delivery_makes_one_job(send_github: Send, queue: Queue) -> None:
    body = payload("github", "pull_request.synchronize")
    statuses = [send_github("pull_request", body).status_code for _ in range(5)]
    assert statuses == [202, 200, 200, 200, 200]
    assert len(queue.jobs) == 1


def test_github_duplicate_answer_says_so(send_github: Send) -> None:
    body = payload("github", "pull_request.synchronize")
    send_github("pull_request", body)
    again = send_github("pull_request", body)
    assert again.get_json()["duplicate"] is True


def test_github_malformed_json_is_400(send_github: Send, queue: Queue) -> None:
    raw = b'{"action": "opened", "pull_request": {"SECRET-LOOKING-VALUE": '
    response = send_github("pull_request", raw)
    assert response.status_code == 400
    assert response.get_json() == {"error": "malformed JSON"}
    assert_clean(response, "SECRET-LOOKING-VALUE")
    assert queue.jobs == []


@pytest.mark.parametrize("raw", [b"[1, 2, 3]", b'"text"', b"\xff\xfe\x00", b"[" * 100_000])
def test_github_non_object_or_undecodable_body_is_400(
    send_github: Send, queue: Queue, raw: bytes
) -> None:
    response = send_github("pull_request", raw)
    assert response.status_code == 400
    assert_clean(response)
    assert queue.jobs == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["pull_request"].__setitem__("number", "2"), "pull_request.number"),
        (lambda p: p["pull_request"].__setitem__("number", True), "pull_request.number"),
        (lambda p: p["pull_request"]["head"].__setitem__("sha", 12345), "pull_request.head.sha"),
        (
            lambda p: p["pull_request"]["head"].__setitem__("sha", "zz; rm -rf /"),
            "pull_request.head.sha",
        ),
        (lambda p: p.pop("repository"), "repository"),
        (lambda p: p.__setitem__("pull_request", []), "pull_request"),
        (lambda p: p["repository"].__setitem__("full_name", None), "repository.full_name"),
    ],
)
def test_github_wrong_types_are_400_naming_the_field(
    send_github: Send, queue: Queue, change: Any, field: str
) -> None:
    body = payload("github", "pull_request.synchronize")
    change(body)
    response = send_github("pull_request", body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]
    assert_clean(response, "rm -rf")
    assert queue.jobs == []


def test_github_bad_payload_does_not_burn_the_delivery(send_github: Send, queue: Queue) -> None:
    """A 400 is not remembered as taken: a corrected redelivery is accepted."""
    assert send_github("pull_request", b"{").status_code == 400
    good = payload("github", "pull_request.synchronize")
    assert send_github("pull_request", good).status_code == 202


def test_github_form_encoded_payload_is_read(send_github: Send, queue: Queue) -> None:
    from urllib.parse import urlencode

    raw = urlencode({"payload": json.dumps(payload("github", "pull_request.synchronize"))}).encode()
    response = send_github(
        "pull_request", raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 202
    assert len(queue.jobs) == 1


# -- size limits ---------------------------------------------------------------------------


def test_body_over_25_mib_is_413(client: FlaskClient, queue: Queue) -> None:
    raw = b" " * (25 * 1024 * 1024 + 1)
    response = client.post(
        "/webhooks/github",
        data=raw,
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "big",
            "X-Hub-Signature-256": github_signature(raw),
        },
    )
    assert response.status_code == 413
    assert_clean(response)
    assert queue.jobs == []


class _CountingStream(io.RawIOBase):
    """An endless request body that counts what the app pulled from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = len(buffer)
        buffer[:n] = b" " * n
        self.read_bytes += n
        return n


def _post_stream(app: Any, path: str, stream: io.RawIOBase, content_length: str | None) -> int:
    """POST with a raw WSGI input stream (the test client wants seekable bodies)."""
    builder = EnvironBuilder(
        path=path,
        method="POST",
        headers={
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": "sha256=" + "0" * 64,
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": GITLAB_SECRET,
        },
    )
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    environ["wsgi.input"] = stream
    environ["wsgi.input_terminated"] = True  # what servers set for chunked bodies
    _, status, _ = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    return int(status.split()[0])


@pytest.mark.parametrize("path", ["/webhooks/github", "/webhooks/gitlab"])
@pytest.mark.parametrize("declared", [None, "10"])  # chunked, or a Content-Length that lies
def test_streamed_body_stops_at_the_limit(path: str, declared: str | None, queue: Queue) -> None:
    """Content-Length can be absent (chunked) or lie: the stream itself is bounded."""
    limit = 1000
    app = create_app(settings(max_body_bytes=limit), queue)
    stream = _CountingStream()
    status = _post_stream(app, path, stream, declared)
    if declared is None:
        assert status == 413
    else:
        # whether the server trusts the small length or the stream, nothing past the limit
        # is read and nothing is enqueued
        assert status in (400, 401, 413)
    assert stream.read_bytes <= limit + 64 * 1024
    assert queue.jobs == []


def test_declared_length_over_limit_is_refused_before_reading(queue: Queue) -> None:
    app = create_app(settings(max_body_bytes=10), queue)
    stream = _CountingStream()
    assert _post_stream(app, "/webhooks/gitlab", stream, "11") == 413
    assert stream.read_bytes == 0


# -- queue and failures --------------------------------------------------------------------


def test_queue_down_is_503_and_the_redelivery_is_taken(send_github: Send, queue: Queue) -> None:
    body = payload("github", "pull_request.synchronize")
    queue.down = True
    response = send_github("pull_request", body)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert_clean(response)
    queue.down = False
    assert send_github("pull_request", body).status_code == 202
    assert len(queue.jobs) == 1


def test_unexpected_error_is_a_clean_500(queue: Queue) -> None:
    def broken(job: Any) -> bool:
        raise RuntimeError(f"boom {GITHUB_SECRET}")

    app = create_app(settings(), broken)
    raw = json.dumps(payload("github", "pull_request.synchronize")).encode()
    response = app.test_client().post(
        "/webhooks/github",
        data=raw,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "x1",
            "X-Hub-Signature-256": github_signature(raw),
        },
    )
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error"}
    assert_clean(response, "boom")


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "forges": ["github", "gitlab"]}


def test_wrong_method_and_path_answer_json(client: FlaskClient) -> None:
    assert client.get("/webhooks/github").status_code == 405
    response = client.get("/nope")
    assert response.status_code == 404
    assert_clean(response)


def test_disabled_forge_is_404(queue: Queue) -> None:
    app = create_app(settings(gitlab_webhook_secret=None), queue)
    response = app.test_client().post(
        "/webhooks/gitlab", data=b"{}", headers={"X-Gitlab-Token": ""}
    )
    assert response.status_code == 404


def test_app_refuses_to_start_without_any_secret(queue: Queue) -> None:
    with pytest.raises(ValueError, match="secret"):
        create_app(settings(github_webhook_secret=None, gitlab_webhook_secret=None), queue)


# -- GitLab --------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong", GITLAB_SECRET + "x"])
def test_gitlab_bad_or_missing_token_is_401(
    send_gitlab: Send, queue: Queue, token: str | None
) -> None:
    response = send_gitlab("Push Hook", payload("gitlab", "push"), token=token)
    assert response.status_code == 401
    assert_clean(response, "diaspora")
    assert queue.jobs == []


def test_gitlab_push_becomes_a_push_job(send_gitlab: Send, queue: Queue) -> None:
    assert send_gitlab("Push Hook", payload("gitlab", "push")).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.forge, job.repo, job.sha, job.branch, job.project_id) == (
        JobKind.PUSH,
        ForgeKind.GITLAB,
        "mike/diaspora",
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "master",
        15,
    )
    assert job.author == "jsmith"  # the pusher: a pushed revert's author


def test_gitlab_branch_deletion_makes_no_job(send_gitlab: Send, queue: Queue) -> None:
    body = payload("gitlab", "push")
    body["after"] = "0" * 40
    body["commits"] = []
    assert send_gitlab("Push Hook", body).status_code == 204
    assert queue.jobs == []


@pytest.mark.parametrize("action", ["open", "reopen", "update"])
def test_gitlab_merge_request_actions_that_plan(
    send_gitlab: Send, queue: Queue, action: str
) -> None:
    body = payload("gitlab", "merge_request.open")
    body["object_attributes"]["action"] = action
    assert send_gitlab("Merge Request Hook", body).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.number, job.sha, job.branch) == (
        JobKind.PULL_REQUEST,
        1,
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "ms-viewport",
    )


@pytest.mark.parametrize("action", ["close", "merge", "unapproved", "unapproval"])
def test_gitlab_merge_request_actions_without_a_job(
    send_gitlab: Send, queue: Queue, action: str
) -> None:
    body = payload("gitlab", "merge_request.open")
    body["object_attributes"]["action"] = action
    assert send_gitlab("Merge Request Hook", body).status_code == 204
    assert queue.jobs == []


@pytest.mark.parametrize("action", ["approved", "approval"])
def test_gitlab_approval_becomes_a_review_job(send_gitlab: Send, queue: Queue, action: str) -> None:
    body = payload("gitlab", "merge_request.open")
    body["object_attributes"]["action"] = action
    assert send_gitlab("Merge Request Hook", body).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.number, job.author, job.sha) == (
        JobKind.REVIEW,
        1,
        "root",
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    )


def test_gitlab_command_note_becomes_a_command_job(send_gitlab: Send, queue: Queue) -> None:
    body = payload("gitlab", "note.merge_request")
    body["object_attributes"]["note"] = "/rollback-plan refresh"
    assert send_gitlab("Note Hook", body).status_code == 202
    (job,) = queue.jobs
    assert (job.kind, job.number, job.comment_id, job.author, job.command) == (
        JobKind.COMMAND,
        1,
        1244,
        "root",
        "/rollback-plan refresh",
    )


def test_gitlab_plain_note_makes_no_job(send_gitlab: Send, queue: Queue) -> None:
    assert send_gitlab("Note Hook", payload("gitlab", "note.merge_request")).status_code == 204
    assert queue.jobs == []


@pytest.mark.parametrize("how", ["configured login", "bot flag", "system note"])
def test_gitlab_bot_notes_are_ignored(send_gitlab: Send, queue: Queue, how: str) -> None:
    body = payload("gitlab", "note.merge_request")
    body["object_attributes"]["note"] = "/rollback-plan approve data-loss"
    if how == "configured login":
        body["user"]["username"] = "rollback-plan-bot"
    elif how == "bot flag":
        body["user"]["bot"] = True
    else:
        body["object_attributes"]["system"] = True
    assert send_gitlab("Note Hook", body).status_code == 204
    assert queue.jobs == []


def test_gitlab_replay_with_idempotency_key_makes_one_job(send_gitlab: Send, queue: Queue) -> None:
    """GitLab keeps Idempotency-Key across retries of one event (the event UUID may differ)."""
    body = payload("gitlab", "push")
    statuses = [
        send_gitlab(
            "Push Hook",
            body,
            delivery=f"uuid-{i}",
            headers={"Idempotency-Key": "908a6d9e-45fd-46c8-97e6-c4f350f219dd"},
        ).status_code
        for i in range(5)
    ]
    assert statuses == [202, 200, 200, 200, 200]
    assert len(queue.jobs) == 1


def test_gitlab_unknown_event_is_204(send_gitlab: Send, queue: Queue) -> None:
    assert send_gitlab("Pipeline Hook", {"object_kind": "pipeline"}).status_code == 204
    assert queue.jobs == []


def test_gitlab_malformed_json_is_400(send_gitlab: Send, queue: Queue) -> None:
    response = send_gitlab("Push Hook", b"not json")
    assert response.status_code == 400
    assert_clean(response, "not json")


def test_gitlab_wrong_types_are_400(send_gitlab: Send, queue: Queue) -> None:
    body = payload("gitlab", "merge_request.open")
    body["object_attributes"]["iid"] = "1"
    response = send_gitlab("Merge Request Hook", body)
    assert response.status_code == 400
    assert "object_attributes.iid" in response.get_json()["error"]
    assert queue.jobs == []
