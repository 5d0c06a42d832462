"""Compute the down-migration from a newer schema back to an older one.

When the migrations being undone are known, their own changes are inverted (renames go back
as renames, dropped objects return with their exact definitions), as Alembic's `reverse()`
does. The inversion is then checked against the state diff: applied to the newer schema it
must give the older one. When it doesn't, the diff is used and the reason is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.core.changes import Change, reverse_all
from bot.core.diff import diff
from bot.core.model import Schema
from bot.core.render import Rendered, render
from bot.core.replay import Step, Unmodelled
from bot.core.state import StateError, apply_changes


class Method(StrEnum):
    INVERSION = "inversion"
    DIFF = "diff"


@dataclass(frozen=True)
class Down:
    """The down-migration: changes, their SQL, how they were found, and what is unknown."""

    changes: tuple[Change, ...]
    statements: tuple[Rendered, ...]
    method: Method
    unmodelled: tuple[Unmodelled, ...] = ()
    note: str | None = None  # why inversion was not used, when it wasn't

    @property
    def complete(self) -> bool:
        """False when some statement's effect is unknown: the down may miss something."""
        return not self.unmodelled


def compute_down(newer: Schema, older: Schema, undone: Sequence[Step] | None = None) -> Down:
    """The down taking a database at `newer` to `older`; `undone` are the steps between them."""
    unmodelled = tuple(u for s in undone or () for u in s.unmodelled)
    if undone is not None:
        inverse = reverse_all([c for s in undone for c in s.changes])
        try:
            reached = apply_changes(newer, inverse)
        except StateError as err:
            note = f"inverting the migration failed ({err}); used the schema diff"
        else:
            if reached == older:
                return Down(tuple(inverse), tuple(render(inverse, newer)), Method.INVERSION, unmodelled)
            note = "inverting the migration did not reach the older schema; used the schema diff"
    else:
        note = None
    changes = diff(newer, older)
    return Down(tuple(changes), tuple(render(changes, newer)), Method.DIFF, unmodelled, note)
