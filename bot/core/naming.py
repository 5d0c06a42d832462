"""The names engines give to constraints and indexes the author left unnamed.

A down-migration has to drop them by name, so we must predict what the engine chose:
PostgreSQL's ChooseConstraintName (`<table>_<cols>_<suffix>`, truncated to 63 bytes, a number
appended on collision), MariaDB/MySQL's first-column names, `<table>_ibfk_<n>` foreign keys and
`CONSTRAINT_<n>` checks. SQLite's unnamed constraints have no name at all.
"""

from __future__ import annotations

import re
from collections.abc import Container

from bot.core.model import Dialect, Table

PG_MAX = 63


class Names:
    """Names in use: a live view of the schema's plus the ones given during one statement."""

    def __init__(self, base: Container[str] = frozenset()) -> None:
        self.base = base
        self.added: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self.added or name in self.base

    def add(self, name: str) -> None:
        self.added.add(name)


def _pg_name(parts: list[str], suffix: str, taken: Names) -> str:
    label = suffix
    n = 0
    while True:
        base = "_".join(parts)
        full = f"{base}_{label}"
        # PostgreSQL shortens the name parts, not the label, to fit NAMEDATALEN.
        overflow = len(full.encode()) - PG_MAX
        if overflow > 0:
            base = base.encode()[: max(len(base.encode()) - overflow, 1)].decode(errors="ignore")
            full = f"{base}_{label}"
        if full not in taken:
            return full
        n += 1
        label = f"{suffix}{n}"


def constraint_name(
    dialect: Dialect,
    table: Table,
    kind: str,
    columns: tuple[str, ...],
    taken: Names,
    column_level: bool = False,
) -> str | None:
    """The name the engine gives an unnamed constraint of `kind` on `columns`."""
    tname = table.name.name
    if dialect is Dialect.SQLITE:
        return None
    if dialect is Dialect.POSTGRES:
        if kind == "primary key":
            return _pg_name([tname], "pkey", taken)
        suffix = {"unique": "key", "foreign key": "fkey", "check": "check", "index": "idx"}[kind]
        return _pg_name([tname, *columns], suffix, taken)
    # MariaDB / MySQL
    local = {c.name.lower() for c in table.constraints() if c.name} | {
        i.name.lower() for i in table.indexes
    }
    if kind == "primary key":
        return "PRIMARY"
    if kind == "foreign key":
        used = [
            int(m.group(1))
            for c in table.foreign_keys
            if c.name and (m := re.fullmatch(rf"{re.escape(tname)}_ibfk_(\d+)", c.name))
        ]
        return f"{tname}_ibfk_{max(used, default=0) + 1}"
    if kind == "check":
        if column_level and columns:
            return columns[0]
        used = [
            int(m.group(1))
            for c in table.checks
            if c.name and (m := re.fullmatch(r"CONSTRAINT_(\d+)", c.name))
        ]
        return f"CONSTRAINT_{max(used, default=0) + 1}"
    # unique / index: named after the first column, `_2`, `_3`... on collision
    first = columns[0] if columns else "idx"
    if first.lower() not in local:
        return first
    n = 2
    while f"{first}_{n}".lower() in local:
        n += 1
    return f"{first}_{n}"


def serial_sequence(table: str, column: str) -> str:
    """The sequence PostgreSQL creates for a serial column: `<table>_<column>_seq`, shortened."""
    return _pg_name([table, column], "seq", Names())
