"""What changes inside one table that exists on both sides: columns, keys, indexes."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.core import changes as ch
from bot.core.model import (
    Constraint,
    Dialect,
    ForeignKey,
    Index,
    PrimaryKey,
    Table,
    fold,
)
from bot.core.renaming import mentions

Key = tuple[str, str]
_T = TypeVar("_T")

# Rank of the opaque kinds others are built from (created in that order, dropped in reverse);
# any kind not listed here or in _ATTACHED_KINDS is a routine-like object (rank 2).
_BASE_KINDS = {"extension": 0, "domain": 1, "type": 1}
# Rank of opaque objects that hang off other objects: created last, dropped first.
_ATTACHED_KINDS = {"trigger": 0, "policy": 0, "rule": 0, "event": 1, "grant": 2, "comment": 2}


@dataclass
class _TableDiff:
    """What changes inside one table that exists on both sides."""

    before: Table
    after: Table
    drop_columns: list[ch.DropColumn] = field(default_factory=list)
    alter_columns: list[ch.AlterColumn] = field(default_factory=list)
    add_columns: list[ch.AddColumn] = field(default_factory=list)
    move_columns: list[ch.MoveColumn] = field(default_factory=list)
    drop_constraints: list[Constraint] = field(default_factory=list)  # PK, unique, check
    add_constraints: list[Constraint] = field(default_factory=list)
    drop_fks: list[ForeignKey] = field(default_factory=list)
    add_fks: list[ForeignKey] = field(default_factory=list)
    drop_indexes: list[Index] = field(default_factory=list)
    add_indexes: list[Index] = field(default_factory=list)

    @property
    def reshapes(self) -> bool:
        """Whether columns are dropped or retyped: views over the table must not exist then."""
        return bool(self.drop_columns) or any(retypes(a) for a in self.alter_columns)


def diff_table(before: Table, after: Table, dialect: Dialect) -> _TableDiff:
    td = _TableDiff(before, after)
    _diff_columns(td, dialect)

    def con_key(con: Constraint) -> Hashable:
        return ("name", fold(con.name, dialect)) if con.name is not None else ("value", con)

    def pk(table: Table) -> list[PrimaryKey]:
        return [table.primary_key] if table.primary_key else []

    gone_checks, new_checks = _changed(before.checks, after.checks, con_key)
    gone_uniques, new_uniques = _changed(before.uniques, after.uniques, con_key)
    gone_pk, new_pk = _changed(pk(before), pk(after), lambda _: "pk")
    td.drop_constraints = [*gone_checks, *gone_uniques, *gone_pk]
    td.add_constraints = [*new_pk, *new_uniques, *new_checks]
    td.drop_fks, td.add_fks = _changed(before.foreign_keys, after.foreign_keys, con_key)
    td.drop_indexes, td.add_indexes = _changed(
        before.indexes, after.indexes, lambda i: fold(i.name, dialect)
    )
    return td


def _diff_columns(td: _TableDiff, dialect: Dialect) -> None:
    """Column drops, alters and adds; positions tracked so adds land where the target has them."""
    name = td.after.name
    old = {fold(c.name, dialect): c for c in td.before.columns}
    kept = {fold(c.name, dialect) for c in td.after.columns}
    order = [c.name for c in td.before.columns]  # the table's columns as the steps leave them

    def index(col: str) -> int:
        return next(i for i, c in enumerate(order) if fold(c, dialect) == fold(col, dialect))

    redo = _generated_in_the_way(td, dialect)
    gone = [c for c in td.before.columns if fold(c.name, dialect) not in kept - redo]
    # A generated column reads the others, so it must go before the columns it reads.
    gone.sort(key=lambda c: c.generated is None)
    for col in gone:
        i = index(col.name)
        td.drop_columns.append(ch.DropColumn(name, col, *_position(order, i)))
        del order[i]
    for col in td.after.columns:
        prev = old.get(fold(col.name, dialect))
        if prev is not None and prev != col and fold(col.name, dialect) not in redo:
            td.alter_columns.append(ch.AlterColumn(name, prev, col))
    for j, col in enumerate(td.after.columns):
        if fold(col.name, dialect) in old.keys() - redo:
            continue
        i = 0 if j == 0 else index(td.after.columns[j - 1].name) + 1
        order.insert(i, col.name)
        td.add_columns.append(ch.AddColumn(name, col, *_position(order, i)))
    if dialect is Dialect.MYSQL:
        # MySQL puts a column anywhere (MODIFY ... AFTER), so the columns both sides have go
        # back to the target's order too: a column the newer schema moved FIRST moves back.
        # Those in the longest run already in order stay; each other one moves once.
        target = [c.name for c in td.after.columns]
        at = {fold(c, dialect): i for i, c in enumerate(order)}
        stay = _in_order([at[fold(c, dialect)] for c in target])
        for j, moved in enumerate(target):
            if j in stay:
                continue
            i = index(moved)
            stood: tuple[str | None, bool] = (order[i - 1], False) if i else (None, True)
            order.pop(i)
            to = 0 if j == 0 else index(target[j - 1]) + 1
            order.insert(to, moved)
            goes: tuple[str | None, bool] = (order[to - 1], False) if to else (None, True)
            td.move_columns.append(ch.MoveColumn(name, moved, *goes, *stood))
    if dialect is Dialect.SQLITE:
        # The columns both sides have may stand in another order (a table replaced by one
        # made elsewhere); SQLite's rebuild puts them back where the target has them.
        for j, col in enumerate(td.after.columns):
            i = index(col.name)
            if i != j:
                was = _position(order, i)
                order.insert(j, order.pop(i))
                td.move_columns.append(ch.MoveColumn(name, col.name, *_position(order, j), *was))


def _in_order(positions: list[int]) -> set[int]:
    """Indexes of a longest strictly increasing run (not necessarily contiguous) of `positions`."""
    best: list[list[int]] = []
    for j, p in enumerate(positions):
        runs = [run for run in best if positions[run[-1]] < p]
        longest: list[int] = max(runs, key=len) if runs else []
        best.append([*longest, j])
    found: list[int] = max(best, key=len) if best else []
    return set(found)


def _generated_in_the_way(td: _TableDiff, dialect: Dialect) -> set[str]:
    """Surviving generated columns to drop and re-add: every engine refuses to drop a column
    a generated column reads, and PostgreSQL also to retype it."""
    new = {fold(c.name, dialect): c for c in td.after.columns}
    blocked = {
        c.name
        for c in td.before.columns
        if (after := new.get(fold(c.name, dialect))) is None
        or (dialect is Dialect.POSTGRES and (c.type, c.collation) != (after.type, after.collation))
    }
    redo: set[str] = set()
    grew = True
    while grew:  # MySQL lets a generated column read another one
        more = {
            fold(c.name, dialect)
            for c in td.before.columns
            if c.generated is not None
            and fold(c.name, dialect) in new.keys() - redo
            and any(mentions(c.generated, b) for b in blocked)
        }
        redo |= more
        blocked |= {c.name for c in td.before.columns if fold(c.name, dialect) in more}
        grew = bool(more)
    return redo


def _position(order: list[str], i: int) -> tuple[str | None, bool]:
    """(after, first) for the column at `order[i]`; the end is (None, False), plain SQL."""
    if i == len(order) - 1:
        return None, False
    if i == 0:
        return None, True
    return order[i - 1], False


def retypes(alter: ch.AlterColumn) -> bool:
    b, a = alter.before, alter.after
    return (b.type, b.collation, b.auto, b.generated) != (a.type, a.collation, a.auto, a.generated)


def _changed(
    before: Iterable[_T], after: Iterable[_T], key: Callable[[_T], Hashable]
) -> tuple[list[_T], list[_T]]:
    """(to drop, to add): items whose key is gone or whose value changed, and their successors.

    Equal unnamed items count one by one: SQLite keeps the same CHECK twice (fuzz_cli 6476).
    """
    old = _counted(before, key)
    new = _counted(after, key)
    return (
        [x for k, x in old.items() if new.get(k) != x],
        [x for k, x in new.items() if old.get(k) != x],
    )


def _counted(items: Iterable[_T], key: Callable[[_T], Hashable]) -> dict[Hashable, _T]:
    """Items by key, a repeated key numbered by its occurrence."""
    out: dict[Hashable, _T] = {}
    seen: dict[Hashable, int] = {}
    for x in items:
        k = key(x)
        n = seen.get(k, 0)
        seen[k] = n + 1
        out[(k, n)] = x
    return out
