"""Might fail on existing data: the step can stop half-way on rows that don't fit.

We never know that a table has rows, only that it has none when this down created it;
every rule here stays quiet on such fresh tables.
"""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.model import Check, Column, Dialect, ForeignKey, PrimaryKey, Unique
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule
from bot.core.risk.rules.coltypes import holds, parse_type

_FAIL = Category.MIGHT_FAIL


def needs_value(column: Column) -> bool:
    """A NOT NULL column nothing fills in: no default, not generated, not auto-numbered."""
    return (
        not column.nullable
        and column.default is None
        and column.generated is None
        and column.auto is None
    )


@rule(
    "add-not-null-column",
    _FAIL,
    Level.WARNING,
    "a NOT NULL column without a default can't be added to a table that has rows",
)
def add_not_null_column(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    # MySQL fills existing rows with the type's implicit default (0, ''), so it doesn't fail
    if (
        isinstance(change, ch.AddColumn)
        and ctx.dialect is not Dialect.MYSQL
        and needs_value(change.column)
        and ctx.has_rows(change.table)
    ):
        yield Hit(
            f"adding {change.table}.{change.column.name} NOT NULL without a default fails "
            "on a non-empty table"
        )


@rule(
    "set-not-null",
    _FAIL,
    Level.WARNING,
    "making a column NOT NULL fails when a row holds NULL in it",
)
def set_not_null(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        isinstance(change, ch.AlterColumn)
        and change.before.nullable
        and not change.after.nullable
        and ctx.has_rows(change.table)
    ):
        yield Hit(
            f"making {change.table}.{change.before.name} NOT NULL fails if any row holds NULL in it"
        )


@rule(
    "add-unique",
    _FAIL,
    Level.WARNING,
    "a unique constraint or index fails when existing rows hold duplicates",
)
def add_unique(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        isinstance(change, ch.AddConstraint)
        and isinstance(change.constraint, Unique)
        and ctx.has_rows(change.table)
    ):
        cols = ", ".join(change.constraint.columns)
        yield Hit(f"adding UNIQUE ({cols}) on {change.table} fails if existing rows repeat a value")
    elif (
        isinstance(change, ch.CreateIndex)
        and change.index.unique
        and ctx.has_rows(change.index.table)
    ):
        yield Hit(
            f"unique index {change.index.name} on {change.index.table} fails to build if "
            "existing rows repeat a value"
        )


@rule(
    "add-primary-key",
    _FAIL,
    Level.WARNING,
    "a primary key fails when existing rows hold duplicates or NULLs",
)
def add_primary_key(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        isinstance(change, ch.AddConstraint)
        and isinstance(change.constraint, PrimaryKey)
        and ctx.has_rows(change.table)
    ):
        cols = ", ".join(change.constraint.columns)
        yield Hit(
            f"adding PRIMARY KEY ({cols}) on {change.table} fails if existing rows repeat a "
            "value or hold NULL"
        )


@rule(
    "add-foreign-key",
    _FAIL,
    Level.WARNING,
    "a foreign key is checked against existing rows; one pointing nowhere makes it fail",
)
def add_foreign_key(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        isinstance(change, ch.AddConstraint)
        and isinstance(change.constraint, ForeignKey)
        and ctx.has_rows(change.table)
    ):
        fk = change.constraint
        yield Hit(
            f"adding the foreign key ({', '.join(fk.columns)}) -> {fk.ref_table} on "
            f"{change.table} fails if an existing row references a missing {fk.ref_table} row"
        )


@rule(
    "add-check",
    _FAIL,
    Level.WARNING,
    "a CHECK constraint is checked against existing rows; one violating it makes it fail",
)
def add_check(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        isinstance(change, ch.AddConstraint)
        and isinstance(change.constraint, Check)
        and ctx.has_rows(change.table)
    ):
        yield Hit(
            f"adding CHECK ({change.constraint.expression}) on {change.table} fails if an "
            "existing row violates it"
        )


@rule(
    "type-cast-may-fail",
    _FAIL,
    Level.WARNING,
    "converting to another kind of type (text to integer) fails on values that don't convert",
)
def type_cast_may_fail(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if not isinstance(change, ch.AlterColumn) or not ctx.has_rows(change.table):
        return
    if ctx.dialect is Dialect.SQLITE and not _strict(ctx, change):
        return  # SQLite stores any value in any column unless the table is STRICT
    old = parse_type(change.before.type, ctx.dialect)
    new = parse_type(change.after.type, ctx.dialect)
    if old.family is not new.family and not holds(old, new, ctx.dialect):
        yield Hit(
            f"converting {change.table}.{change.before.name} from {change.before.type} to "
            f"{change.after.type} fails on any value that doesn't convert"
        )


def _strict(ctx: Context, change: ch.AlterColumn) -> bool:
    table = ctx.state.table(change.table)
    return table is not None and "STRICT" in (table.options or "").upper()
