"""What a rule is: a small pure function with a stable id, a category and a level."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.core.changes import Change, change_object
from bot.core.model import Dialect, QName, Table
from bot.core.risk import Category, Finding, Level
from bot.core.state import State


@dataclass(frozen=True)
class Hit:
    """A rule firing: what to tell the reviewer, and about which object when it isn't the
    change's own (`change_object`)."""

    message: str
    object: str | None = None
    # a pattern naming which of the change's statements carries it (the enum re-creation's
    # ALTER TABLE ... USING, not its RENAME); None: the change's first statement
    at: str | None = None


@dataclass(frozen=True)
class Context:
    """What a rule knows besides the change: the schema just before it.

    `state` must not be changed by rules. `fresh` holds the tables this down created itself
    before this step: they are empty, so checks about existing rows and long locks don't
    apply to them. `lock_timeout`: the shipped down sets one (the policy's `timeouts.lock`).
    """

    state: State
    fresh: frozenset[tuple[str, str]] = frozenset()
    lock_timeout: bool = True
    # A CreateTable that a SQLite rebuild fills with another table's rows: that table, as it
    # is just before (its rows were never checked against the new table's constraints).
    rebuilt_from: Table | None = None
    # ... and the name the rebuilt table has once the swap is done
    rebuilt_as: QName | None = None

    @property
    def dialect(self) -> Dialect:
        return self.state.dialect

    def has_rows(self, table: QName) -> bool:
        """Whether the table may hold rows (we never know it is non-empty, only when it's new)."""
        return self.state.key(table) not in self.fresh


Check = Callable[[Change, Context], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str  # stable, kebab-case: allow comments and policies name it
    category: Category
    level: Level
    reason: str  # one line, for docs/rules.md and reviewers
    check: Check
    # the kinds of change the check can fire on (None: any); the rest are never asked
    on: tuple[type[Change], ...] | None = None

    def run(self, change: Change, ctx: Context) -> list[Finding]:
        return [f for f, _ in self.located(change, ctx)]

    def located(self, change: Change, ctx: Context) -> list[tuple[Finding, str | None]]:
        """Each finding with the pattern of the statement that carries it (`Hit.at`)."""
        return [
            (
                Finding(
                    self.id,
                    self.category,
                    self.level,
                    hit.message,
                    hit.object if hit.object is not None else change_object(change),
                ),
                hit.at,
            )
            for hit in self.check(change, ctx)
        ]


def rule(
    rule_id: str,
    category: Category,
    level: Level,
    reason: str,
    on: tuple[type[Change], ...] | None = None,
) -> Callable[[Check], Rule]:
    """Declare a rule: `@rule("drop-column", Category.DATA_LOSS, Level.DANGER, "...",
    on=(ch.DropColumn,))`; `on` must name every kind of change the check can fire on."""

    def wrap(check: Check) -> Rule:
        return Rule(rule_id, category, level, reason, check, on)

    return wrap
