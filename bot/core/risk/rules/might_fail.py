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
from bot.core.risk.rules.coltypes import ColType, Family, conversion, parse_type
from bot.core.risk.rules.data_loss import enum_removed

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
    on=(ch.AddColumn,),
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
    on=(ch.AlterColumn,),
)
def set_not_null(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        isinstance(change, ch.AlterColumn)
        and change.before.nullable
        and not change.after.nullable
        and ctx.has_rows(change.table)
    ):
        yield Hit(
            f"making {change.table}.{change.before.name} NOT NULL fails if any row holds NULL in it",
            at=r"\bSET NOT NULL\b",
        )


@rule(
    "add-unique",
    _FAIL,
    Level.WARNING,
    "a unique constraint or index fails when existing rows hold duplicates",
    on=(ch.AddConstraint, ch.CreateIndex),
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
    on=(ch.AddConstraint,),
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
    on=(ch.AddConstraint,),
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
    "rebuild-adds-constraint",
    _FAIL,
    Level.WARNING,
    "a table rebuilt with a constraint its rows were never checked against: a row that breaks "
    "it fails the copy (or, for a foreign key, PRAGMA foreign_key_check lists it)",
    on=(ch.CreateTable,),
)
def rebuild_adds_constraint(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    # A SQLite rebuild is a CreateTable filled with the rows of the table it replaces: what
    # AddConstraint or SET NOT NULL would be in place is hidden inside the new table's shape.
    old = ctx.rebuilt_from
    if old is None or not isinstance(change, ch.CreateTable):
        return
    new, d = change.table, ctx.dialect
    name = ctx.rebuilt_as or new.name

    def fk_key(fk: ForeignKey) -> tuple[object, ...]:
        cols = tuple(c.lower() for c in fk.columns)
        return cols, ctx.state.key(fk.ref_table), tuple(c.lower() for c in fk.ref_columns)

    had = {fk_key(fk) for fk in old.foreign_keys}
    for fk in new.foreign_keys:
        if fk_key(fk) not in had:
            yield Hit(
                at=_NEW_TABLE,
                message=f"rebuilding {name} adds the foreign key ({', '.join(fk.columns)}) -> "
                f"{fk.ref_table}: it fails if an existing row references a missing "
                f"{fk.ref_table} row",
            )
    checks = {" ".join(c.expression.lower().split()) for c in old.checks}
    for check in new.checks:
        if " ".join(check.expression.lower().split()) not in checks:
            yield Hit(
                at=_NEW_TABLE,
                message=f"rebuilding {name} adds CHECK ({check.expression}): it fails if an existing "
                "row violates it",
            )
    keys = {tuple(c.lower() for c in u.columns) for u in old.uniques}
    if old.primary_key is not None:
        keys.add(tuple(c.lower() for c in old.primary_key.columns))
    added = [u.columns for u in new.uniques]
    if new.primary_key is not None:
        added.append(new.primary_key.columns)
    for cols in added:
        if tuple(c.lower() for c in cols) not in keys:
            yield Hit(
                at=_NEW_TABLE,
                message=f"rebuilding {name} makes ({', '.join(cols)}) unique: it fails if existing "
                "rows repeat a value",
            )
    for col in new.columns:
        before = old.column(col.name, d)
        if before is None and needs_value(col):
            yield Hit(
                at=_NEW_TABLE,
                message=f"rebuilding {name} adds {col.name} NOT NULL with no default: the copied rows "
                "have no value for it",
            )
        elif before is not None and before.nullable and not col.nullable:
            yield Hit(
                at=_NEW_TABLE,
                message=f"rebuilding {name} makes {col.name} NOT NULL: it fails on a NULL in it",
            )


# the rebuild's statement that holds the new shape (its own PRAGMA and BEGIN come first)
_NEW_TABLE = r"\ACREATE TABLE"


@rule(
    "add-check",
    _FAIL,
    Level.WARNING,
    "a CHECK constraint is checked against existing rows; one violating it makes it fail",
    on=(ch.AddConstraint,),
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
    "narrowing-may-fail",
    _FAIL,
    Level.WARNING,
    "PostgreSQL refuses a value that doesn't fit the narrower type: the step fails, nothing lost",
    on=(ch.AlterColumn,),
)
def narrowing_may_fail(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if (
        ctx.dialect is not Dialect.POSTGRES
        or not isinstance(change, ch.AlterColumn)
        or not ctx.has_rows(change.table)
    ):
        return
    old = parse_type(change.before.type, ctx.dialect)
    new = parse_type(change.after.type, ctx.dialect)
    done = conversion(old, new, ctx.dialect)
    # a conversion that may also change values is lossy-type-change's, a cast type-cast's
    if done.fails and not done.alters and not _cast(old, new):
        yield Hit(
            f"changing {change.table}.{change.before.name} from {change.before.type} to "
            f"{change.after.type} fails on a value that doesn't fit (value too long, out of "
            "range, numeric field overflow); nothing is changed then",
            at=_TYPE,
        )


@rule(
    "type-cast-may-fail",
    _FAIL,
    Level.WARNING,
    "converting to another kind of type (text to integer) fails on values that don't convert",
    on=(ch.AlterEnum, ch.AlterColumn),
)
def type_cast_may_fail(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.AlterEnum) and ctx.dialect is Dialect.POSTGRES:
        yield from _enum_cast(change, ctx)
        return
    if not isinstance(change, ch.AlterColumn) or not ctx.has_rows(change.table):
        return
    if ctx.dialect is Dialect.SQLITE and not _strict(ctx, change):
        return  # SQLite stores any value in any column unless the table is STRICT
    old = parse_type(change.before.type, ctx.dialect)
    new = parse_type(change.after.type, ctx.dialect)
    if _cast(old, new) and conversion(old, new, ctx.dialect).fails:
        yield Hit(
            f"converting {change.table}.{change.before.name} from {change.before.type} to "
            f"{change.after.type} fails on any value that doesn't convert",
            at=_TYPE,
        )


def _cast(old: ColType, new: ColType) -> bool:
    """A conversion between kinds of type (text to integer), not within one (int to smallint).
    Integers, decimals and floats are one kind: numbers."""
    numbers = {Family.INTEGER, Family.DECIMAL, Family.FLOAT}
    return old.family is not new.family and not {old.family, new.family} <= numbers


def _enum_cast(change: ch.AlterEnum, ctx: Context) -> Iterator[Hit]:
    """A removed value: re-creating the type casts every row through text, and a row holding
    it stops the cast ("invalid input value for enum")."""
    gone = enum_removed(change.before.values, change.after.values)
    using = [
        f"{t.name}.{c.name}"
        for t in ctx.state.tables.values()
        if ctx.has_rows(t.name)
        for c in t.columns
        if is_type(c.type, change.before.name.name)
    ]
    if gone and using:
        values = ", ".join(f"'{v}'" for v in gone)
        yield Hit(
            f"removing {values} from enum {change.before.name} fails if a row of "
            f"{', '.join(sorted(using))} holds it: the cast to the re-created type refuses it",
            at=r"\bUSING\b",
        )


_TYPE = r"\b(?:TYPE|MODIFY|CHANGE)\b"


def _strict(ctx: Context, change: ch.AlterColumn) -> bool:
    table = ctx.state.table(change.table)
    return table is not None and "STRICT" in (table.options or "").upper()


def is_type(type_text: str, name: str) -> bool:
    """Whether a column's type is the enum `name` (or an array of it)."""
    return type_text.strip().rstrip("[] ").strip('"').rsplit(".", 1)[-1].strip('"') == name


# ON DELETE actions that let a referenced row go
_LETS_GO = {"CASCADE", "SET NULL", "SET DEFAULT"}


@rule(
    "sqlite-drop-table-referenced",
    _FAIL,
    Level.WARNING,
    "with foreign keys on, SQLite deletes a table's rows before dropping it: a row still "
    "referenced (ON DELETE RESTRICT, or from a table that stays) makes it fail",
    on=(ch.DropTable,),
)
def sqlite_drop_table_referenced(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    # its own rows referencing each other only stop the delete when checked row by row
    # (RESTRICT); another table's references are checked when the statement ends
    if ctx.dialect is not Dialect.SQLITE or not isinstance(change, ch.DropTable):
        return
    table = change.table
    if not ctx.has_rows(table.name):
        return
    key = ctx.state.key(table.name)
    own = [
        fk
        for fk in table.foreign_keys
        if ctx.state.key(fk.ref_table) == key and (fk.on_delete or "").upper() == "RESTRICT"
    ]
    others = [
        (t.name, fk)
        for k, t in ctx.state.tables.items()
        if k != key
        for fk in t.foreign_keys
        if ctx.state.key(fk.ref_table) == key and (fk.on_delete or "").upper() not in _LETS_GO
    ]
    if own:
        yield Hit(
            f"dropping {table.name} deletes its rows first (with foreign keys on), and "
            f"({', '.join(own[0].columns)}) references {table.name} ON DELETE RESTRICT: a row "
            "another row points at stops the DROP"
        )
    for name, fk in others:
        yield Hit(
            f"dropping {table.name} deletes its rows first (with foreign keys on): a row of "
            f"{name} whose ({', '.join(fk.columns)}) still points at one makes the DROP fail"
        )
