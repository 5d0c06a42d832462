"""Planning from a live schema that drifted: the history's down, after the drift is undone."""

from __future__ import annotations

from bot.core.diff import diff
from bot.core.down import Down
from bot.core.model import Schema
from bot.core.render import render
from bot.live.drift import real_differences


def down_from_live(live: Schema, expected: Schema, down: Down) -> Down:
    """First take the live schema to the history's (`expected`), then run the history's down.

    The history's down keeps the migration's intent: a rename goes back as a rename, never
    as the drop + create a bare diff of the live schema against the target would give.
    """
    fixups = real_differences(diff(live, expected))
    if not fixups:
        return down
    note = "the live schema drifted: the down first takes it back to the migration history's"
    return Down(
        (*fixups, *down.changes),
        (*render(fixups, live), *down.statements),
        down.method,
        down.unmodelled,
        note if down.note is None else f"{note}; {down.note}",
    )
