"""`/rollback-plan` comment commands: parsed from text, never executed.

A comment is a command when one of its lines (outside code blocks and quotes) starts with
`/rollback-plan`. Only the first such line counts; the rest of the comment is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "/rollback-plan"
_MAX_ARGS = 200  # what is quoted back in the help reply, at most


class CommandKind(StrEnum):
    PLAN = "plan"  # `/rollback-plan`: plan what reverting this PR would take
    APPROVE = "approve"
    APPROVE_DATA_LOSS = "approve data-loss"
    REFRESH = "refresh"
    HELP = "help"
    UNKNOWN = "unknown"  # answered with help


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    text: str  # the command line as written (untrusted: escape it before quoting it back)


_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_WORDS = {
    (): CommandKind.PLAN,
    ("approve",): CommandKind.APPROVE,
    ("approve", "data-loss"): CommandKind.APPROVE_DATA_LOSS,
    ("refresh",): CommandKind.REFRESH,
    ("help",): CommandKind.HELP,
}


def parse(body: str) -> Command | None:
    """The command in a comment, or None when the comment holds none."""
    fence: str | None = None
    for raw in body.splitlines():
        line = raw.strip()
        if m := _FENCE.match(raw):
            # a command shown inside a code block is an example, not a request
            fence = None if fence == m.group(1) else (fence or m.group(1))
            continue
        if fence is not None or not line.startswith(PREFIX):
            continue
        rest = line[len(PREFIX) :]
        if rest and not rest[0].isspace():
            continue  # `/rollback-planner` is someone else's command
        words = tuple(w.lower() for w in rest.split())
        kind = _WORDS.get(words, CommandKind.UNKNOWN)
        return Command(kind, line[: len(PREFIX) + _MAX_ARGS])
    return None
