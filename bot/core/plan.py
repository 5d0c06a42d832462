"""The plan: what rolling back takes, per schema source, as plain values.

Built by bot.planner from the sources at two commits; rendered to JSON here (a versioned,
documented contract) and to Markdown by bot.render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.down import Down
from bot.core.verdict import HandwrittenDown

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
class SourcePlan:
    """The rollback of one schema source."""

    kind: str
    path: str
    manifest: str | None
    dialect: str | None
    down: Down | None  # None when the source could not be planned (see problems)
    handwritten: HandwrittenDown
    files: tuple[CompanionFile, ...] = ()
    undone: tuple[str, ...] = ()  # migrations (paths) the rollback undoes
    problems: tuple[str, ...] = ()
    name: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.down is not None and self.down.complete and not self.problems


@dataclass(frozen=True)
class Plan:
    from_ref: str  # the deployed state (the database is here)
    to_ref: str  # the state to go back to
    revert: RevertSummary | None
    sources: tuple[SourcePlan, ...]
    problems: tuple[str, ...] = ()  # repository-level: unreadable config, unreadable files

    @property
    def plannable(self) -> bool:
        """False when nothing could be planned at all (the CLI exits 2)."""
        return any(s.down is not None for s in self.sources) or not self.problems


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
        "dialect": s.dialect,
        "method": down.method.value if down else None,
        "complete": s.complete,
        "undone": list(s.undone),
        "statements": [
            {"sql": st.sql, "change": st.change, "object": st.object}
            for st in (down.statements if down else ())
        ],
        "unmodelled": [
            {"file": u.file, "line": u.line, "sql": u.sql, "reason": u.reason}
            for u in (down.unmodelled if down else ())
        ],
        "handwritten_down": {
            "present": s.handwritten.present,
            "restores": s.handwritten.restores,
            "differences": list(s.handwritten.differences),
        },
        "files": [{"path": f.path, "content": f.content, "reason": f.reason} for f in s.files],
        "problems": list(s.problems),
        "notes": list(s.notes),
    }
