"""Count, on the live data, what each change of a down destroys or may fail on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core import changes as ch
from bot.core.model import ForeignKey, PrimaryKey, QName, Unique
from bot.live.sessions import Problem, Session


@dataclass(frozen=True)
class AtRisk:
    """One figure of what the plan would destroy or trip over on the live data."""

    object: str  # "users.short_bio"
    count: int | None  # None: could not be counted (the reason is in `problems`)
    message: str  # "users.short_bio: 312,004 non-null values"


def count_at_risk(
    session: Session, changes: Sequence[ch.Change], problems: list[str]
) -> Iterator[AtRisk]:
    """One figure per change of the down that destroys data or may fail on existing rows."""
    for change in changes:
        counted = _risk_query(session, change)
        if counted is None:
            continue
        obj, sql, describe_count = counted
        try:
            ((count,),) = session.query(sql)
        except Problem as problem:
            problems.append(f"could not count {obj}: {problem}")
            yield AtRisk(obj, None, f"{obj}: not counted ({problem})")
            continue
        yield AtRisk(obj, int(count or 0), f"{obj}: {describe_count(int(count or 0))}")


def _risk_query(
    session: Session, change: ch.Change
) -> tuple[str, str, Callable[[int], str]] | None:
    """(object, counting SELECT, how to say the count) for a change that puts rows at risk."""
    q = session.quote
    match change:
        case ch.DropTable(table):
            return (
                str(table.name),
                f"SELECT count(*) FROM {session.table(table.name)}",
                lambda n: f"{n:,} {_plural(n, 'row')}",
            )
        case ch.DropColumn(table, column):
            return (
                f"{table}.{column.name}",
                f"SELECT count({q(column.name)}) FROM {session.table(table)}",
                lambda n: f"{n:,} non-null {_plural(n, 'value')}",
            )
        case ch.AlterColumn(table, before, after) if before.nullable and not after.nullable:
            return (
                f"{table}.{before.name}",
                f"SELECT count(*) FROM {session.table(table)} WHERE {q(before.name)} IS NULL",
                lambda n: f"{n:,} {_plural(n, 'row')} with NULL, which the new NOT NULL rejects",
            )
        case ch.AddColumn(table, column) if _required_without_default(column):
            return (
                f"{table}.{column.name}",
                f"SELECT count(*) FROM {session.table(table)}",
                lambda n: (
                    f"{n:,} existing {_plural(n, 'row')} without a value for the new NOT NULL column"
                ),
            )
        case ch.AddConstraint(table, PrimaryKey(columns=cols) | Unique(columns=cols) as key):
            return _duplicates(
                session, ch.change_object(change), table, cols, key.kind, key.kind == "primary key"
            )
        case ch.CreateIndex(index) if (
            index.unique and index.where is None and all(p.is_column for p in index.parts)
        ):
            cols = tuple(p.expression for p in index.parts)
            return _duplicates(session, index.name, index.table, cols, "unique index", False)
        case ch.AddConstraint(table, ForeignKey() as fk):
            child = " AND ".join(f"c.{q(c)} IS NOT NULL" for c in fk.columns)
            match_ = " AND ".join(
                f"p.{q(rc)} = c.{q(c)}" for c, rc in zip(fk.columns, fk.ref_columns, strict=False)
            )
            return (
                f"{table}.{fk.name or 'foreign key'}",
                f"SELECT count(*) FROM {session.table(table)} c WHERE {child} AND NOT EXISTS"
                f" (SELECT 1 FROM {session.table(fk.ref_table)} p WHERE {match_})",
                lambda n: f"{n:,} {_plural(n, 'row')} referencing a missing {fk.ref_table} row",
            )
    return None


def _duplicates(
    session: Session, obj: str, table: QName, columns: Sequence[str], kind: str, pk: bool
) -> tuple[str, str, Callable[[int], str]]:
    cols = ", ".join(session.quote(c) for c in columns)
    # NULLs never collide in a unique key; in a primary key they are violations themselves
    not_null = " AND ".join(f"{session.quote(c)} IS NOT NULL" for c in columns)
    nulls = " OR ".join(f"{session.quote(c)} IS NULL" for c in columns)
    sql = (
        f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {session.table(table)}"
        f" WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1) d"
    )
    if pk:
        sql = f"SELECT ({sql}) + (SELECT count(*) FROM {session.table(table)} WHERE {nulls})"
    what = "duplicated or NULL" if pk else "duplicated"
    return (
        obj,
        sql,
        lambda n: (
            f"{n:,} {_plural(n, 'row')} with {what} ({', '.join(columns)}),"
            f" which the new {kind} rejects"
        ),
    )


def _required_without_default(column: Any) -> bool:
    return (
        not column.nullable
        and column.default is None
        and column.generated is None
        and column.auto is None
    )


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
