"""Unmodelled: statements the engine could not understand. Never treated as harmless."""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.replay import Unmodelled
from bot.core.risk import Category, Finding, Level
from bot.core.risk.rules.base import Context, Hit, rule


@rule(
    "unmodelled",
    Category.UNMODELLED,
    Level.WARNING,
    "the engine could not tell what this statement does: a person must check the rollback",
)
def unmodelled(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    # Fires on statements, not on changes: see finding() below.
    return iter(())


def finding(u: Unmodelled) -> Finding:
    """The finding for one statement the engine could not model."""
    where = f"{u.file}:{u.line}" if u.file else "the down"  # no file: the down's own gap
    first = " ".join(u.sql.split())[:80]
    shown = f" ({first})" if first else ""
    return Finding(
        unmodelled.id,
        unmodelled.category,
        unmodelled.level,
        f"{where}{shown}: {u.reason}; its effect is not in this plan, check it by hand",
        where,
    )
