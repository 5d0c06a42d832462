"""Comment commands are parsed, never executed."""

from __future__ import annotations

import pytest

from bot.commands import CommandKind, parse


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("/rollback-plan", CommandKind.PLAN),
        ("Looks risky.\n\n/rollback-plan approve\nthanks", CommandKind.APPROVE),
        ("/rollback-plan   Approve   data-loss ", CommandKind.APPROVE_DATA_LOSS),
        ("/rollback-plan refresh", CommandKind.REFRESH),
        ("/rollback-plan help", CommandKind.HELP),
        ("/rollback-plan approve everything; rm -rf /", CommandKind.UNKNOWN),
        ("/rollback-plan $(curl evil)", CommandKind.UNKNOWN),
        # after a closed code block, lines are read again
        ("```\n/rollback-plan refresh\n```\n/rollback-plan approve", CommandKind.APPROVE),
        ("~~~sh\nrun it\n~~~\n\n/rollback-plan help", CommandKind.HELP),
        # someone else's command on an earlier line does not hide ours
        ("/rollback-planner go\n/rollback-plan approve", CommandKind.APPROVE),
    ],
)
def test_commands(body: str, kind: CommandKind) -> None:
    command = parse(body)
    assert command is not None and command.kind is kind


@pytest.mark.parametrize(
    "body",
    [
        "no command here",
        "see `/rollback-plan approve` in the docs",  # not at the start of a line
        "```\n/rollback-plan approve\n```",  # an example in a code block
        "/rollback-planner approve",  # someone else's command
        "",
    ],
)
def test_not_commands(body: str) -> None:
    assert parse(body) is None


def test_quoted_back_text_is_bounded() -> None:
    command = parse("/rollback-plan " + "x" * 10_000)
    assert command is not None and len(command.text) < 300
