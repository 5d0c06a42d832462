"""Gate a source's plan: risks and verdict, data-preserving alternatives, proof, live facts.

Called by the planner after the down is computed. Risk and alternatives are pure (bot.core);
proof runs the plan on scratch engines only; live inspection is opt-in and read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from bot.core.alternatives import Alternative, alternatives, apply_alternatives
from bot.core.model import Schema
from bot.core.plan import Proof, SafeVariant, SourcePlan
from bot.core.replay import Allow
from bot.core.risk import Category, Policy
from bot.core.risk.analyse import assess
from bot.core.state import State


def gate(
    source: SourcePlan, before: Schema, *, policy: Policy, allows: Sequence[Allow], label: str
) -> SourcePlan:
    """The source plan with its risk assessment and, where data would be lost, alternatives."""
    down = source.down
    if down is None:
        return source
    assessment = assess(
        down.changes, before, policy=policy, unmodelled=down.unmodelled, allows=allows
    )
    offered: list[Alternative] = []
    state = State(before.dialect, before)
    for change in down.changes:
        offered += alternatives(change, state.snapshot(), label)
        state.apply(change)
    safe = None
    loses_data = any(
        f.category is Category.DATA_LOSS and f.suppressed is None for f in assessment.findings()
    )
    if loses_data and offered:
        statements, restore, chosen = apply_alternatives(down.changes, before, label)
        if chosen:
            safe = SafeVariant(tuple(statements), tuple(restore), tuple(chosen))
    return replace(source, assessment=assessment, alternatives=tuple(offered), safe_variant=safe)


def prove(
    source: SourcePlan,
    newer: Sequence[str],
    older: Sequence[str],
    *,
    mysql_url: str | None = None,
    postgres: bool = True,
) -> SourcePlan:
    """Run the plan on a scratch engine of the source's dialect (never a configured database)."""
    from bot.core.model import Dialect
    from bot.verify import verify

    if source.down is None or source.dialect is None:
        return source
    result = verify(
        Dialect(source.dialect),
        newer,
        [s.sql for s in source.down.statements],
        older,
        mysql_url=mysql_url,
        postgres=postgres,
    )
    proof = Proof(result.engine, result.verified, result.reason, result.differences, result.seconds)
    moved = [f"table {c.rsplit('.', 1)[0]}: column_order" for c in source.columns_at_end]
    if (
        not proof.verified
        and proof.differences
        and all(d.startswith(tuple(moved)) for d in proof.differences)
    ):
        # the plan appended these columns on purpose: the one difference it chose is not a failure
        proof = replace(
            proof,
            verified=True,
            reason=f"on {result.engine}: pre-revert history + down gives the same catalog as "
            "the reverted-to history, except the column order the plan chose",
            differences=(),
        )
    return replace(source, proof=proof)


def live_url(
    source: SourcePlan, databases: Mapping[str, object], env: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The read-only URL configured for this source (by its name or path), if any."""
    from bot.inspect import database_url
    from bot.sources.config import DatabaseRef

    ref = databases.get(source.name or "") or databases.get(source.path)
    if not isinstance(ref, DatabaseRef):
        return None, None
    return database_url(ref, env)
