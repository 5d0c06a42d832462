"""The SQL of the data-preserving alternatives: statements rendered on first use, the keys
that find a row again, and the copies out to an archive and back."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import overload

from bot.core import changes as ch
from bot.core.changes import Change
from bot.core.model import (
    AutoKind,
    Column,
    Dialect,
    ForeignKey,
    QName,
    Schema,
    Table,
    Unique,
    fold,
    qkey,
)
from bot.core.render import render
from bot.core.render.names import ident, qname


def type_name(text: str) -> str:
    """`public."Role"[]` → role: the type's own name, as a lookup key."""
    base = text.replace('"', "").replace("`", "").split("(")[0].strip().rstrip("[]").strip()
    return base.rsplit(".", 1)[-1].lower()


class SQL(Sequence[str]):
    """Statements rendered on first use: most alternatives offered are only described in the
    plan, never shown as SQL, and rendering against the whole schema is the costly part.
    Equal to (and hashed, copied, pickled as) the tuple of its statements."""

    def __init__(self, make: Callable[[], tuple[str, ...]]) -> None:
        self._make: Callable[[], tuple[str, ...]] | None = make
        self._sql: tuple[str, ...] = ()

    def _statements(self) -> tuple[str, ...]:
        if self._make is not None:
            self._sql, self._make = self._make(), None
        return self._sql

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...
    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        return self._statements()[i]

    def __len__(self) -> int:
        return len(self._statements())

    def __iter__(self) -> Iterator[str]:
        return iter(self._statements())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SQL):
            other = other._statements()
        return isinstance(other, tuple) and self._statements() == other

    def __hash__(self) -> int:
        return hash(self._statements())

    def __repr__(self) -> str:
        return repr(self._statements())

    def __reduce__(self) -> tuple[type[tuple[str, ...]], tuple[tuple[str, ...]]]:
        return tuple, (self._statements(),)


def lazy_sql(effect: Sequence[Change], before: Schema, *, first: Sequence[str] = ()) -> SQL:
    """`first`, then the statements that take `before` through `effect`, rendered on use."""
    changes = list(effect)

    def make() -> tuple[str, ...]:
        rendered = render(changes, before) if changes else []
        return (*first, *(r.sql for r in rendered))

    return SQL(make)


def among(name: str, names: Sequence[str], d: Dialect) -> bool:
    return fold(name, d) in {fold(n, d) for n in names}


def row_key(table: Table, d: Dialect, without: str) -> tuple[str, ...] | None:
    """Columns that identify a row after `without` is gone: the primary key, else a unique key
    whose columns are all NOT NULL (a NULL key can't be matched back). None if neither."""
    candidates: list[tuple[str, ...]] = []
    if table.primary_key is not None:
        candidates.append(table.primary_key.columns)
    candidates += [u.columns for u in table.uniques]
    candidates += [
        tuple(p.expression for p in i.parts)
        for i in table.indexes
        if i.unique and i.where is None and all(p.is_column and p.length is None for p in i.parts)
    ]
    for cols in candidates:
        if among(without, cols, d):
            continue
        defs = [table.column(c, d) for c in cols]
        primary = table.primary_key is not None and cols == table.primary_key.columns
        if all(c is not None and (primary or not c.nullable) for c in defs):
            return cols
    return None


def user_typed(table: Table, schema: Schema) -> dict[str, str]:
    """Columns of a PostgreSQL table whose type the schema defines (enum, domain, composite),
    by name, with that type. An archive holds them as text: a copy of the type's values would
    keep the type alive, and the down drops it."""
    if schema.dialect is not Dialect.POSTGRES:
        return {}
    types = {k[1].lower() for k in schema.enums}
    types |= {k[1].lower() for k, o in schema.opaque.items() if o.kind in ("type", "domain")}
    if not types:
        return {}
    return {c.name: c.type for c in table.columns if type_name(c.type) in types}


def typed_out(col: str, typed: dict[str, str], d: Dialect) -> str:
    c = ident(col, d)
    return f"{c}::text AS {c}" if col in typed else c


def typed_back(col: str, typed: dict[str, str], d: Dialect, prefix: str = "") -> str:
    c = f"{prefix}{ident(col, d)}"
    return f"{c}::{typed[col]}" if col in typed else c


def copy_out(
    source: QName,
    cols: tuple[str, ...],
    archive: QName,
    key: tuple[str, ...],
    d: Dialect,
    typed: dict[str, str],
) -> tuple[str, ...]:
    select = ", ".join(typed_out(c, typed, d) for c in cols)
    out = [f"CREATE TABLE {qname(archive, d)} AS SELECT {select} FROM {qname(source, d)}"]
    if d is Dialect.SQLITE:
        # The restore looks rows up by key once per row: without an index that is quadratic.
        index = QName(archive.name + "_key", archive.schema)
        out.append(
            f"CREATE INDEX {qname(index, d)} ON {ident(archive.name, d)} "
            f"({', '.join(ident(k, d) for k in key)})"
        )
    return tuple(out)


