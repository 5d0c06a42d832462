"""The names engines give to constraints and indexes the author left unnamed.

A down-migration has to drop them by name, so we must predict what the engine chose:
PostgreSQL's ChooseConstraintName (`<table>_<cols>_<suffix>`, truncated to 63 bytes, a number
appended on collision), MariaDB/MySQL's first-column names, `<table>_ibfk_<n>` foreign keys and
`CONSTRAINT_<n>` checks. SQLite's unnamed constraints have no name at all.
"""

from __future__ import annotations

import re
from collections.abc import Container

from bot.core.model import AutoKind, Column, Dialect, QName, Sequence, Table
from bot.core.render.names import ident, literal, qname

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


def object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's makeObjectName: `<name1>_<name2>_<label>`; over 63 bytes it trims the
    longer of the two names a byte at a time, never the label."""
    b1, b2 = name1.encode(), (name2 or "").encode()
    avail = PG_MAX - len(label.encode()) - 1 - (1 if name2 is not None else 0)
    n1, n2 = len(b1), len(b2)
    while n1 + n2 > avail:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    parts = [b1[:n1].decode(errors="ignore")]
    if name2 is not None:
        parts.append(b2[:n2].decode(errors="ignore"))
    return "_".join([*parts, label])


def _pg_name(parts: list[str], suffix: str, taken: Names) -> str:
    # ChooseConstraintName: the columns, joined, are the second name; on a collision the
    # label gets a number (`fkey1`) and the names are trimmed again to make room for it.
    name2 = "_".join(parts[1:]) if len(parts) > 1 else None
    label = suffix
    n = 0
    while True:
        full = object_name(parts[0], name2, label)
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
    serves: tuple[str, ...] | None = None,
) -> str | None:
    """The name the engine gives an unnamed constraint of `kind` on `columns`. `serves`
    (MySQL, a key added by ALTER TABLE): the leading plain columns of the new key, which
    supersedes the indexes InnoDB made for foreign keys on a prefix of them; InnoDB drops
    those before naming it, so their names are free."""
    tname = table.name.name
    if dialect is Dialect.SQLITE:
        return None
    if dialect is Dialect.POSTGRES:
        if kind == "primary key":
            return _pg_name([tname], "pkey", taken)
        suffix = {"unique": "key", "foreign key": "fkey", "check": "check", "index": "idx"}[kind]
        return _pg_name([tname, *columns], suffix, taken)
    # MariaDB / MySQL
    # keys and indexes share one namespace, apart from CHECK and FOREIGN KEY names: a
    # column's own CHECK named `d` leaves `d` free for a UNIQUE (d, c)
    keys = [table.primary_key, *table.uniques]
    lead = [c.lower() for c in serves or ()]
    local = {k.name.lower() for k in keys if k is not None and k.name} | {
        i.name.lower()
        for i in table.indexes
        if not (
            i.implicit and lead and lead[: len(i.parts)] == [p.expression.lower() for p in i.parts]
        )
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


def sequence_name(table: str, column: str, taken: Container[str]) -> str:
    """The name ChooseRelationName gives that sequence when `taken` holds some: `..._seq1`..."""
    return _pg_name([table, column], "seq", Names(taken))


# PostgreSQL's serial and identity columns, and the sequence text the engine shows for them
SERIAL_SEQUENCE_TYPE = {
    AutoKind.SERIAL: "integer",
    AutoKind.BIGSERIAL: "bigint",
    AutoKind.SMALLSERIAL: "smallint",
}
IDENTITIES = frozenset({AutoKind.IDENTITY_ALWAYS, AutoKind.IDENTITY_BY_DEFAULT})


def implied_sequence(table: Table, col: Column) -> Sequence | None:
    """The sequence a serial column stands for (PostgreSQL), as an object of its own."""
    kind = SERIAL_SEQUENCE_TYPE.get(col.auto) if col.auto else None
    if kind is None:
        return None
    name = QName(serial_sequence(table.name.name, col.name), table.name.schema)
    return Sequence(name, f"AS {kind}", owner_text(table.name, col.name))


def nextval(seq: QName) -> str:
    """A default reading `seq`, as PostgreSQL shows it."""
    return f"nextval({literal(qname(seq, Dialect.POSTGRES), Dialect.POSTGRES)}::regclass)"


def owner_text(table: QName, column: str) -> str:
    return f"{qname(table, Dialect.POSTGRES)}.{ident(column, Dialect.POSTGRES)}"
