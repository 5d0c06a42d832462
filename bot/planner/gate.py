"""Gate a source's plan: risks and verdict, data-preserving alternatives, proof, live facts.

Called by the planner after the down is computed. Risk and alternatives are pure (bot.core);
proof runs the plan on scratch engines only; live inspection is opt-in and read-only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bot.core.alternatives import Alternative, alternatives, apply_alternatives, may_offer
from bot.core.author_down import HandwrittenDown
from bot.core.model import Schema
from bot.core.plan import Proof, SafeVariant, SourcePlan
from bot.core.render.session import preamble
from bot.core.replay import Allow, Step
from bot.core.risk import Category, Policy
from bot.core.risk.analyse import assess
from bot.core.state import State
from bot.sources.config import EngineConfig
from bot.sources.model import Format


def gate(
    source: SourcePlan, before: Schema, *, policy: Policy, allows: Sequence[Allow], label: str
) -> SourcePlan:
    """The source plan with its risk assessment and, where data would be lost, alternatives."""
    down = source.down
    if down is None:
        return source
    assessment = assess(
        down.changes,
        before,
        policy=policy,
        unmodelled=down.unmodelled,
        allows=allows,
        statements=down.statements,
    )
    offered: list[Alternative] = []
    state = State(before.dialect, before)
    for change in down.changes:
        if may_offer(change):
            offered += alternatives(change, state.snapshot(), label)
        state.apply(change)
    safe = None
    loses_data = any(
        f.category is Category.DATA_LOSS and f.suppressed is None for f in assessment.findings()
    )
    # What ships starts by limiting its own lock waits (bot/core/render/session.py).
    first = preamble(before.dialect, policy.timeouts) if down.statements else []
    if loses_data and offered:
        statements, restore, chosen = apply_alternatives(down.changes, before, label)
        if chosen:
            sets = tuple(r.sql for r in first)
            safe = SafeVariant(
                (*sets, *statements) if statements else (),
                (*sets, *restore) if restore else (),  # run later, on the live database too
                tuple(chosen),
            )
    down = replace(down, statements=(*first, *down.statements))
    return replace(
        source, down=down, assessment=assessment, alternatives=tuple(offered), safe_variant=safe
    )


def prove(
    source: SourcePlan,
    newer: Sequence[str],
    older: Sequence[str],
    *,
    mysql_url: str | None = None,
    postgres: bool = True,
    deployed: Schema | None = None,
    target: Schema | None = None,
    steps: Sequence[Step] = (),
    engine: EngineConfig | None = None,
    tool: Format | None = None,
) -> SourcePlan:
    """Prove what ships (the down, or a refused plan's data-keeping variant) on a scratch engine
    of the source's dialect, with rows in every table; never on a configured database."""
    from bot.engines.proof import EngineSettings, verify
    from bot.engines.shipped import runs_in_transaction, shipped_script

    if source.dialect is None:
        return source
    script = shipped_script(source, deployed, target, steps)
    if script is None:
        return source
    dialect = source.dialect
    text = "".join(f"{sql};\n" for sql in script.statements)
    transaction = runs_in_transaction(tool, source.files, dialect, [text])
    script = replace(script, transaction=transaction)
    settings = EngineSettings.of(engine or EngineConfig(), dialect, tool)
    proof = verify(
        dialect, newer, script, older, mysql_url=mysql_url, postgres=postgres, settings=settings
    )
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
            reason=f"{script.what} gives the reverted-to catalog, except the column order"
            " the plan chose",
            differences=(),
        )
    return replace(source, proof=proof)


def live_url(
    source: SourcePlan, databases: Mapping[str, object], env: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The read-only URL configured for this source (by its name or path), if any."""
    from bot.live import database_url
    from bot.sources.config import DatabaseRef

    ref = databases.get(source.name or "") or databases.get(source.path)
    if not isinstance(ref, DatabaseRef):
        return None, None
    return database_url(ref, env)


_COLUMN_ORDER = re.compile(r"table [^:]+: column_order ")


def only_column_order(differences: Sequence[str]) -> bool:
    """Whether a proof's differences are all in the order of columns."""
    return bool(differences) and all(_COLUMN_ORDER.match(d) for d in differences)


def judge_author_down(
    source: SourcePlan,
    newer: Sequence[str],
    downs: Sequence[str],
    older: Sequence[str],
    *,
    mysql_url: str | None = None,
    postgres: bool = True,
    deployed: Schema | None = None,
    target: Schema | None = None,
    steps: Sequence[Step] = (),
    engine: EngineConfig | None = None,
    tool: Format | None = None,
    exact_column_order: bool = False,
) -> SourcePlan:
    """Run the author's down (newest first) at the deployed state on a scratch engine, the way
    the migration tool runs a file, and compare with the reverted-to catalog.

    The engine is the judge: the model's verdict stays only when no engine could run it.
    """
    from bot.engines.proof import EngineSettings, Script, verify
    from bot.engines.shipped import runs_in_transaction, shipped_script

    h = source.handwritten
    if not h.present or source.dialect is None or not downs:
        return source
    dialect = source.dialect
    # the author's files run as they are, each the way the tool runs a file
    transaction = runs_in_transaction(tool, (), dialect, downs)
    ours = shipped_script(source, deployed, target, steps)
    # The author's down drops what the up added, like ours: the same losses are declared.
    script = Script(
        tuple(downs),
        "the author's down",
        (),
        ours.lost if ours else (),
        ours.renames if ours else (),
        transaction,
    )
    settings = EngineSettings.of(engine or EngineConfig(), dialect, tool)

    def prove(rows: bool) -> Proof:
        run = replace(script, rows=rows)
        return verify(
            dialect, newer, run, older, mysql_url=mysql_url, postgres=postgres, settings=settings
        )

    judged = author_verdict(h, prove, exact_column_order)
    return replace(source, handwritten=judged)


def author_verdict(
    h: HandwrittenDown, prove: Callable[[bool], Proof], exact_column_order: bool = False
) -> HandwrittenDown:
    """The engine's verdict on the author's down: `prove(rows)` runs it at the deployed
    state, with rows in every table or without. The model's verdict `h` stays only when no
    engine could run it.

    A down that restores the schema on empty tables but fails or loses values once the tables
    hold rows restores (the schema is right), and says what goes wrong with rows: that gates.
    """
    proof = prove(True)
    if proof.engine is None:
        return replace(h, not_run=proof.reason)
    if _restores(proof, exact_column_order):
        return _restored(h, proof)
    empty = prove(False)
    if empty.engine is not None and _restores(empty, exact_column_order):
        return replace(_restored(h, empty), with_rows=(proof.reason, *proof.differences))
    failed = "failed:" in proof.reason and not proof.differences
    # The model's plain words where it saw the same problem; the engine's lines otherwise.
    words = h.differences if h.restores is False else ()
    return replace(
        h,
        restores=False,
        differences=(*words, *(() if words else (proof.reason, *proof.differences))),
        engine=proof.engine,
        failure=proof.reason if failed else None,
    )


def _restores(proof: Proof, exact_column_order: bool) -> bool:
    return proof.verified or (only_column_order(proof.differences) and not exact_column_order)


def _restored(h: HandwrittenDown, proof: Proof) -> HandwrittenDown:
    if proof.verified:
        return replace(h, restores=True, differences=(), engine=proof.engine)
    # judged as our own down is: where column order is cosmetic, it is said, not held
    # against the author
    note = "only the column order differs, which this repository treats as cosmetic"
    return replace(h, restores=True, differences=(note, *proof.differences), engine=proof.engine)
