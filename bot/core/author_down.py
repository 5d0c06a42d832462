"""Does the author's own down restore the previous schema? Said in plain words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import changes as ch
from bot.core.diff import diff
from bot.core.model import Column, Schema
from bot.core.replay import Migration, Unmodelled, replay


@dataclass(frozen=True)
class HandwrittenDown:
    """The verdict on the downs shipped with the reverted migrations."""

    present: bool
    restores: bool | None  # None: absent, or could not be judged (unmodelled statements)
    differences: tuple[str, ...] = ()
    unmodelled: tuple[Unmodelled, ...] = ()
    # Who judged: None for the model alone, else the engine and version that ran the down.
    engine: str | None = None
    # The server's error and the statement it rejected, when the engine refused the down.
    failure: str | None = None
    # Why no engine judged it, when one was asked for and could not run it.
    not_run: str | None = None

    @property
    def gates(self) -> bool:
        """A down the server rejects, or one nobody could judge, must not leave a plan safe."""
        return self.present and (self.failure is not None or self.restores is None)


def judge_downs(newer: Schema, older: Schema, downs: Sequence[Migration | None]) -> HandwrittenDown:
    """Replay the authors' downs (newest migration first) on `newer` and compare with `older`.

    `downs` holds one entry per reverted migration, newest first; None where it has no down.
    """
    if not downs or all(d is None for d in downs):
        return HandwrittenDown(present=False, restores=None)
    missing = [i for i, d in enumerate(downs) if d is None]
    present = [d for d in downs if d is not None]
    history = replay(present, newer.dialect, newer)
    problems: list[str] = []
    if missing:
        problems.append(f"{len(missing)} of {len(downs)} reverted migrations have no down")
    if all(not d.sql.strip() for d in present):
        problems.append("down is empty")
    problems += describe(history.schema, older)
    if history.unmodelled:
        return HandwrittenDown(True, None, tuple(problems), history.unmodelled)
    return HandwrittenDown(True, not problems, tuple(problems))


def describe(result: Schema, expected: Schema) -> list[str]:
    """How `result` (what the down leaves) differs from `expected`, one sentence each."""
    return [s for c in diff(result, expected) if (s := _sentence(c, result, expected))]


def _sentence(change: ch.Change, result: Schema, expected: Schema) -> str | None:
    match change:
        case ch.DropTable(t):
            return f"leaves table {t.name} in place"
        case ch.CreateTable(t):
            return f"drops table {t.name}, which existed before the up"
        case ch.DropColumn(t, col):
            return f"leaves column {t}.{col.name} in place"
        case ch.AddColumn(t, col):
            return f"does not restore column {t}.{col.name}"
        case ch.AlterColumn(t, before, after):
            return f"leaves {t}.{before.name} {_column_difference(before, after)}"
        case ch.DropIndex(idx):
            return f"leaves index {idx.name} in place"
        case ch.CreateIndex(idx):
            return f"does not restore index {idx.name}"
        case ch.DropConstraint(t, con):
            return f"leaves {con.kind} {con.name or ''} on {t} in place".replace("  ", " ")
        case ch.AddConstraint(t, con):
            return f"does not restore {con.kind} {con.name or ''} on {t}".replace("  ", " ")
        case ch.DropView(v):
            return f"leaves view {v.name} in place"
        case ch.CreateView(v):
            return f"does not restore view {v.name}"
        case ch.ReplaceView(before, _):
            return f"leaves view {before.name} with a different definition"
        case ch.DropEnum(e):
            return f"leaves type {e.name} in place"
        case ch.CreateEnum(e):
            return f"does not restore type {e.name}"
        case ch.AlterEnum(before, after):
            return f"leaves type {before.name} with values {list(before.values)} (was {list(after.values)})"
        case ch.DropSequence(s):
            return f"leaves sequence {s.name} in place"
        case ch.CreateSequence(s):
            return f"does not restore sequence {s.name}"
        case ch.AlterSequence(before, _):
            return f"leaves sequence {before.name} with different options"
        case ch.DropOpaque(o):
            return f"leaves {o.kind} {o.identity} in place"
        case ch.CreateOpaque(o):
            return f"does not restore {o.kind} {o.identity}"
        case ch.ReplaceOpaque(before, _):
            return f"leaves {before.kind} {before.identity} with the up's definition"
        case ch.SetTableComment(t, _, _):
            return f"leaves a different comment on table {t}"
        case ch.CreateNamespace(n):
            return f"does not restore schema {n}"
        case ch.DropNamespace(n):
            return f"leaves schema {n} in place"
    return None


def _column_difference(now: Column, was: Column) -> str:
    parts = []
    if now.nullable != was.nullable:
        parts.append("NOT NULL" if not now.nullable else "nullable")
    if now.type != was.type:
        parts.append(f"as {now.type} (was {was.type})")
    if now.default != was.default:
        parts.append(f"with default {now.default} (was {was.default})")
    if now.auto != was.auto:
        parts.append(f"{now.auto or 'without auto-generated values'} (was {was.auto or 'none'})")
    if now.generated != was.generated:
        parts.append("with a different generated expression")
    if now.collation != was.collation:
        parts.append(f"with collation {now.collation} (was {was.collation})")
    if now.comment != was.comment:
        parts.append("with a different comment")
    return ", ".join(parts) or "changed"