def update_from(
    table: Table,
    col: str,
    archive: QName,
    key: tuple[str, ...],
    d: Dialect,
    typed: dict[str, str],
) -> tuple[str, ...]:
    """UPDATE the re-added column from the archive, matching rows by key."""
    c = ident(col, d)
    if d is Dialect.POSTGRES:
        match = " AND ".join(f"live.{ident(k, d)} = archived.{ident(k, d)}" for k in key)
        return (
            f"UPDATE {qname(table.name, d)} AS live SET {c} = {typed_back(col, typed, d, 'archived.')} "
            f"FROM {qname(archive, d)} AS archived WHERE {match}",
        )
    if d is Dialect.MYSQL:
        match = " AND ".join(f"live.{ident(k, d)} = archived.{ident(k, d)}" for k in key)
        sets = [f"live.{c} = archived.{c}", *frozen_on_update(table, col, "live.")]
        return (
            f"UPDATE {qname(table.name, d)} AS live JOIN {qname(archive, d)} AS archived "
            f"ON {match} SET {', '.join(sets)}",
        )
    t = ident(table.name.name, d)
    match = " AND ".join(f"archived.{ident(k, d)} = {t}.{ident(k, d)}" for k in key)
    found = f"FROM {qname(archive, d)} AS archived WHERE {match}"
    return (
        f"UPDATE {qname(table.name, d)} SET {c} = (SELECT archived.{c} {found}) "
        f"WHERE EXISTS (SELECT 1 {found})",
    )


def same_row_update(table: Table, column: Column, source: str, d: Dialect) -> str:
    """Copy the deprecated column back. Where the column was NOT NULL, a NULL there is a row
    the older app wrote: it keeps what the re-applied change gave it."""
    sets = [f"{ident(column.name, d)} = {ident(source, d)}"]
    if d is Dialect.MYSQL:
        sets += frozen_on_update(table, column.name, "")
    sql = f"UPDATE {qname(table.name, d)} SET {', '.join(sets)}"
    return sql if column.nullable else f"{sql} WHERE {ident(source, d)} IS NOT NULL"


def frozen_on_update(table: Table, col: str, prefix: str) -> list[str]:
    """MySQL bumps ON UPDATE CURRENT_TIMESTAMP columns on any UPDATE unless they are assigned:
    assigning them to themselves keeps the rows identical."""
    d = Dialect.MYSQL
    return [
        f"{prefix}{ident(c.name, d)} = {prefix}{ident(c.name, d)}"
        for c in table.columns
        if c.on_update and fold(c.name, d) != fold(col, d)
    ]


def insert_back(table: Table, source: QName, d: Dialect, typed: dict[str, str]) -> tuple[str, ...]:
    """INSERT every archived row back into the re-created table, then move its sequences on."""
    cols = [c.name for c in table.columns if c.generated is None]
    listed = ", ".join(ident(c, d) for c in cols)
    selected = ", ".join(typed_back(c, typed, d) for c in cols)
    override = ""
    if d is Dialect.POSTGRES and any(c.auto is AutoKind.IDENTITY_ALWAYS for c in table.columns):
        override = " OVERRIDING SYSTEM VALUE"
    order = ""
    if table.primary_key is not None:
        # MySQL checks a self-referencing foreign key row by row: parents first.
        order = " ORDER BY " + ", ".join(ident(c, d) for c in table.primary_key.columns)
    out = [
        f"INSERT INTO {qname(table.name, d)} ({listed}){override} "
        f"SELECT {selected} FROM {qname(source, d)}{order}"
    ]
    if d is Dialect.POSTGRES:
        for c in table.columns:
            if c.auto is not None:
                # The inserted ids bypassed the sequence: move it past them.
                out.append(
                    f"SELECT setval(pg_get_serial_sequence("
                    f"'{pg_text(qname(table.name, d))}', '{pg_text(c.name)}'), "
                    f"COALESCE(MAX({ident(c.name, d)}), 0) + 1, false) FROM {qname(table.name, d)}"
                )
    return tuple(out)


def pg_text(value: str) -> str:
    return value.replace("'", "''")


def blocking_fks(table: Table, columns: tuple[str, ...] | None, d: Dialect) -> list[ForeignKey]:
    """Foreign keys (over `columns`, or all) that make deleting a referenced row fail."""
    out = []
    for fk in table.foreign_keys:
        if columns is not None and not any(among(c, columns, d) for c in fk.columns):
            continue
        if qkey(fk.ref_table, d) == qkey(table.name, d):
            continue  # a kept table's rows referencing each other don't concern the older app
        action = (fk.on_delete or "").upper()
        if action not in ("CASCADE", "SET NULL", "SET DEFAULT"):
            out.append(fk)
    return out


def detach_column(table: Table, col: str, d: Dialect) -> list[Change]:
    """Drop the indexes and constraints over `col`: their names would collide with the ones
    the re-applied change creates, and the older app must not be held to them."""
    word = re.compile(rf"(?<![\w$]){re.escape(col)}(?![\w$])", re.I)
    out: list[Change] = []
    keys: tuple[Unique | ForeignKey, ...] = (*table.uniques, *table.foreign_keys)
    for con in keys:
        if among(col, con.columns, d):
            out.append(ch.DropConstraint(table.name, con))
    for check in table.checks:
        if word.search(check.expression):
            out.append(ch.DropConstraint(table.name, check))
    for index in table.indexes:
        if any(
            among(col, (p.expression,), d) if p.is_column else word.search(p.expression)
            for p in index.parts
        ) or (index.where and word.search(index.where)):
            out.append(ch.DropIndex(index))
    return out


def with_table(schema: Schema, table: Table) -> Schema:
    tables = dict(schema.tables)
    tables[qkey(table.name, schema.dialect)] = table
    return replace(schema, tables=tables)
