"""Column position is cosmetic: on SQLite a column the down re-adds goes at the end when
putting it back at its old place would cost a whole-table rebuild."""

from __future__ import annotations

from dataclasses import replace

from bot.core.changes import AddColumn, Change
from bot.core.down import Down
from bot.core.model import Dialect, Schema
from bot.core.render import render


def columns_at_end(down: Down, newer: Schema) -> tuple[Down, tuple[str, ...]]:
    """The down with re-added columns appended where that spares a rebuild (SQLite only),
    and the columns so moved (`table.column`). Queries naming their columns don't notice;
    `SELECT *` and positional INSERTs do, which is why the plan says so."""
    if newer.dialect is not Dialect.SQLITE:
        return down, ()
    changes: list[Change] = list(down.changes)
    cost = len(render(changes, newer))
    moved: list[str] = []
    for i, change in enumerate(changes):
        if not isinstance(change, AddColumn) or (change.after is None and not change.first):
            continue
        trial = [*changes[:i], AddColumn(change.table, change.column), *changes[i + 1 :]]
        try:
            trial_cost = len(render(trial, newer))
        except ValueError:
            continue  # the renderer refuses this order: keep the exact one
        if trial_cost < cost:
            changes, cost = trial, trial_cost
            moved.append(f"{change.table}.{change.column.name}")
    if not moved:
        return down, ()
    return replace(down, changes=tuple(changes), statements=tuple(render(changes, newer))), tuple(
        moved
    )
