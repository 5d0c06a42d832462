"""SQLite table rebuilds: what ALTER TABLE can't do is done by copying the table."""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.model import Dialect
from bot.core.render import sqlite as render_sqlite
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule

_TABLE_CHANGES = (ch.AddColumn, ch.DropColumn, ch.AlterColumn, ch.AddConstraint, ch.DropConstraint)


@rule(
    "sqlite-table-rebuild",
    Category.LOCKING,
    Level.WARNING,
    "SQLite can't ALTER this in place: the table is re-created and every row copied",
    on=_TABLE_CHANGES,
)
def sqlite_table_rebuild(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if ctx.dialect is not Dialect.SQLITE or not isinstance(change, _TABLE_CHANGES):
        return
    if not ctx.has_rows(change.table):
        return
    # Ask the renderer itself, so the rule and the SQL we ship never disagree.
    try:
        statements = render_sqlite.render([change], ctx.state.snapshot())
    except ValueError:
        return  # a change SQLite can't express is refused by the renderer, not here
    if any(s.sql.upper().startswith("INSERT INTO") for s in statements):
        yield Hit(
            f"{change.table} is re-created and every row copied; the database is locked "
            "for writes until it's done"
        )
