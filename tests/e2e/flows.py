"""The end-to-end scenarios, written once against `World` and run on each forge by
test_github.py and test_gitlab.py. Every step goes through a signed webhook and the bot's
real app, queue, worker, git fetch, planner, executor and forge client; every assertion
reads the fake forge back."""

from __future__ import annotations

import threading

from bot.executor import BRANCH_PREFIX, COMMENT_MARKER
from bot.forges import CheckState
from tests.e2e.helpers import (
    AUTHOR,
    EMAIL,
    EMAIL_DOWN,
    EMAIL_UP,
    READER,
    REVERT_BRANCH,
    TEAM,
    TEAM_MEMBER,
    USERS,
    WRITER,
    M,
    World,
    delivery_id,
)

DROP = "ALTER TABLE users DROP COLUMN email"
TITLE = 'Rollback plan: Revert "Add email (#2)"'


def open_revert(w: World) -> tuple[int, str]:
    """The revert PR/MR opened and planned: its number and the revert commit."""
    number = w.open_revert()
    response = w.pr_event(number, "opened")
    assert response.status_code == 202, response.get_data(as_text=True)
    w.drain()
    return number, w.origin.sha(REVERT_BRANCH)


def assert_refused_plan(w: World, number: int, head: str, revert: str) -> None:
    """One companion, one plan comment, one failing check: the state after any delivery."""
    companion = w.companion()
    assert companion.branch == BRANCH_PREFIX + revert[:12]
    assert companion.base == REVERT_BRANCH
    assert companion.title == TITLE
    # the companion commit sits on the revert's head and puts the removed migration back
    tip = w.branch_head(companion.branch)
    assert tip is not None and w.parents(tip) == [head]
    assert w.migrations(companion.branch) == {**USERS, **EMAIL}
    assert EMAIL_UP not in w.files(REVERT_BRANCH)
    assert DROP in companion.body
    assert "`/rollback-plan approve data-loss`" in companion.body

    comment = w.plan_comment(number)
    assert comment.body.startswith(COMMENT_MARKER)
    assert DROP in comment.body
    assert "**Check `rollback-plan`:** failure" in comment.body
    assert f"**Companion {w.word}:**" in comment.body
    assert "could not finish" not in "".join(c.body for c in w.comments(number))

    check = w.check(head)
    assert (check.state, check.count) == (CheckState.FAILURE, 1), check

    # what happened shows in the metrics an operator scrapes
    metrics = w.client.get("/metrics").get_data(as_text=True)
    assert 'rollback_plan_plans_total{verdict="refused"}' in metrics


def approve(w: World, number: int, text: str, who: str) -> tuple[int, str]:
    """A command comment, delivered and acted on; returns its id and the bot's reply."""
    comment_id, response = w.comment(number, text, who)
    assert response.status_code == 202, response.get_data(as_text=True)
    w.drain()
    assert "eyes" in w.reactions(number, comment_id)  # acknowledged
    replies = w.replies(number, comment_id)
    return comment_id, replies[0].body if replies else ""


def revert_pr_lifecycle(w: World) -> None:
    number, revert = open_revert(w)
    assert_refused_plan(w, number, revert, revert)

    # a reader cannot approve; the check stays shut
    _, reply = approve(w, number, "/rollback-plan approve data-loss", READER)
    assert "**approval not accepted**" in reply and "read permission" in reply
    assert w.check(revert).state is CheckState.FAILURE

    # the revert's author cannot accept losing data with their own revert
    _, reply = approve(w, number, "/rollback-plan approve data-loss", AUTHOR)
    assert "the author of the revert cannot approve losing data" in reply
    assert w.check(revert).state is CheckState.FAILURE

    # a plain approval does not accept data loss
    _, reply = approve(w, number, "/rollback-plan approve", WRITER)
    assert "a plain approval is not enough" in reply
    assert w.check(revert).state is CheckState.FAILURE

    # a writer accepts the loss: the check opens, bound to this head
    _, reply = approve(w, number, "/rollback-plan approve data-loss", WRITER)
    assert reply == ""  # accepted: the answer is the plan comment itself
    check = w.check(revert)
    assert (check.state, check.count) == (CheckState.SUCCESS, 1), check
    comment = w.plan_comment(number)
    assert (
        f"**Approved** by @{WRITER} (accepting the data loss) for this plan at `{revert[:12]}`"
        in comment.body
    )
    assert len(w.companions()) == 1

    # a new commit on the revert branch: the approval no longer counts
    w.origin.git("checkout", "-q", REVERT_BRANCH)
    head = w.origin.work.commit("Note why", {"NOTES.md": "email goes away for now\n"})
    w.origin.git("checkout", "-q", "main")
    w.origin.push(REVERT_BRANCH)
    w.sync()
    response = w.pr_event(number, "synchronize", before=revert)
    assert response.status_code == 202, response.get_data(as_text=True)
    w.drain()
    check = w.check(head)
    assert (check.state, check.count) == (CheckState.FAILURE, 1), check
    comment = w.plan_comment(number)
    assert f"An approval by @{WRITER} was for an earlier plan or head" in comment.body
    assert "**Check `rollback-plan`:** failure" in comment.body
    companion = w.companion()
    assert companion.branch == BRANCH_PREFIX + revert[:12]
    tip = w.branch_head(companion.branch)
    assert tip is not None and w.parents(tip) == [head]  # the companion followed the revert
    assert w.migrations(companion.branch) == {**USERS, **EMAIL}

    # approving again, now for the new head
    _, reply = approve(w, number, "/rollback-plan approve data-loss", WRITER)
    assert w.check(head).state is CheckState.SUCCESS
    assert len(w.plan_comments(number)) == 1 and len(w.companions()) == 1


