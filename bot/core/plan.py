"""The plan: what rolling back takes, per schema source, as plain values.

Built by bot.planner from the sources at two commits; rendered to JSON here (a versioned,
documented contract) and to Markdown by bot.markdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.core.alternatives import Alternative
from bot.core.author_down import HandwrittenDown
from bot.core.changes import change_object
from bot.core.down import Down
from bot.core.model import Dialect
from bot.core.render import Rendered
from bot.core.risk import Finding, Verdict, strictest
from bot.core.risk.analyse import Assessment, policy_as_config, statement_findings

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CompanionFile:
    """A file the companion change adds or rewrites so git describes the database again."""

    path: str
    content: str
    reason: str  # why it is there, for people reading the plan


@dataclass(frozen=True)
class RevertSummary:
    """What the plan undoes, as found in the commit (or the PR)."""

    commit: str
    reverts: tuple[str, ...]
    detected_by: str
    reapply: bool = False
    title: str = ""


@dataclass(frozen=True)
class Proof:
    """What `--verify` found: the plan run on a scratch engine, or why it was not."""

    engine: str | None
    verified: bool
    reason: str
    differences: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class LiveFacts:
    """What read-only inspection of the configured database said."""

    at_risk: tuple[tuple[str, int | None, str], ...] = ()  # (object, count, message)
    drift: tuple[str, ...] = ()
    planned_from_live: bool = False
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class SafeVariant:
    """The down with each data-loss step replaced by its safest data-preserving alternative."""

    statements: tuple[str, ...]
    restore: tuple[str, ...]  # for the day the change is re-applied
    chosen: tuple[Alternative, ...]


@dataclass(frozen=True)
class SourcePlan:
    """The rollback of one schema source."""

    kind: str
    path: str
    manifest: str | None
    dialect: Dialect | None
    down: Down | None  # None when the source could not be planned (see problems)
    handwritten: HandwrittenDown
    files: tuple[CompanionFile, ...] = ()
    undone: tuple[str, ...] = ()  # migrations (paths) the rollback undoes
    applies: tuple[str, ...] = ()  # migrations (paths) the target has and the database lacks
    problems: tuple[str, ...] = ()
    name: str | None = None
    notes: tuple[str, ...] = ()
    assessment: Assessment | None = None
    alternatives: tuple[Alternative, ...] = ()  # every alternative offered, per data-loss step
    safe_variant: SafeVariant | None = None
    proof: Proof | None = None
    live: LiveFacts | None = None
    dialect_from: str | None = None  # how the dialect was decided (bot.sources DialectFrom)
    # tables and columns (`t`, `t.c`) the down re-creates without the values they held
    comes_back_empty: tuple[str, ...] = ()
    # columns (`t.c`) re-added at the end of their table instead of their old position
    columns_at_end: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.down is not None and self.down.complete and not self.problems

    @property
    def verdict(self) -> Verdict:
        """Safe only when assessed, complete and proven where proof was asked for."""
        if self.down is None or self.assessment is None:
            return Verdict.NEEDS_APPROVAL
        verdicts = [self.assessment.verdict]
        if not self.complete:
            verdicts.append(Verdict.NEEDS_APPROVAL)  # missing information never relaxes it
        if self.proof is not None and not self.proof.verified:
            # failed, or could not run: either way nobody has seen this plan work
            verdicts.append(Verdict.NEEDS_APPROVAL)
        if self.handwritten.gates:
            # the companion change puts the author's down back in git: a person looks first
            verdicts.append(Verdict.NEEDS_APPROVAL)
        return strictest(verdicts)


class Direction(StrEnum):
    """Which way the plan moves the database through its migration history."""

    ROLLBACK = "rollback"  # undoes migrations the deployed state has (or no migration moves)
    FORWARD = "forward"  # applies migrations the deployed state lacks: not a rollback
    MIXED = "mixed"  # the two states diverged: undoes some, applies others


@dataclass(frozen=True)
class Plan:
    from_ref: str  # the deployed state (the database is here)
    to_ref: str  # the state to go back to
    revert: RevertSummary | None
    sources: tuple[SourcePlan, ...]
    problems: tuple[str, ...] = ()  # repository-level: unreadable config, unreadable files
    direction: Direction = Direction.ROLLBACK
    warnings: tuple[str, ...] = ()  # the plan may not be what was meant (direction)

    @property
    def verdict(self) -> Verdict:
        """A plan that may not be what was meant needs a person, whatever its steps."""
        doubt = [Verdict.NEEDS_APPROVAL] if self.warnings else []
        return strictest([s.verdict for s in self.sources] + doubt)

    @property
    def plannable(self) -> bool:
        """False when no source could be read at all (the CLI exits 2); a source that could
        not be planned is shown in the plan, which then needs a person."""
        return bool(self.sources) or not self.problems


def plan_json(plan: Plan) -> dict[str, Any]:
    """The JSON contract (docs/plan-json.md); additive changes only within a schema_version."""
    revert = plan.revert
    return {
        "schema_version": SCHEMA_VERSION,
        "from": plan.from_ref,
        "to": plan.to_ref,
        "revert": None
        if revert is None
        else {
            "commit": revert.commit,
            "reverts": list(revert.reverts),
            "detected_by": revert.detected_by,
            "reapply": revert.reapply,
            "title": revert.title,
        },
        "verdict": plan.verdict.value,
        "direction": plan.direction.value,
        "warnings": list(plan.warnings),
        "sources": [_source_json(s) for s in plan.sources],
        "problems": list(plan.problems),
    }


def _source_json(s: SourcePlan) -> dict[str, Any]:
    down = s.down
    return {
        "kind": s.kind,
        "path": s.path,
        "manifest": s.manifest,
        "name": s.name,
        "dialect": s.dialect.value if s.dialect else None,
        "dialect_from": s.dialect_from,
        "method": down.method.value if down else None,
        "complete": s.complete,
        "undone": list(s.undone),
        "applies": list(s.applies),
        "comes_back_empty": list(s.comes_back_empty),
        "columns_at_end": list(s.columns_at_end),
        "verdict": s.verdict.value,
        "policy": policy_as_config(s.assessment.policy) if s.assessment else None,
        "statements": [
            {
                "sql": st.sql,
                "change": st.change,
                "object": st.object,
                "risks": [_finding_json(f) for f in findings],
            }
            for st, findings in _statements_with_risks(s)
        ],
        "unmodelled": [
            {"file": u.file, "line": u.line, "sql": u.sql, "reason": u.reason}
            for u in (down.unmodelled if down else ())
        ],
        "unmodelled_listed": [
            {"file": u.file, "line": u.line, "sql": u.sql, "reason": u.reason}
            for u in (down.listed if down else ())
        ],
        "note": down.note if down else None,
        "handwritten_down": {
            "present": s.handwritten.present,
            "restores": s.handwritten.restores,
            "differences": list(s.handwritten.differences),
            "judged_by": s.handwritten.engine or "model",
            "failure": s.handwritten.failure,
            "not_run_on_engine": s.handwritten.not_run,
            "with_rows": list(s.handwritten.with_rows),
        },
        "files": [{"path": f.path, "content": f.content, "reason": f.reason} for f in s.files],
        "problems": list(s.problems),
        "notes": list(s.notes),
        "alternatives": [
            {
                "strategy": a.strategy.value,
                "replaces": change_object(a.replaces),
                "statements": list(a.statements),
                "restore": list(a.restore),
                "explanation": a.explanation,
                "keeps_older_app_working": a.keeps_older_app_working,
            }
            for a in s.alternatives
        ],
        "safe_variant": None
        if s.safe_variant is None
        else {
            "statements": list(s.safe_variant.statements),
            "restore": list(s.safe_variant.restore),
            "strategies": [a.strategy.value for a in s.safe_variant.chosen],
        },
        "verification": None
        if s.proof is None
        else {
            "engine": s.proof.engine,
            "verified": s.proof.verified,
            "reason": s.proof.reason,
            "differences": list(s.proof.differences),
            "seconds": round(s.proof.seconds, 3),
        },
        "data_at_risk": [
            {"object": o, "count": c, "message": m}
            for o, c, m in (s.live.at_risk if s.live else ())
        ],
        "drift": list(s.live.drift) if s.live else [],
        "planned_from_live": bool(s.live and s.live.planned_from_live),
        "live_problems": list(s.live.problems) if s.live else [],
    }


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "category": f.category.value,
        "level": f.level.value,
        "message": f.message,
        "object": f.object,
        "suppressed": f.suppressed,
    }


def _statements_with_risks(s: SourcePlan) -> list[tuple[Rendered, tuple[Finding, ...]]]:
    if s.down is None:
        return []
    if s.assessment is None:
        return [(r, ()) for r in s.down.statements]
    return statement_findings(s.assessment, s.down.statements)
