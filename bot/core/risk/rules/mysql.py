"""MySQL/MariaDB table copies: ALTERs that only ALGORITHM=COPY can do.

A copy rebuilds the table row by row and blocks writes for the whole time. What InnoDB does
in place or instantly (adding a column, extending a VARCHAR within its length byte, adding
ENUM members at the end, renaming) stays quiet.
"""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import changes as ch
from bot.core.model import AutoKind, Column, Dialect, PrimaryKey
from bot.core.render.mysql_options import storage_sql
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule
from bot.core.risk.rules.coltypes import ColType, Family, parse_type

MY = Dialect.MYSQL


def in_place_type_change(old: ColType, new: ColType, before: Column) -> bool:
    """Type changes InnoDB does without a copy (innodb-online-ddl-operations.html)."""
    if old == new:
        return True
    if old.family is Family.STRING and new.family is Family.STRING:
        if not (old.text.startswith("varchar") and new.text.startswith("varchar")):
            return False
        if old.size is None or new.size is None or new.size < old.size:
            return False
        # VARCHAR stores its length in 1 byte up to 255 bytes, 2 beyond; crossing that line
        # needs a copy. Bytes per character from the collation, utf8mb4 (4) when unknown.
        per_char = _bytes_per_char(before.collation)
        return (old.size * per_char < 256) == (new.size * per_char < 256)
    if old.family is Family.ENUM and new.family is Family.ENUM:
        # members added at the end only: the stored numbers of the old ones don't change
        return old.is_set == new.is_set and new.values[: len(old.values)] == old.values
    return False


@rule(
    "mysql-table-copy",
    Category.LOCKING,
    Level.WARNING,
    "MySQL/MariaDB can only do this with ALGORITHM=COPY: the table is copied, writes blocked",
    on=(
        ch.AlterColumn,
        ch.AddColumn,
        ch.AddConstraint,
        ch.DropConstraint,
        ch.SetTableOptions,
        ch.CreateIndex,
    ),
)
def mysql_table_copy(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if ctx.dialect is not MY:
        return
    why: str | None = None
    table = None
    match change:
        case ch.AlterColumn(t, before, after) if ctx.has_rows(t):
            table = t
            old, new = parse_type(before.type, MY), parse_type(after.type, MY)
            if not in_place_type_change(old, new, before):
                why = f"changing {t}.{before.name} from {before.type} to {after.type}"
            elif (before.collation or "") != (after.collation or "") or _binary(before) != _binary(
                after
            ):
                why = f"changing the collation of {t}.{before.name}"
        case ch.AddColumn(t, column) if ctx.has_rows(t):
            table = t
            if column.generated is not None and column.generated_stored:
                why = f"adding the stored generated column {t}.{column.name}"
            elif column.auto is AutoKind.AUTO_INCREMENT:
                why = f"adding the AUTO_INCREMENT column {t}.{column.name}"
        case ch.AddConstraint(t, PrimaryKey()) | ch.DropConstraint(t, PrimaryKey()) if ctx.has_rows(
            t
        ):
            table = t
            verb = "adding" if isinstance(change, ch.AddConstraint) else "dropping"
            why = f"{verb} the primary key of {t}"
        case ch.SetTableOptions(t, before_options, after_options) if ctx.has_rows(t):
            # a new engine or row format is a rebuild of the whole table
            table = t
            why = f"changing {t} to {storage_sql(before_options, after_options)}"
        case ch.CreateIndex(index) if ctx.has_rows(index.table):
            table = index.table
            kind = (index.kind or "").upper()
            if kind in ("FULLTEXT", "SPATIAL"):
                why = f"building the {kind} index {index.name}"
    if why is not None:
        yield Hit(f"{why} copies {table} row by row and blocks writes to it until done")


def _binary(column: Column) -> bool:
    """`VARCHAR(n) BINARY`: the charset's binary collation, kept on the type."""
    return column.type.upper().endswith(" BINARY")


def _bytes_per_char(collation: str | None) -> int:
    name = (collation or "").lower()
    if name.startswith(("latin", "ascii", "binary", "cp125")):
        return 1
    if name.startswith(("utf8mb3", "utf8_")):
        return 3
    return 4
