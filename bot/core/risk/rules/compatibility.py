"""Compatibility: during the rollout the newer app's instances keep running against the
rolled-back schema until they are replaced; the older app comes back on it."""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule
from bot.core.risk.rules.might_fail import needs_value

_COMPAT = Category.COMPATIBILITY


@rule(
    "rename-breaks-newer-app",
    _COMPAT,
    Level.WARNING,
    "the newer app, still running during the rollout, uses the name this step takes away",
    on=(ch.RenameColumn, ch.RenameTable),
)
def rename_breaks_newer_app(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.RenameColumn):
        yield Hit(
            f"renaming {change.table}.{change.old} to {change.new} breaks queries of the newer "
            "app that still use the old name"
        )
    elif isinstance(change, ch.RenameTable):
        yield Hit(
            f"renaming table {change.old} to {change.new} breaks queries of the newer app "
            "that still use the old name"
        )


@rule(
    "drop-breaks-newer-app",
    _COMPAT,
    Level.WARNING,
    "the newer app, still running during the rollout, reads or writes what this step drops",
    on=(ch.DropColumn, ch.DropTable, ch.DropView),
)
def drop_breaks_newer_app(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    match change:
        case ch.DropColumn(table, column):
            yield Hit(
                f"queries of the newer app that use {table}.{column.name} fail once it's gone"
            )
        case ch.DropTable(table):
            yield Hit(f"queries of the newer app that use table {table.name} fail once it's gone")
        case ch.DropView(view):
            yield Hit(f"queries of the newer app that use view {view.name} fail once it's gone")


@rule(
    "required-column-breaks-newer-app",
    _COMPAT,
    Level.WARNING,
    "the newer app doesn't fill this NOT NULL column, so its inserts fail (give it a default)",
    on=(ch.AddColumn, ch.AlterColumn),
)
def required_column_breaks_newer_app(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    # Rows of a table this down creates are never written by the newer app.
    if (
        isinstance(change, ch.AddColumn)
        and needs_value(change.column)
        and ctx.has_rows(change.table)
    ):
        col = f"{change.table}.{change.column.name}"
    elif (
        isinstance(change, ch.AlterColumn)
        and change.before.nullable
        and needs_value(change.after)
        and ctx.has_rows(change.table)
    ):
        col = f"{change.table}.{change.before.name}"
    else:
        return
    yield Hit(
        f"{col} becomes NOT NULL without a default: inserts from the newer app, which "
        "doesn't set it, fail until it's replaced"
    )