def needs_approval_lifecycle(w: World) -> None:
    """A repository whose policy lets data loss be approved: the companion carries the plain
    down as a new golang-migrate migration, and a plain approval opens the check."""
    number, revert = open_revert(w)
    companion = w.companion()
    files = w.migrations(companion.branch)
    added = {p: t for p, t in files.items() if p not in USERS and p not in EMAIL}
    assert {p: files[p] for p in (EMAIL_UP, EMAIL_DOWN)} == EMAIL  # re-added
    names = sorted(p.removeprefix(f"{M}/") for p in added)
    assert len(names) == 2 and names[0].startswith("000003_rollback_"), names
    assert names[0].endswith(".down.sql") and names[1].endswith(".up.sql"), names
    up = added[f"{M}/{names[1]}"]
    assert DROP in up and "-- Generated by rollback-plan" in up
    assert "ADD COLUMN email" in added[f"{M}/{names[0]}"]
    assert "`/rollback-plan approve`" in w.plan_comment(number).body
    assert w.check(revert).state is CheckState.ACTION_REQUIRED

    _, reply = approve(w, number, "/rollback-plan approve", WRITER)
    assert reply == ""
    check = w.check(revert)
    assert (check.state, check.count) == (CheckState.SUCCESS, 1), check


def approval_below_a_first_line(w: World) -> None:
    """The command need not open the comment: a remark first, the command on a later line."""
    number, revert = open_revert_needing_approval(w)
    _, reply = approve(w, number, "Looks risky.\n\n/rollback-plan approve", WRITER)
    assert reply == ""
    check = w.check(revert)
    assert (check.state, check.count) == (CheckState.SUCCESS, 1), check


def open_revert_needing_approval(w: World) -> tuple[int, str]:
    number, revert = open_revert(w)
    assert w.check(revert).state is CheckState.ACTION_REQUIRED
    return number, revert


def team_member_approves(w: World) -> None:
    w.use_teams(TEAM)
    number, revert = open_revert(w)
    _, reply = approve(w, number, "/rollback-plan approve data-loss", TEAM_MEMBER)
    assert reply == ""
    assert w.check(revert).state is CheckState.SUCCESS
    assert f"**Approved** by @{TEAM_MEMBER}" in w.plan_comment(number).body


def help_and_ignored_comments(w: World, bot_login: str) -> None:
    number, revert = open_revert(w)
    plan_before = w.plan_comment(number).body

    _, reply = approve(w, number, "/rollback-plan help", READER)
    assert "**`/rollback-plan` commands**" in reply and "does not know" not in reply

    _, reply = approve(w, number, "/rollback-plan frobnicate <b>now</b> `$(rm -rf /)`", READER)
    assert "does not know the command" in reply and "**`/rollback-plan` commands**" in reply
    assert "<b>" not in reply and "\\<b\\>" in reply  # quoted back escaped, never as markup

    # the bot's own words are never commands, even when they read like one
    before = len(w.comments(number))
    requests = w.request_count()
    _, response = w.comment(number, "/rollback-plan approve data-loss", bot_login, bot=True)
    assert response.status_code == 204, response.get_data(as_text=True)
    w.drain()
    assert len(w.comments(number)) == before + 1  # just the one we posted as the bot
    assert w.request_count() == requests  # the bot did not even look
    assert w.check(revert).state is CheckState.FAILURE
    assert w.plan_comment(number).body == plan_before


