"""Published webhook payloads (tests/data/webhooks), mutated by Hypothesis and posted signed
through the real app and its real queue: never a 5xx, never a traceback in the log, and every
2xx answer matches what the queue holds. A fixed seed under CI (derandomized)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Bot, build
from bot.jobs.queue import job_from_json
from bot.observability import configure_logging
from tests.web.conftest import DATA, GITHUB_SECRET, GITLAB_SECRET, github_signature
from tests.web.conftest import settings as bot_settings

PAYLOADS = 2000  # per forge
PER_EXAMPLE = 8  # payloads posted by one Hypothesis example (its overhead, shared)
GITLAB_EVENTS = {"merge_request": "Merge Request Hook", "note": "Note Hook", "push": "Push Hook"}

# values that have broken webhook handlers somewhere: path tricks, control characters,
# lone surrogates, huge and wrongly typed values
NASTY = st.sampled_from(
    [
        "", ".", "..", "../..", "acme/../other", "acme/..", "refs/heads/..", "refs/heads/a b",
        "refs/tags/v1", "\ud800", "acme/\udfff", "a\nb", "a\x00b", "-x", "x.lock", "@{1}",
        "0" * 40, "f" * 40, "g" * 40, "a" * 5000, "/rollback-plan approve",
        "Looks risky.\n\n/rollback-plan approve data-loss", "<!-- rollback-plan:comment -->",
        "rollback-plan[bot]", "Bot", "User", "opened", "closed", "reopened", "synchronize",
        "update", "merge", "approved", "rerequested", "created", "edited", "deleted",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
    NASTY,
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=8), SCALARS, max_size=3),
)


def examples(forge: str) -> list[Example]:
    """Every stored example of `forge`, with its event name."""
    found = []
    for path in sorted((DATA / forge).glob("*.json")):
        prefix = path.name.split(".", 1)[0]
        event = GITLAB_EVENTS[prefix] if forge == "gitlab" else prefix
        found.append(example(event, json.loads(path.read_text())))
    return found


# the fields the bot reads: mutated more often than the hundreds it ignores
READ = frozenset(
    {"full_name", "path_with_namespace", "ref", "after", "before", "sha", "head_sha", "id",
     "number", "iid", "action", "body", "note", "login", "username", "type", "merged",
     "deleted", "state", "source_branch", "target_branch", "noteable_type", "last_commit",
     "oldrev", "commits", "repository", "project", "pull_request", "object_attributes",
     "merge_request", "installation", "head", "base", "repo", "user", "comment", "issue"}
)  # fmt: skip
FRAGMENTS = st.sampled_from(
    ["\ud800", "\udfff", "/..", "../", "\n", " ", "\x00", "~", "^", ":", "@{", ".lock", "//"]
)


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into `value` (objects and arrays too, not only scalars)."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))


@dataclass(frozen=True)
class Example:
    event: str
    payload: dict[str, Any]
    paths: tuple[tuple[Any, ...], ...]  # every path into the payload
    read: tuple[tuple[Any, ...], ...]  # the paths that end at a field the bot reads


def example(event: str, payload: dict[str, Any]) -> Example:
    paths = tuple(leaves(payload))
    read = tuple(p for p in paths if isinstance(p[-1], str) and p[-1] in READ)
    return Example(event, payload, paths, read or paths)


def mutate(data: st.DataObject, ex: Example) -> dict[str, Any]:
    """One to three changes: a string bent, a value replaced, a key removed."""
    copy = json.loads(json.dumps(ex.payload))  # a deep copy of plain JSON values
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(ex.read if data.draw(st.booleans()) else ex.paths))
        parent: Any = copy
        try:  # an earlier change may have removed or replaced the way there
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        _change(data, parent, path[-1])
    return copy


def _change(data: st.DataObject, parent: Any, key: Any) -> None:
    old = parent[key]
    action = data.draw(st.sampled_from(["bend", "bend", "replace", "remove"]))
    if action == "remove":
        del parent[key]
    elif action == "bend" and isinstance(old, str):
        cut = data.draw(st.integers(0, len(old)))
        parent[key] = old[:cut] + data.draw(FRAGMENTS) + old[cut:]
    else:
        parent[key] = data.draw(VALUES)


@dataclass
class Ledger:
    """What the app answered, to be checked against what the queue holds."""

    accepted: set[str] = field(default_factory=set)  # delivery ids answered 202
    accepted_bodies: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[Bot, io.StringIO]]:
    # a tmpfs where there is one: the queue syncs every accepted job to disk
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="rp-fuzz-", dir=base) as tmp:
        stream = io.StringIO()
        handler = configure_logging("INFO", stream=stream)
        bot = build(
            replace(
                bot_settings(),
                queue_path=str(Path(tmp) / "queue.sqlite3"),
                cache_dir=str(Path(tmp) / "cache"),
            )
        )
        try:
            yield bot, stream
        finally:
            bot.close(1)
            logging.getLogger().removeHandler(handler)


_ids = itertools.count()
_FUZZ = settings(
    max_examples=PAYLOADS // PER_EXAMPLE,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_mutated_published_payloads(forge: str, app: tuple[Bot, io.StringIO]) -> None:
    bot, log = app
    client = bot.web.test_client()
    ledger = Ledger()
    stored = examples(forge)

    @_FUZZ
    @given(data=st.data())
    def post_some(data: st.DataObject) -> None:
        for _ in range(PER_EXAMPLE):
            post_one(data)

    def post_one(data: st.DataObject) -> None:
        ex = data.draw(st.sampled_from(stored))
        event, changed = ex.event, mutate(data, ex)
        body = json.dumps(changed).encode()
        delivery = f"fuzz-{forge}-{next(_ids)}"
        if forge == "github":
            headers = {
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": github_signature(body, GITHUB_SECRET),
            }
        else:
            headers = {
                "X-Gitlab-Event": event,
                "X-Gitlab-Event-UUID": delivery,
                "X-Gitlab-Token": GITLAB_SECRET,
            }
        headers["Content-Type"] = "application/json"
        response = client.post(f"/webhooks/{forge}", data=body, headers=headers)
        status = response.status_code
        ledger.statuses[status] = ledger.statuses.get(status, 0) + 1
        assert status < 500, (status, response.get_data(as_text=True), changed)
        content = hashlib.sha256(f"{event}\0".encode() + body).hexdigest()
        if status == 202:
            ledger.accepted.add(delivery)
            ledger.accepted_bodies.add(content)
        elif status == 200 and event != "ping":
            # a duplicate: this very body was accepted before, under another delivery id
            assert response.get_json()["duplicate"] is True
            assert content in ledger.accepted_bodies, changed

    post_some()
    db = bot.queue.store._db  # type: ignore[attr-defined]
    queued = {
        job_from_json(body).delivery
        for (body,) in db.execute("SELECT body FROM jobs")
        if job_from_json(body).delivery.startswith(f"fuzz-{forge}-")
    }
    assert queued == ledger.accepted  # every 202 is a job, and no other delivery is
    assert sum(ledger.statuses.values()) >= PAYLOADS
    assert ledger.statuses.get(400, 0) > 0 and ledger.statuses.get(202, 0) > 0, ledger.statuses
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert not [line for line in lines if "exc" in line or line["level"] == "error"]
