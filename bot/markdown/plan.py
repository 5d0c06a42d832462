"""Plans as Markdown, from the Jinja templates in templates/ (the text the bot posts)."""

from __future__ import annotations

import re

from bot.core.alternatives import Alternative
from bot.core.changes import change_object
from bot.core.plan import Direction, Plan, Proof, SafeVariant, SourcePlan
from bot.core.render import to_script
from bot.core.risk import Finding, Verdict
from bot.core.risk.analyse import statement_findings
from bot.markdown.env import environment, md

_DIALECT_FROM = {
    "config": "set in .rollback-plan.yml",
    "manifest": "from the manifest's database URL",
    "directory-name": "from the directory name",
    "option": "from --dialect",
    "sql": "guessed from the SQL",
}


class _View:
    """Small formatting helpers the template calls."""

    @staticmethod
    def title(plan: Plan) -> str:
        return {
            Direction.ROLLBACK: "Rollback plan",
            Direction.FORWARD: "Forward plan, not a rollback",
            Direction.MIXED: "Plan: undoes some migrations, applies others",
        }[plan.direction]

    @staticmethod
    def moves(plan: Plan) -> str:
        undone = sum(len(s.undone) for s in plan.sources)
        applies = sum(len(s.applies) for s in plan.sources)
        parts = [f"undoing {undone} migration(s)"] * bool(undone)
        parts += [f"applying {applies} migration(s) it lacks"] * bool(applies)
        return f", {' and '.join(parts)}" if parts else ""

    @staticmethod
    def script(source: SourcePlan) -> str:
        return to_script(list(source.down.statements)) if source.down else ""

    @staticmethod
    def verdict(v: Verdict) -> str:
        return {
            Verdict.SAFE: "safe",
            Verdict.NEEDS_APPROVAL: "needs approval (`/rollback-plan approve`)",
            Verdict.REFUSED: "refused: it loses data (`/rollback-plan approve data-loss` to accept)",
        }[v]

    @staticmethod
    def risks(source: SourcePlan) -> list[tuple[str, tuple[Finding, ...]]]:
        if source.down is None or source.assessment is None:
            return []
        pairs = statement_findings(source.assessment, source.down.statements)
        out = [(r.sql, _said_once(f)) for r, f in pairs if f]
        if source.assessment.unmodelled:
            out.append(("(statements that could not be modelled)", source.assessment.unmodelled))
        return out

    @staticmethod
    def lines(statements: tuple[str, ...]) -> str:
        return "".join(f"{s};\n" for s in statements)

    @staticmethod
    def strategies(variant: SafeVariant) -> str:
        kinds = sorted({a.strategy.value for a in variant.chosen})
        return " and ".join(f"**{k}**" for k in kinds)

    @staticmethod
    def object(alt: Alternative) -> str:
        return f"`{change_object(alt.replaces)}`"

    @staticmethod
    def proof_reason(proof: Proof) -> str:
        """The reason without the engine the sentence before it already names."""
        for lead in (f"on {proof.engine}: ", f"on {proof.engine}, "):
            if proof.engine and proof.reason.startswith(lead):
                return proof.reason[len(lead) :]
        return proof.reason

    @staticmethod
    def objects(names: tuple[str, ...]) -> str:
        return ", ".join(f"`{n}`" for n in names)

    @staticmethod
    def shas(shas: tuple[str, ...]) -> str:
        return ", ".join(f"`{s[:12]}`" for s in shas) or "an earlier change"

    @staticmethod
    def paths(paths: tuple[str, ...]) -> str:
        return ", ".join(f"`{p}`" for p in paths)

    @staticmethod
    def describe(source: SourcePlan) -> str:
        kind = source.kind.replace("-", " ")
        what = f"{kind}, {source.dialect}" if source.dialect else kind
        named = f" `{md(source.name)}`" if source.name else ""
        where = f", declared in `{source.manifest}`" if source.manifest else ""
        how = _DIALECT_FROM.get(source.dialect_from or "")
        return f"*{what}*{named}{where}" + (f" (dialect {how})" if how else "")

    @staticmethod
    def steps(source: SourcePlan) -> str:
        """Schema statements: the session timeouts every down starts with are not steps."""
        if source.down is None:
            return "none"
        return str(sum(s.change != "session" for s in source.down.statements))

    @staticmethod
    def handwritten(source: SourcePlan) -> str:
        h = source.handwritten
        if not h.present:
            return "none"
        if h.failure:
            return "fails on the engine"
        if h.restores is None:
            return "could not be judged"
        if h.restores and h.with_rows:
            return "restores the schema, not with rows"
        return "restores" if h.restores else f"does not restore ({len(h.differences)})"

    @staticmethod
    def status(source: SourcePlan) -> str:
        if source.down is None:
            return "not planned"
        return "complete" if source.complete else "incomplete: needs a person"


def plan_markdown(plan: Plan) -> str:
    text = environment().get_template("plan.md.j2").render(plan=plan, view=_View)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _said_once(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """A statement's findings without repeats: each change folded into one SQLite rebuild
    finds the rebuild ("p is re-created and every row copied") about its own column."""
    seen: set[tuple[str, str, str | None]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.rule, f.message, f.suppressed)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return tuple(out)
