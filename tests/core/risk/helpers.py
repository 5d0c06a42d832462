"""Risk of rolling back a migration, computed the way the planner does: replay the history,
compute the down, assess it."""

from __future__ import annotations

from bot.core.down import Down, down_between
from bot.core.model import Dialect
from bot.core.replay import Migration, replay
from bot.core.risk import Policy
from bot.core.risk.analyse import Assessment, assess


def rollback(
    dialect: str, history: str, migration: str, policy: Policy | None = None
) -> tuple[Down, Assessment]:
    """The down undoing `migration` (applied after `history`) and its assessment."""
    d = Dialect.parse(dialect)
    older = [Migration("001_base.sql", history)]
    newer = [*older, Migration("002_change.sql", migration)]
    down = down_between(newer, older, d)
    replayed = replay(newer, d)
    allows = [a for step in replayed.steps for a in step.allows]
    assessment = assess(
        down.changes, replayed.schema, policy=policy, unmodelled=down.unmodelled, allows=allows
    )
    return down, assessment


def fired(dialect: str, history: str, migration: str, policy: Policy | None = None) -> set[str]:
    """The rule ids that fire on the rollback of `migration`."""
    return {f.rule for f in rollback(dialect, history, migration, policy)[1].findings()}


def fired_between(dialect: str, newer: str, older: str) -> set[str]:
    """The rule ids that fire going from schema `newer` back to the unrelated `older` (the
    schema diff path, for shapes no migration statement writes, like SQLite type changes)."""
    d = Dialect.parse(dialect)
    new = [Migration("schema.sql", newer)]
    down = down_between(new, [Migration("old.sql", older)], d)
    schema = replay(new, d).schema
    return {f.rule for f in assess(down.changes, schema).findings()}


def said(
    dialect: str, history: str, migration: str, rule: str, policy: Policy | None = None
) -> list[tuple[str, str, str]]:
    """What a reviewer reads for one rule on the rollback of `migration`: (level, object,
    message) of each of its findings, in order."""
    found = rollback(dialect, history, migration, policy)[1].findings()
    return [(f.level.value, f.object, f.message) for f in found if f.rule == rule]


def said_between(dialect: str, newer: str, older: str, rule: str) -> list[tuple[str, str, str]]:
    """`said` for the schema diff from `newer` back to `older` (see `fired_between`)."""
    d = Dialect.parse(dialect)
    new = [Migration("schema.sql", newer)]
    down = down_between(new, [Migration("old.sql", older)], d)
    found = assess(down.changes, replay(new, d).schema).findings()
    return [(f.level.value, f.object, f.message) for f in found if f.rule == rule]
