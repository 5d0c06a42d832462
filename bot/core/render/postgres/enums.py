"""PostgreSQL enum types: created, altered in place where the engine can, re-created where
it can't (removing or reordering values)."""

from __future__ import annotations

import re

from bot.core.model import (
    Dialect,
    EnumType,
    QName,
)
from bot.core.render.names import ident, literal, qname
from bot.core.state import State

PG = Dialect.POSTGRES


def create_enum(enum: EnumType) -> str:
    values = ", ".join(literal(v, PG) for v in enum.values)
    return f"CREATE TYPE {qname(enum.name, PG)} AS ENUM ({values})"


def alter_enum(before: EnumType, after: EnumType, state: State) -> list[str]:
    """Renames and additions in place; anything else (removal, reorder) re-creates the type.

    Values at the same position with labels new on one side and gone on the other are renames
    (when both lists are equally long). Added values are positioned with BEFORE/AFTER so the
    type ends up in exactly the target order.
    """
    name = qname(after.name, PG)
    out: list[str] = []
    current = list(before.values)
    if len(before.values) == len(after.values):
        for i, (old, new) in enumerate(zip(before.values, after.values, strict=True)):
            if old != new and old not in after.values and new not in before.values:
                out.append(
                    f"ALTER TYPE {name} RENAME VALUE {literal(old, PG)} TO {literal(new, PG)}"
                )
                current[i] = new
    kept_in_order = [v for v in after.values if v in current] == current
    if not kept_in_order:
        return out + _recreate_enum(after, state)
    for i, value in enumerate(after.values):
        if value in current:
            continue
        if i > 0:
            where = f" AFTER {literal(after.values[i - 1], PG)}"
            current.insert(current.index(after.values[i - 1]) + 1, value)
        elif current:
            where = f" BEFORE {literal(current[0], PG)}"
            current.insert(0, value)
        else:
            where = ""
            current.append(value)
        out.append(f"ALTER TYPE {name} ADD VALUE {literal(value, PG)}{where}")
    return out


def _recreate_enum(enum: EnumType, state: State) -> list[str]:
    """Rename the old type away, create the new one, move every column over through text,
    then drop the old type. A row holding a removed value makes the column's cast fail."""
    name = qname(enum.name, PG)
    old = QName(f"{enum.name.name}__old", enum.name.schema)
    out = [
        f"ALTER TYPE {name} RENAME TO {ident(old.name, PG)}",
        create_enum(enum),
    ]
    for table in state.tables.values():
        actions: list[str] = []
        for column in table.columns:
            array = _enum_column(column.type, enum.name)
            if array is None:
                continue
            c = ident(column.name, PG)
            target = name + "[]" * array
            if column.default is not None:
                actions.append(f"ALTER COLUMN {c} DROP DEFAULT")
            actions.append(
                f"ALTER COLUMN {c} TYPE {target} USING {c}::text{'[]' * array}::{target}"
            )
            if column.default is not None:
                actions.append(f"ALTER COLUMN {c} SET DEFAULT {column.default}")
        if actions:
            out.append(f"ALTER TABLE {qname(table.name, PG)} " + ", ".join(actions))
    out.append(f"DROP TYPE {qname(old, PG)}")
    return out


def _enum_column(type_text: str, enum: QName) -> int | None:
    """How many array levels deep a column of this type holds `enum` (0 for the enum itself),
    or None when it holds something else."""
    base, depth = type_text.strip(), 0
    while base.endswith("[]"):
        base, depth = base[:-2].rstrip(), depth + 1
    parts = [
        p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
        for p in re.findall(r'"(?:[^"]|"")*"|[^."]+', base)
    ]
    if not parts or len(parts) > 2 or parts[-1] != enum.name:
        return None
    if len(parts) == 2 and parts[0] != (enum.schema or "public"):
        return None
    return depth
