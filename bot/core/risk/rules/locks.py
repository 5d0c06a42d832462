"""Lock queues: a statement that needs an exclusive lock and may wait for it without limit.

While it waits behind one long-running query, every later query on the table queues behind
it (PostgreSQL's lock queue, MySQL's metadata locks): the table is down for everyone. The
shipped down sets a lock timeout first (bot/core/render/session.py), so this rule is quiet
unless the policy turned that off.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from bot.core import changes as ch
from bot.core.model import Dialect, ForeignKey, QName
from bot.core.risk import Category, Level
from bot.core.risk.rules.base import Context, Hit, rule
from bot.core.risk.rules.postgres import recreates_enum, uses_enum


def locked_tables(change: ch.Change, dialect: Dialect) -> list[QName]:
    """The existing tables (or views) a change locks exclusively: PostgreSQL's ACCESS
    EXCLUSIVE (alter_table.html, explicit-locking.html), any MySQL/MariaDB DDL's exclusive
    metadata lock."""
    match change:
        case ch.DropConstraint(t, ForeignKey(ref_table=ref)) if dialect is Dialect.POSTGRES:
            return [t, ref]  # PostgreSQL also drops the trigger on the referenced table
    table = _locked_table(change, dialect)
    return [] if table is None else [table]


def _locked_table(change: ch.Change, dialect: Dialect) -> QName | None:
    match change:
        case ch.AlterColumn(t, before, after):
            # PostgreSQL: a comment alone is COMMENT ON COLUMN, which lets queries through
            only_comment = replace(after, comment=before.comment) == before
            return None if only_comment and dialect is Dialect.POSTGRES else t
        case (
            ch.AddColumn(t)
            | ch.DropColumn(t)
            | ch.RenameColumn(t)
            | ch.DropConstraint(t)
            | ch.RenameConstraint(t)
        ):
            return t
        case ch.AddConstraint(t, constraint):
            # PostgreSQL: a foreign key takes SHARE ROW EXCLUSIVE, which lets reads through
            return None if dialect is Dialect.POSTGRES and isinstance(constraint, ForeignKey) else t
        case ch.DropTable(table):
            return table.name
        case ch.RenameTable(old, _):
            return old
        case ch.DropIndex(index):
            return index.table
        case ch.DropView(view) | ch.ReplaceView(view):
            return view.name
        case ch.CreateIndex(index) if dialect is Dialect.MYSQL:
            return index.table
        case (
            ch.RenameIndex(t) | ch.MoveColumn(t) | ch.SetTableComment(t) | ch.SetTableOptions(t)
        ) if dialect is Dialect.MYSQL:
            return t
    return None


@rule(
    "lock-without-timeout",
    Category.LOCKING,
    Level.WARNING,
    "an exclusive lock is waited for without a lock timeout: later queries queue behind it",
)
def lock_without_timeout(change: ch.Change, ctx: Context) -> Iterator[Hit]:
    if ctx.lock_timeout or ctx.dialect is Dialect.SQLITE:
        return
    tables = locked_tables(change, ctx.dialect)
    if isinstance(change, ch.AlterEnum) and recreates_enum(change):
        # every column of the type is moved to the new one with ALTER TABLE
        tables = [t.name for t in ctx.state.tables.values() if uses_enum(t, change.before.name)]
    lock = "an ACCESS EXCLUSIVE lock" if ctx.dialect is Dialect.POSTGRES else "a metadata lock"
    for table in tables:
        if ctx.has_rows(table):
            yield Hit(
                f"this step waits for {lock} on {table} with no lock timeout: behind one long "
                f"query, every later query on {table} queues behind it (set policy "
                "timeouts.lock)",
                str(table),
                at=r"^\s*ALTER\s+TABLE\b" if isinstance(change, ch.AlterEnum) else None,
            )
