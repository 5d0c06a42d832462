"""Schema changes: operations as data, each with its inverse.

Replay turns SQL into these, diff produces them from two schemas, inversion reverses a
migration's own list, and the renderers turn them into each dialect's DDL. A change carries
the full definition of whatever it removes, so its reverse can re-create it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.model import (
    Column,
    Constraint,
    EnumType,
    Index,
    Opaque,
    QName,
    Sequence,
    Table,
    View,
)


@dataclass(frozen=True)
class CreateNamespace:
    name: str

    def reverse(self) -> Change:
        return DropNamespace(self.name)


@dataclass(frozen=True)
class DropNamespace:
    name: str

    def reverse(self) -> Change:
        return CreateNamespace(self.name)


@dataclass(frozen=True)
class CreateTable:
    table: Table

    def reverse(self) -> Change:
        return DropTable(self.table)


@dataclass(frozen=True)
class DropTable:
    table: Table

    def reverse(self) -> Change:
        return CreateTable(self.table)


@dataclass(frozen=True)
class RenameTable:
    old: QName
    new: QName

    def reverse(self) -> Change:
        return RenameTable(self.new, self.old)


@dataclass(frozen=True)
class AddColumn:
    table: QName
    column: Column
    after: str | None = None  # the column it follows; None with first=False means "at the end"
    first: bool = False

    def reverse(self) -> Change:
        return DropColumn(self.table, self.column, self.after, self.first)


@dataclass(frozen=True)
class DropColumn:
    table: QName
    column: Column
    after: str | None = None  # where it stood, so the reverse can put it back
    first: bool = False

    def reverse(self) -> Change:
        return AddColumn(self.table, self.column, self.after, self.first)


@dataclass(frozen=True)
class RenameColumn:
    table: QName
    old: str
    new: str

    def reverse(self) -> Change:
        return RenameColumn(self.table, self.new, self.old)


@dataclass(frozen=True)
class AlterColumn:
    """Type, nullability, default, collation, comment or generation of one column."""

    table: QName
    before: Column
    after: Column

    def reverse(self) -> Change:
        return AlterColumn(self.table, self.after, self.before)


@dataclass(frozen=True)
class MoveColumn:
    """A column moved to another position (MySQL `MODIFY ... FIRST | AFTER x`)."""

    table: QName
    column: str
    after: str | None  # the column it follows afterwards; None with first=True: first
    first: bool
    was_after: str | None  # where it stood, so the reverse can put it back
    was_first: bool

    def reverse(self) -> Change:
        return MoveColumn(
            self.table, self.column, self.was_after, self.was_first, self.after, self.first
        )


@dataclass(frozen=True)
class AddConstraint:
    table: QName
    constraint: Constraint

    def reverse(self) -> Change:
        return DropConstraint(self.table, self.constraint)


@dataclass(frozen=True)
class DropConstraint:
    table: QName
    constraint: Constraint

    def reverse(self) -> Change:
        return AddConstraint(self.table, self.constraint)


@dataclass(frozen=True)
class RenameConstraint:
    """PostgreSQL `RENAME CONSTRAINT` (a primary key's or unique's index is renamed with it)."""

    table: QName
    old: str
    new: str

    def reverse(self) -> Change:
        return RenameConstraint(self.table, self.new, self.old)


@dataclass(frozen=True)
class CreateIndex:
    index: Index

    def reverse(self) -> Change:
        return DropIndex(self.index)


@dataclass(frozen=True)
class DropIndex:
    index: Index

    def reverse(self) -> Change:
        return CreateIndex(self.index)


@dataclass(frozen=True)
class RenameIndex:
    table: QName
    old: str
    new: str

    def reverse(self) -> Change:
        return RenameIndex(self.table, self.new, self.old)


@dataclass(frozen=True)
class SetTableComment:
    table: QName
    before: str | None
    after: str | None

    def reverse(self) -> Change:
        return SetTableComment(self.table, self.after, self.before)


@dataclass(frozen=True)
class SetTableOptions:
    """PostgreSQL `ALTER TABLE ... SET (...)` / `RESET (...)`: storage parameters, kept as
    Table.options spells them (`WITH (fillfactor=70)`); MariaDB's engine and row format;
    SQLite's WITHOUT ROWID / STRICT (a rebuild)."""

    table: QName
    before: str | None
    after: str | None

    def reverse(self) -> Change:
        return SetTableOptions(self.table, self.after, self.before)


@dataclass(frozen=True)
class SetClusterOn:
    """PostgreSQL `ALTER TABLE ... CLUSTER ON index` / `SET WITHOUT CLUSTER` (None)."""

    table: QName
    before: str | None
    after: str | None

    def reverse(self) -> Change:
        return SetClusterOn(self.table, self.after, self.before)


@dataclass(frozen=True)
class SetUnlogged:
    """PostgreSQL `ALTER TABLE ... SET UNLOGGED` / `SET LOGGED`."""

    table: QName
    before: bool
    after: bool

    def reverse(self) -> Change:
        return SetUnlogged(self.table, self.after, self.before)


@dataclass(frozen=True)
class CreateView:
    view: View

    def reverse(self) -> Change:
        return DropView(self.view)


