"""PostgreSQL locks and rewrites: steps that block the table (or rewrite it) while they run.

Our renderer writes plain DDL (no CONCURRENTLY; NOT VALID only where the older schema had
the constraint so), as a down must be one transaction-safe script; these rules say what that
costs on a big table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Dialect,
    ForeignKey,
    PrimaryKey,
    QName,
    Table,
    Unique,
)
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule
from bot.core.risk.rules.coltypes import ColType, Family, parse_type
from bot.core.risk.rules.data_loss import enum_removed
from bot.core.risk.rules.might_fail import is_type

_LOCK = Category.LOCKING
PG = Dialect.POSTGRES


def binary_coercible(old: ColType, new: ColType) -> bool:
    """Type changes PostgreSQL does without rewriting the table (alter_table.html, "Notes")."""
    if old == new:
        return True
    if old.family is Family.STRING and new.family is Family.STRING:
        # varchar(n) -> varchar(m >= n) / varchar / text; char(n) pads, so it is rewritten
        if old.text.startswith(("char", "nchar")) or new.text.startswith(("char", "nchar")):
            return False
        return new.size is None or (old.size is not None and old.size <= new.size)
    if old.family is Family.DECIMAL and new.family is Family.DECIMAL:
        # more precision at the same scale, or unconstrained numeric
        return new.size is None or (
            old.size is not None and old.scale == new.scale and old.size <= new.size
        )
    return (old.text, new.text) in {("cidr", "inet")}


@rule(
    "pg-table-rewrite",
    _LOCK,
    Level.WARNING,
    "PostgreSQL rewrites the table and its indexes under an ACCESS EXCLUSIVE lock",
    on=(ch.AlterColumn, ch.AddColumn, ch.AlterEnum),
)
def pg_table_rewrite(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if ctx.dialect is not PG:
        return
    if isinstance(change, ch.AlterColumn) and ctx.has_rows(change.table):
        old, new = parse_type(change.before.type, PG), parse_type(change.after.type, PG)
        if not binary_coercible(old, new):
            yield Hit(
                f"changing {change.table}.{change.before.name} to {change.after.type} rewrites "
                f"{change.table} and its indexes; reads and writes wait until it ends",
                at=r"\bTYPE\b",
            )
    elif isinstance(change, ch.AddColumn) and ctx.has_rows(change.table):
        why = _rewriting_column(change.column)
        if why:
            yield Hit(
                f"adding {change.table}.{change.column.name} with {why} rewrites {change.table}; "
                "reads and writes wait until it ends"
            )
    elif isinstance(change, ch.AlterEnum) and recreates_enum(change):
        using = [
            str(t.name)
            for t in ctx.state.tables.values()
            if uses_enum(t, change.before.name) and ctx.has_rows(t.name)
        ]
        if using:
            yield Hit(
                f"re-creating enum {change.before.name} rewrites {', '.join(sorted(using))}",
                at=r"^\s*ALTER\s+TABLE\b",
            )


def recreates_enum(change: ch.AlterEnum) -> bool:
    """Whether the renderer re-creates the type (moving every column through text): for a
    removal or a reorder; renames and additions are done in place."""
    before, after = change.before.values, change.after.values
    kept = [v for v in after if v in before]
    return bool(enum_removed(before, after)) or kept != [v for v in before if v in after]


def uses_enum(table: Table, enum: QName) -> bool:
    return any(is_type(c.type, enum.name) for c in table.columns)


@rule(
    "index-without-concurrently",
    _LOCK,
    Level.WARNING,
    "building an index without CONCURRENTLY blocks writes to the table until it is built",
    on=(ch.CreateIndex, ch.AddConstraint),
)
def index_without_concurrently(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if ctx.dialect is not PG:
        return
    if isinstance(change, ch.CreateIndex) and ctx.has_rows(change.index.table):
        yield Hit(
            f"CREATE INDEX {change.index.name} blocks writes to {change.index.table} while it "
            "builds (CREATE INDEX CONCURRENTLY avoids that, outside a transaction)"
        )
    elif (
        isinstance(change, ch.AddConstraint)
        and isinstance(change.constraint, (Unique, PrimaryKey))
        and ctx.has_rows(change.table)
    ):
        yield Hit(
            f"adding {change.constraint.kind} on {change.table} builds its index under an ACCESS "
            "EXCLUSIVE lock (build it CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX)"
        )


@rule(
    "drop-index-locks",
    _LOCK,
    Level.INFO,
    "DROP INDEX without CONCURRENTLY takes a short ACCESS EXCLUSIVE lock on the table",
    on=(ch.DropIndex,),
)
def drop_index_locks(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if ctx.dialect is PG and isinstance(change, ch.DropIndex) and ctx.has_rows(change.index.table):
        yield Hit(
            f"DROP INDEX {change.index.name} waits for, then briefly blocks, every query on "
            f"{change.index.table}",
            at=r"\bDROP\s+INDEX\b",
        )


@rule(
    "set-not-null-scan",
    _LOCK,
    Level.WARNING,
    "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
    on=(ch.AlterColumn,),
)
def set_not_null_scan(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if not (
        ctx.dialect is PG
        and isinstance(change, ch.AlterColumn)
        and change.before.nullable
        and not change.after.nullable
        and ctx.has_rows(change.table)
    ):
        return
    table = ctx.state.table(change.table)
    # PostgreSQL 12+ skips the scan when a valid CHECK (col IS NOT NULL) already proves it
    if table is not None and any(_proves_not_null(c, change.before.name) for c in table.checks):
        return
    yield Hit(
        f"SET NOT NULL on {change.table}.{change.before.name} scans every row while holding "
        "an ACCESS EXCLUSIVE lock",
        at=r"\bSET NOT NULL\b",
    )


@rule(
    "constraint-without-not-valid",
    _LOCK,
    Level.WARNING,
    "a foreign key or CHECK added without NOT VALID checks every row while locking the table",
    on=(ch.AddConstraint,),
)
def constraint_without_not_valid(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        ctx.dialect is PG
        and isinstance(change, ch.AddConstraint)
        and isinstance(change.constraint, (ForeignKey, Check))
        and change.constraint.validated
        and ctx.has_rows(change.table)
    ):
        also = ""
        if isinstance(change.constraint, ForeignKey):
            also = f" (and {change.constraint.ref_table})"
        yield Hit(
            f"adding the {change.constraint.kind} on {change.table} checks every row while "
            f"blocking writes to it{also}; NOT VALID then VALIDATE CONSTRAINT avoids that"
        )


# Functions a default may call without forcing a rewrite: stable ones are evaluated once.
_STABLE = {
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "transaction_timestamp",
    "statement_timestamp",
    "current_user",
    "session_user",
    "lower",
    "upper",
    "to_jsonb",
    "jsonb_build_object",
    "json_build_object",
    "array",
    "row",
}
_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")


def _rewriting_column(column: Column) -> str | None:
    if column.generated is not None and column.generated_stored:
        return "a stored generated value"
    if column.auto in (AutoKind.IDENTITY_ALWAYS, AutoKind.IDENTITY_BY_DEFAULT):
        return "an identity"
    if column.auto in (AutoKind.SERIAL, AutoKind.BIGSERIAL, AutoKind.SMALLSERIAL):
        return "a serial (nextval) default"
    if column.default is not None:
        text = re.sub(r"'(?:[^']|'')*'", "''", column.default)
        volatile = [f for f in _CALL.findall(text) if f.lower().rsplit(".", 1)[-1] not in _STABLE]
        if volatile:
            return f"the volatile default {column.default}"
    return None


def _proves_not_null(check: Check, column: str) -> bool:
    expr = " ".join(check.expression.strip("() ").split()).lower()
    return expr in (f"{column.lower()} is not null", f'"{column.lower()}" is not null')
