"""Planning from a live schema that drifted: the history's down, after the drift is undone."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import changes as ch
from bot.core.diff import diff
from bot.core.down import Down
from bot.core.model import Schema
from bot.core.render import render
from bot.live.drift import real_differences

# a fix-up creating what the down then drops is no step at all
_UNDONE_BY: dict[type, type] = {
    ch.CreateTable: ch.DropTable,
    ch.AddColumn: ch.DropColumn,
    ch.AddConstraint: ch.DropConstraint,
    ch.CreateIndex: ch.DropIndex,
    ch.CreateView: ch.DropView,
    ch.CreateSequence: ch.DropSequence,
    ch.CreateEnum: ch.DropEnum,
    ch.CreateOpaque: ch.DropOpaque,
}


def down_from_live(live: Schema, expected: Schema, down: Down) -> Down:
    """First take the live schema to the history's (`expected`), then run the history's down.

    The history's down keeps the migration's intent: a rename goes back as a rename, never
    as the drop + create a bare diff of the live schema against the target would give.
    """
    fixups = real_differences(diff(live, expected))
    if not fixups:
        return down
    changes = _cancelled([*fixups, *down.changes])
    note = "the live schema drifted: the down first takes it back to the migration history's"
    return Down(
        tuple(changes),
        tuple(render(changes, live)),
        down.method,
        down.unmodelled,
        note if down.note is None else f"{note}; {down.note}",
    )


def _cancelled(changes: Sequence[ch.Change]) -> list[ch.Change]:
    """Without each creation that a later step of the same list drops again."""
    out = list(changes)
    i = 0
    while i < len(out):
        undo = _UNDONE_BY.get(type(out[i]))
        name = ch.change_object(out[i])
        j = next(
            (
                k
                for k in range(i + 1, len(out))
                if undo is not None
                and isinstance(out[k], undo)
                and ch.change_object(out[k]) == name
            ),
            None,
        )
        if j is None:
            i += 1
            continue
        del out[j], out[i]
    return out