def same_delivery_five_times(w: World) -> None:
    number = w.open_revert()
    delivery = delivery_id("same")
    codes = [w.pr_event(number, "opened", delivery=delivery).status_code for _ in range(5)]
    assert codes == [202, 200, 200, 200, 200]
    w.drain()
    revert = w.origin.sha(REVERT_BRANCH)
    assert_refused_plan(w, number, revert, revert)
    assert len(w.comments(number)) == 1


def concurrent_deliveries(w: World) -> None:
    """Two different deliveries for the same revert at the same moment (two request
    threads, two worker threads) converge on one companion, one comment, one check."""
    number = w.open_revert()
    gate = threading.Barrier(2)
    codes: list[int] = []

    def deliver(action: str) -> None:
        gate.wait()
        codes.append(w.pr_event(number, action).status_code)

    threads = [threading.Thread(target=deliver, args=(a,)) for a in ("opened", "reopened")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [202, 202], codes
    w.drain()
    revert = w.origin.sha(REVERT_BRANCH)
    assert_refused_plan(w, number, revert, revert)
    # a refresh arriving afterwards changes nothing
    _, reply = approve(w, number, "/rollback-plan refresh", WRITER)
    assert reply == ""
    assert_refused_plan(w, number, revert, revert)
    assert len(w.comments(number)) == 2  # the plan comment and the refresh command


def fault_at_write(w: World, write: str, mode: str) -> None:
    number = w.open_revert()
    w.fail_write(write, mode)
    response = w.pr_event(number, "opened")
    assert response.status_code == 202
    w.drain()
    revert = w.origin.sha(REVERT_BRANCH)
    assert_refused_plan(w, number, revert, revert)
    assert len(w.comments(number)) == 1
    assert w.faults_pending() == 0  # the fault did hit that write
    # refused: sent again; applied: found by looking, never sent twice
    assert w.write_calls(write) == (2 if mode == "500" else 1) or write in ("commit", "label")


def forged_and_malformed(w: World) -> None:
    number = w.open_revert()
    requests = w.request_count()
    response = w.pr_event(number, "opened", secret="forged-secret")
    assert response.status_code == 401
    assert "Traceback" not in response.get_data(as_text=True)
    response = w.pr_event(number, "opened", mutate=w.break_number)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "must be an integer" in body and "Traceback" not in body
    w.drain()
    assert w.request_count() == requests  # nothing reached the forge
    assert w.companions() == [] and w.comments(number) == []


def pushed_revert(w: World) -> None:
    """A revert pushed straight to the default branch: a commit comment, a companion
    change from the default branch that holds the plan comment, a check on the commit."""
    before = w.origin.sha("main")
    revert = w.origin.work.revert("HEAD")
    w.origin.push("main")
    w.sync()
    response = w.push_event("main", before, revert)
    assert response.status_code == 202, response.get_data(as_text=True)
    w.drain()

    companion = w.companion()
    assert companion.branch == BRANCH_PREFIX + revert[:12]
    assert companion.base == "main"
    tip = w.branch_head(companion.branch)
    assert tip is not None and w.parents(tip) == [revert]
    assert w.migrations(companion.branch) == {**USERS, **EMAIL}
    assert DROP in companion.body
    notes = w.commit_comments(revert)
    assert len(notes) == 1 and COMMENT_MARKER in notes[0].body and DROP in notes[0].body
    assert len(w.plan_comments(companion.number)) == 1
    check = w.check(revert)
    assert (check.state, check.count) == (CheckState.FAILURE, 1), check

    # the same push sent again under a new delivery id: the same event, so the same job
    again = w.push_event("main", before, revert)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    w.drain()
    assert len(w.companions()) == 1 and len(w.commit_comments(revert)) == 1
    assert len(w.plan_comments(companion.number)) == 1 and w.check(revert).count == 1

    # approving on the companion: the check on the pushed commit opens
    _, reply = approve(w, companion.number, "/rollback-plan approve data-loss", WRITER)
    assert reply == ""
    assert w.check(revert).state is CheckState.SUCCESS
