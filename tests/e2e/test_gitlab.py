"""End to end on GitLab: the real python-gitlab client against the fake GitLab (token auth,
commit statuses, MR notes, commit discussions), a real repository fetched over file://,
webhooks carrying the secret token through the bot's app."""

from __future__ import annotations

import pytest

from tests.e2e import flows
from tests.e2e.conftest import MakeGitLab
from tests.e2e.helpers import BOT_GITLAB


def test_revert_pr_plan_approvals_and_invalidation(gitlab: MakeGitLab) -> None:
    flows.revert_pr_lifecycle(gitlab())


def test_needs_approval_policy_carries_a_compensating_migration(gitlab: MakeGitLab) -> None:
    flows.needs_approval_lifecycle(gitlab(needs_approval=True))


def test_an_approval_below_a_remark_is_acted_on(gitlab: MakeGitLab) -> None:
    flows.approval_below_a_first_line(gitlab(needs_approval=True))


def test_team_member_may_approve(gitlab: MakeGitLab) -> None:
    flows.team_member_approves(gitlab())


def test_help_unknown_and_the_bots_own_comments(gitlab: MakeGitLab) -> None:
    flows.help_and_ignored_comments(gitlab(), BOT_GITLAB)


def test_same_delivery_five_times(gitlab: MakeGitLab) -> None:
    flows.same_delivery_five_times(gitlab())


def test_two_deliveries_at_once_converge(gitlab: MakeGitLab) -> None:
    flows.concurrent_deliveries(gitlab())


@pytest.mark.parametrize(
    ("write", "mode"),
    [
        ("commit", "500"),
        ("commit", "500-applied"),
        ("pr", "500"),
        ("pr", "500-applied"),
        ("comment", "500"),
        ("comment", "500-applied"),
        ("check", "500"),
        ("check", "500-applied"),
        ("pr", "timeout"),
        ("comment", "timeout"),
        ("check", "timeout"),
    ],
)
def test_forge_failure_at_each_write(gitlab: MakeGitLab, write: str, mode: str) -> None:
    flows.fault_at_write(gitlab(), write, mode)


def test_forged_signature_and_wrongly_typed_field(gitlab: MakeGitLab) -> None:
    flows.forged_and_malformed(gitlab())


def test_revert_pushed_to_the_default_branch(gitlab: MakeGitLab) -> None:
    flows.pushed_revert(gitlab(pushed=True))
