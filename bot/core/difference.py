"""What a schema difference is about, decided once for every report that words one.

The author's-down verdict ("leaves X in place") and live drift ("X exists on the live
database") word the same differences from two points of view; both take their subject and
side from here, so a change type added to the model is described in both or in neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.core import changes as ch
from bot.core.model import Column


class Side(Enum):
    """Where the object stands in the schema being judged, against the one wanted."""

    EXTRA = "extra"  # present, should not be
    MISSING = "missing"  # absent, should be there
    CHANGED = "changed"  # present in both, different


@dataclass(frozen=True)
class Difference:
    """One difference: the object as a noun phrase, its side, and attribute details."""

    subject: str
    side: Side
    # For CHANGED: (attribute, what the judged schema has, what is wanted), in a fixed order.
    details: tuple[tuple[str, str, str], ...] = ()


def difference(change: ch.Change) -> Difference | None:
    """The difference a change (judged schema → wanted schema) repairs; None if not reported."""
    extra, missing, changed = Side.EXTRA, Side.MISSING, Side.CHANGED
    match change:
        case ch.DropTable(t):
            return Difference(f"table {t.name}", extra)
        case ch.CreateTable(t):
            return Difference(f"table {t.name}", missing)
        case ch.DropColumn(t, col):
            return Difference(f"column {t}.{col.name}", extra)
        case ch.AddColumn(t, col):
            return Difference(f"column {t}.{col.name}", missing)
        case ch.AlterColumn(t, now, wanted):
            return Difference(f"column {t}.{now.name}", changed, column_details(now, wanted))
        case ch.DropIndex(idx):
            return Difference(f"index {idx.name}", extra)
        case ch.CreateIndex(idx):
            return Difference(f"index {idx.name}", missing)
        case ch.DropConstraint(t, con):
            return Difference(_constraint(con.kind, con.name, t), extra)
        case ch.AddConstraint(t, con):
            return Difference(_constraint(con.kind, con.name, t), missing)
        case ch.DropView(v):
            return Difference(f"view {v.name}", extra)
        case ch.CreateView(v):
            return Difference(f"view {v.name}", missing)
        case ch.ReplaceView(now, _):
            return Difference(f"view {now.name}", changed, (("definition", "", ""),))
        case ch.DropEnum(e):
            return Difference(f"type {e.name}", extra)
        case ch.CreateEnum(e):
            return Difference(f"type {e.name}", missing)
        case ch.AlterEnum(now, wanted):
            values = ("values", str(list(now.values)), str(list(wanted.values)))
            return Difference(f"type {now.name}", changed, (values,))
        case ch.DropSequence(s):
            return Difference(f"sequence {s.name}", extra)
        case ch.CreateSequence(s):
            return Difference(f"sequence {s.name}", missing)
        case ch.AlterSequence(now, _):
            return Difference(f"sequence {now.name}", changed, (("options", "", ""),))
        case ch.DropOpaque(o):
            return Difference(f"{o.kind} {o.identity}", extra)
        case ch.CreateOpaque(o):
            return Difference(f"{o.kind} {o.identity}", missing)
        case ch.ReplaceOpaque(now, _):
            return Difference(f"{now.kind} {now.identity}", changed, (("definition", "", ""),))
        case ch.SetTableComment(t, _, _):
            return Difference(f"table {t}", changed, (("comment", "", ""),))
        case ch.DropNamespace(n):
            return Difference(f"schema {n}", extra)
        case ch.CreateNamespace(n):
            return Difference(f"schema {n}", missing)
    return None


def column_details(now: Column, wanted: Column) -> tuple[tuple[str, str, str], ...]:
    """(attribute, now, wanted) for each attribute of a column that differs."""
    out: list[tuple[str, str, str]] = []
    if now.nullable != wanted.nullable:
        out.append(("null", _null(now), _null(wanted)))
    if now.type != wanted.type:
        out.append(("type", str(now.type), str(wanted.type)))
    if now.default != wanted.default:
        out.append(("default", _text(now.default), _text(wanted.default)))
    if now.auto != wanted.auto:
        out.append(("auto", now.auto or "none", wanted.auto or "none"))
    if now.generated != wanted.generated:
        out.append(("generated", "", ""))
    if now.collation != wanted.collation:
        out.append(("collation", _text(now.collation), _text(wanted.collation)))
    if now.comment != wanted.comment:
        out.append(("comment", "", ""))
    return tuple(out)


def _text(value: object) -> str:
    return "none" if value is None else str(value)


def _null(col: Column) -> str:
    return "nullable" if col.nullable else "NOT NULL"


def _constraint(kind: str, name: str | None, table: object) -> str:
    return f"{kind} {name} on {table}" if name else f"{kind} on {table}"
