"""Dropped integrity: a guarantee the database enforced is gone. Usually what a rollback
means to do, but worth showing."""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.model import Check, ForeignKey, PrimaryKey, Unique
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule

_INTEGRITY = Category.INTEGRITY


@rule(
    "drop-foreign-key",
    _INTEGRITY,
    Level.INFO,
    "rows may then reference rows that don't exist",
    on=(ch.DropConstraint,),
)
def drop_foreign_key(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.DropConstraint) and isinstance(change.constraint, ForeignKey):
        fk = change.constraint
        yield Hit(
            f"{change.table} ({', '.join(fk.columns)}) no longer has to reference an "
            f"existing {fk.ref_table} row"
        )


@rule(
    "drop-check",
    _INTEGRITY,
    Level.INFO,
    "values the CHECK refused are accepted again",
    on=(ch.DropConstraint,),
)
def drop_check(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.DropConstraint) and isinstance(change.constraint, Check):
        yield Hit(f"{change.table} no longer checks {change.constraint.expression}")


@rule(
    "drop-unique",
    _INTEGRITY,
    Level.INFO,
    "duplicate values are accepted again",
    on=(ch.DropConstraint, ch.DropIndex),
)
def drop_unique(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.DropConstraint) and isinstance(change.constraint, Unique):
        cols = ", ".join(change.constraint.columns)
        yield Hit(f"{change.table} ({cols}) may hold duplicates again")
    elif isinstance(change, ch.DropIndex) and change.index.unique:
        yield Hit(
            f"dropping unique index {change.index.name}: {change.index.table} may hold duplicates again"
        )


@rule(
    "drop-primary-key",
    _INTEGRITY,
    Level.INFO,
    "rows are no longer identified uniquely",
    on=(ch.DropConstraint,),
)
def drop_primary_key(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.DropConstraint) and isinstance(change.constraint, PrimaryKey):
        yield Hit(f"{change.table} loses its primary key: duplicate rows are accepted again")


@rule(
    "drop-not-null",
    _INTEGRITY,
    Level.INFO,
    "NULL is accepted again where it was refused",
    on=(ch.AlterColumn,),
)
def drop_not_null(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.AlterColumn) and not change.before.nullable and change.after.nullable:
        yield Hit(f"{change.table}.{change.before.name} accepts NULL again")
