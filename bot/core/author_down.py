"""Does the author's own down restore the previous schema? Said in plain words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import changes as ch
from bot.core.diff import diff
from bot.core.difference import Side, difference
from bot.core.model import Schema
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
    # What goes wrong only with rows in the tables (the server's error, or values lost) when
    # the down restores the schema on empty tables: right on the schema, not safe to run.
    with_rows: tuple[str, ...] = ()

    @property
    def gates(self) -> bool:
        """A down the server rejects, one that fails or loses values on rows, or one nobody
        could judge, must not leave a plan safe."""
        return self.present and (
            self.failure is not None or self.restores is None or bool(self.with_rows)
        )


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
    return [s for c in diff(result, expected) if (s := _sentence(c))]


def _sentence(change: ch.Change) -> str | None:
    d = difference(change)
    if d is None:
        return None
    if d.side is Side.EXTRA:
        return f"leaves {d.subject} in place"
    if d.side is Side.MISSING:
        return f"does not restore {d.subject}"
    return f"leaves {d.subject} " + (", ".join(_detail(*x) for x in d.details) or "changed")


def _detail(attr: str, now: str, was: str) -> str:
    match attr:
        case "null":
            return now
        case "type":
            return f"as {now} (was {was})"
        case "auto":
            return f"with generated values {now} (was {was})"
        case "options":
            return "with different options"
        case "default" | "collation" | "values":
            return f"with {attr} {now} (was {was})"
    return f"with a different {attr}"
