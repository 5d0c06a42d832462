"""Risk of a rollback's steps: findings from small rules, and the verdict a policy gives them.

Pure: changes and schemas in, findings and verdicts out. Rules live one per module under
bot/core/risk/rules/, each with a stable id (docs/rules.md lists them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.render.session import Timeouts


class Category(StrEnum):
    DATA_LOSS = "data-loss"  # rows or values are gone after the step
    MIGHT_FAIL = "might-fail"  # existing data can make the step fail half-way
    LOCKING = "locking"  # blocks reads/writes or rewrites the table while it runs
    COMPATIBILITY = "compatibility"  # breaks the app version that still runs during rollout
    INTEGRITY = "integrity"  # removes a guarantee (FK, check, unique, NOT NULL)
    UNMODELLED = "unmodelled"  # the engine could not understand it: a person must look


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"


class Verdict(StrEnum):
    SAFE = "safe"
    NEEDS_APPROVAL = "needs-approval"
    REFUSED = "refused"

    @property
    def rank(self) -> int:
        return {"safe": 0, "needs-approval": 1, "refused": 2}[self.value]


def strictest(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: v.rank, default=Verdict.SAFE)


@dataclass(frozen=True)
class Finding:
    """One thing a rule found about one step."""

    rule: str  # stable id, e.g. "drop-column"
    category: Category
    level: Level
    message: str  # one sentence a reviewer understands
    object: str  # what it is about: "users.bio"
    suppressed: str | None = None  # the reason given where it was allowed, if it was


@dataclass(frozen=True)
class Policy:
    """How findings become a verdict. Defaults: data loss refused; might-fail, locking and
    unmodelled need approval; compatibility and integrity are shown but safe."""

    categories: Mapping[Category, Verdict] = field(
        default_factory=lambda: {
            Category.DATA_LOSS: Verdict.REFUSED,
            Category.MIGHT_FAIL: Verdict.NEEDS_APPROVAL,
            Category.LOCKING: Verdict.NEEDS_APPROVAL,
            Category.UNMODELLED: Verdict.NEEDS_APPROVAL,
            Category.COMPATIBILITY: Verdict.SAFE,
            Category.INTEGRITY: Verdict.SAFE,
        }
    )
    # rule id -> verdict, overriding its category's (e.g. {"index-without-concurrently": "safe"})
    # DROP INDEX's lock is brief: shown, but undoing an index does not wait for approval.
    rules: Mapping[str, Verdict] = field(default_factory=lambda: {"drop-index-locks": Verdict.SAFE})
    # rule ids allowed everywhere in this source (with a reason), like an allow comment
    allow: Mapping[str, str] = field(default_factory=dict)
    # what a shipped down sets first (lock_timeout, statement_timeout, lock_wait_timeout)
    timeouts: Timeouts = field(default_factory=Timeouts)

    def verdict(self, finding: Finding) -> Verdict:
        allowed = finding.suppressed is not None or finding.rule in self.allow
        by_rule = self.rules.get(finding.rule)
        base = self.categories.get(finding.category, Verdict.NEEDS_APPROVAL)
        chosen = Verdict.SAFE if allowed else by_rule if by_rule is not None else base
        # Losing data is never safe: an allow comment or setting can lower a refusal to
        # needing approval (a person still says yes), not further.
        if finding.category is Category.DATA_LOSS and chosen is Verdict.SAFE:
            return Verdict.NEEDS_APPROVAL
        return chosen
