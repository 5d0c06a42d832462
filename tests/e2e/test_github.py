"""End to end on GitHub: the real PyGithub client against the fake GitHub (App auth, Checks
API), a real repository fetched over file://, signed webhooks through the bot's app."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import build
from bot.settings import load_settings
from tests.e2e import flows
from tests.e2e.conftest import MakeGitHub
from tests.e2e.helpers import BOT_GITHUB, TEAM


def test_revert_pr_plan_approvals_and_invalidation(github: MakeGitHub) -> None:
    flows.revert_pr_lifecycle(github())


def test_needs_approval_policy_carries_a_compensating_migration(github: MakeGitHub) -> None:
    flows.needs_approval_lifecycle(github(needs_approval=True))


def test_an_approval_below_a_remark_is_acted_on(github: MakeGitHub) -> None:
    flows.approval_below_a_first_line(github(needs_approval=True))


def test_team_member_may_approve(github: MakeGitHub) -> None:
    flows.team_member_approves(github())


def test_help_unknown_and_the_bots_own_comments(github: MakeGitHub) -> None:
    flows.help_and_ignored_comments(github(), BOT_GITHUB)


def test_same_delivery_five_times(github: MakeGitHub) -> None:
    flows.same_delivery_five_times(github())


def test_two_deliveries_at_once_converge(github: MakeGitHub) -> None:
    flows.concurrent_deliveries(github())


@pytest.mark.parametrize(
    ("write", "mode"),
    [
        ("commit", "500"),
        ("ref", "500-applied"),
        ("pr", "500"),
        ("pr", "500-applied"),
        ("label", "500"),
        ("comment", "500"),
        ("comment", "500-applied"),
        ("check", "500"),
        ("check", "500-applied"),
        ("pr", "timeout"),
        ("comment", "timeout"),
        ("check", "timeout"),
    ],
)
def test_forge_failure_at_each_write(github: MakeGitHub, write: str, mode: str) -> None:
    flows.fault_at_write(github(), write, mode)


def test_forged_signature_and_wrongly_typed_field(github: MakeGitHub) -> None:
    flows.forged_and_malformed(github())


def test_revert_pushed_to_the_default_branch(github: MakeGitHub) -> None:
    flows.pushed_revert(github(pushed=True))


def test_approval_teams_are_configured_from_the_environment(tmp_path: Path) -> None:
    env = {
        "ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET": "s",
        "ROLLBACK_PLAN_GITHUB_TOKEN": "t",
        "ROLLBACK_PLAN_CACHE_DIR": str(tmp_path),
        "ROLLBACK_PLAN_QUEUE_PATH": str(tmp_path / "queue.sqlite3"),
        "ROLLBACK_PLAN_APPROVAL_TEAMS": TEAM,
    }
    bot = build(load_settings(env))
    try:
        assert bot.worker.settings.approval_policy.teams == (TEAM,)
    finally:
        bot.queue.close()