@dataclass(frozen=True)
class DropView:
    view: View

    def reverse(self) -> Change:
        return CreateView(self.view)


@dataclass(frozen=True)
class ReplaceView:
    before: View
    after: View

    def reverse(self) -> Change:
        return ReplaceView(self.after, self.before)


@dataclass(frozen=True)
class CreateEnum:
    enum: EnumType

    def reverse(self) -> Change:
        return DropEnum(self.enum)


@dataclass(frozen=True)
class DropEnum:
    enum: EnumType

    def reverse(self) -> Change:
        return CreateEnum(self.enum)


@dataclass(frozen=True)
class AlterEnum:
    """Values added, renamed or removed; removal needs the type re-created in PostgreSQL."""

    before: EnumType
    after: EnumType

    def reverse(self) -> Change:
        return AlterEnum(self.after, self.before)


@dataclass(frozen=True)
class RenameEnum:
    old: QName
    new: QName

    def reverse(self) -> Change:
        return RenameEnum(self.new, self.old)


@dataclass(frozen=True)
class CreateSequence:
    sequence: Sequence

    def reverse(self) -> Change:
        return DropSequence(self.sequence)


@dataclass(frozen=True)
class DropSequence:
    sequence: Sequence

    def reverse(self) -> Change:
        return CreateSequence(self.sequence)


@dataclass(frozen=True)
class AlterSequence:
    before: Sequence
    after: Sequence

    def reverse(self) -> Change:
        return AlterSequence(self.after, self.before)


@dataclass(frozen=True)
class CreateOpaque:
    obj: Opaque

    def reverse(self) -> Change:
        return DropOpaque(self.obj)


@dataclass(frozen=True)
class DropOpaque:
    obj: Opaque

    def reverse(self) -> Change:
        return CreateOpaque(self.obj)


@dataclass(frozen=True)
class ReplaceOpaque:
    """CREATE OR REPLACE of a function/view-like object: the reverse restores the old body."""

    before: Opaque
    after: Opaque

    def reverse(self) -> Change:
        return ReplaceOpaque(self.after, self.before)


Change = (
    CreateNamespace
    | DropNamespace
    | CreateTable
    | DropTable
    | RenameTable
    | AddColumn
    | DropColumn
    | RenameColumn
    | AlterColumn
    | MoveColumn
    | AddConstraint
    | DropConstraint
    | RenameConstraint
    | CreateIndex
    | DropIndex
    | RenameIndex
    | SetTableComment
    | SetTableOptions
    | SetUnlogged
    | SetClusterOn
    | CreateView
    | DropView
    | ReplaceView
    | CreateEnum
    | DropEnum
    | AlterEnum
    | RenameEnum
    | CreateSequence
    | DropSequence
    | AlterSequence
    | CreateOpaque
    | DropOpaque
    | ReplaceOpaque
)


def reverse_all(changes: list[Change]) -> list[Change]:
    """The inverse of a sequence of changes: each reversed, in reverse order.

    A change immediately followed by its own reverse (an object created and dropped again)
    cancels out, so the down doesn't create something only to drop it.
    """
    out: list[Change] = []
    for change in reversed(changes):
        inverse = change.reverse()
        if out and out[-1].reverse() == inverse:
            out.pop()
        else:
            out.append(inverse)
    return out


def change_kind(change: Change) -> str:
    """A stable snake_case name for JSON output: `add_column`, `drop_table`..."""
    name = type(change).__name__
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


def change_object(change: Change) -> str:
    """The object a change is about, as users name it: `users`, `users.email`, `idx_users_email`."""
    match change:
        case CreateNamespace(name) | DropNamespace(name):
            return name
        case CreateTable(t) | DropTable(t):
            return str(t.name)
        case RenameTable(old, _):
            return str(old)
        case AddColumn(t, col) | DropColumn(t, col):
            return f"{t}.{col.name}"
        case RenameColumn(t, old, _):
            return f"{t}.{old}"
        case AlterColumn(t, before, _):
            return f"{t}.{before.name}"
        case MoveColumn(t, column):
            return f"{t}.{column}"
        case AddConstraint(t, con) | DropConstraint(t, con):
            return f"{t}.{con.name or con.kind}"
        case CreateIndex(idx) | DropIndex(idx):
            return idx.name
        case RenameIndex(_, old, _):
            return old
        case RenameConstraint(t, old, _):
            return f"{t}.{old}"
        case (
            SetTableComment(t, _, _)
            | SetTableOptions(t, _, _)
            | SetUnlogged(t, _, _)
            | SetClusterOn(t, _, _)
        ):
            return str(t)
        case CreateView(v) | DropView(v):
            return str(v.name)
        case ReplaceView(before, _):
            return str(before.name)
        case CreateEnum(e) | DropEnum(e):
            return str(e.name)
        case AlterEnum(before, _):
            return str(before.name)
        case RenameEnum(old, _):
            return str(old)
        case CreateSequence(s) | DropSequence(s):
            return str(s.name)
        case AlterSequence(before, _):
            return str(before.name)
        case CreateOpaque(o) | DropOpaque(o):
            return f"{o.kind} {o.identity}"
        case ReplaceOpaque(before, _):
            return f"{before.kind} {before.identity}"
    raise TypeError(f"not a change: {change!r}")
