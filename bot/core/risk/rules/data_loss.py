"""Data loss: after the step, rows or values are gone."""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.model import Dialect
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule
from bot.core.risk.rules.coltypes import conversion, parse_type, removed_values

_LOSS = Category.DATA_LOSS


@rule(
    "drop-schema",
    _LOSS,
    Level.DANGER,
    "drops the schema and every table and row still in it",
    on=(ch.DropNamespace,),
)
def drop_schema(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if not isinstance(change, ch.DropNamespace):
        return
    left = sorted(
        str(t.name)
        for t in ctx.state.tables.values()
        if ctx.state.same(t.name.schema or "", change.name)
    )
    if ctx.dialect is Dialect.MYSQL:
        # DROP SCHEMA is DROP DATABASE: it takes whatever is in it, modelled or not
        yield Hit(f"DROP SCHEMA {change.name} deletes every table in it and all their rows")
    elif left:
        yield Hit(
            f"schema {change.name} still holds {', '.join(left)}; dropping it deletes their rows"
        )


@rule(
    "drop-table",
    _LOSS,
    Level.DANGER,
    "every row of the table is deleted",
    on=(ch.DropTable, ch.DropOpaque),
)
def drop_table(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.DropTable):
        yield Hit(f"dropping table {change.table.name} deletes all of its rows")
    elif isinstance(change, ch.DropOpaque) and change.obj.kind == "virtual table":
        yield Hit(f"dropping virtual table {change.obj.identity} deletes all of its rows")


@rule(
    "drop-column",
    _LOSS,
    Level.DANGER,
    "every value stored in the column is deleted",
    on=(ch.DropColumn,),
)
def drop_column(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    # A generated column is computed from the others: dropping it loses nothing
    if isinstance(change, ch.DropColumn) and change.column.generated is None:
        col = f"{change.table}.{change.column.name}"
        yield Hit(f"dropping column {col} deletes every value written to it")


@rule(
    "lossy-type-change",
    _LOSS,
    Level.DANGER,
    "the new type changes values without an error (cut, rounded, time zone dropped)",
    on=(ch.AlterColumn,),
)
def lossy_type_change(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if not isinstance(change, ch.AlterColumn) or not ctx.has_rows(change.table):
        return
    old = parse_type(change.before.type, ctx.dialect)
    new = parse_type(change.after.type, ctx.dialect)
    if old == new or removed_values(old, new):
        return  # removed ENUM members are enum-values-removed's to report
    if not conversion(old, new, ctx.dialect).alters:
        return  # PostgreSQL refuses what doesn't fit: narrowing-may-fail's to report
    col = f"{change.table}.{change.before.name}"
    what = f"changing {col} from {change.before.type} to {change.after.type}"
    if ctx.dialect is Dialect.POSTGRES:
        yield Hit(f"{what} changes values without an error: they are rounded or cut", at=_TYPE)
    elif ctx.dialect is Dialect.MYSQL:
        yield Hit(f"{what} cannot keep every value: {MYSQL_MODE}", at=_TYPE)
    else:
        yield Hit(f"{what} converts values that look like another kind (text '007' to 7)")


# Whether MySQL cuts or refuses depends on the server's sql_mode, which we can't see.
MYSQL_MODE = (
    "outside strict mode MySQL/MariaDB cut or clamp the values that don't fit, silently; in "
    "strict mode (STRICT_TRANS_TABLES) the step fails on them instead. The server's sql_mode "
    "isn't known here, so this counts as data loss"
)
_TYPE = r"\b(?:TYPE|MODIFY|CHANGE)\b"


# MySQL inline ENUM/SET. PostgreSQL re-creates an enum type and casts every row to it: a
# removed value fails that cast (type-cast-may-fail), it is never lost.
@rule(
    "enum-values-removed",
    _LOSS,
    Level.DANGER,
    "rows holding a removed enum value lose it",
    on=(ch.AlterColumn,),
)
def enum_values_removed(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if isinstance(change, ch.AlterColumn) and ctx.has_rows(change.table):
        old = parse_type(change.before.type, ctx.dialect)
        gone = list(removed_values(old, parse_type(change.after.type, ctx.dialect)))
        if gone:
            col = f"{change.table}.{change.before.name}"
            yield Hit(
                f"removing {_list(gone)} from {col}: rows holding them lose their value; "
                + MYSQL_MODE,
                at=_TYPE,
            )


def enum_removed(before: tuple[str, ...], after: tuple[str, ...]) -> list[str]:
    """Labels `before` has and `after` lacks, leaving out renames: a label replaced at the same
    position by one that is new (as the PostgreSQL renderer writes RENAME VALUE), which rows
    follow."""
    renamed: set[str] = set()
    if len(before) == len(after):
        renamed = {
            old
            for old, new in zip(before, after, strict=True)
            if old != new and old not in after and new not in before
        }
    return [v for v in before if v not in after and v not in renamed]


def _list(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)
