"""Data-preserving alternatives to the steps of a down that lose data.

A down that drops a column, drops a table, narrows a type or removes enum values destroys
what was written since the change. For each such step this module offers, per dialect:

- keep: leave the object in place and make it harmless to the older app (no data moves);
- archive: copy the key and the data to `_rollback_<label>_...`, then perform the step;
- rename: move the object aside to `_deprecated_<label>_...`, detached from keys and indexes,
  for a later, separately reviewed change to drop.

Every alternative comes with the restore script for the day the change is re-applied: it runs
*after* the re-applied migration (which re-creates the column or table empty) and brings the
values back, then removes the archive or the deprecated object. Pure: schemas in, SQL out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from enum import StrEnum

from bot.core import changes as ch
from bot.core.alternatives_sql import (
    SQL,
    among,
    blocking_fks,
    copy_out,
    detach_column,
    insert_back,
    lazy_sql,
    row_key,
    same_row_update,
    type_name,
    typed_out,
    update_from,
    user_typed,
    with_table,
)
from bot.core.changes import Change
from bot.core.model import (
    Column,
    Constraint,
    Dialect,
    EnumType,
    ForeignKey,
    PrimaryKey,
    QName,
    Schema,
    Table,
    Unique,
    qkey,
)
from bot.core.narrowing import narrows
from bot.core.render import render
from bot.core.render.names import qname
from bot.core.state import State, StateError, apply_changes


class Strategy(StrEnum):
    KEEP = "keep"
    ARCHIVE = "archive"
    RENAME = "rename"


# The order `safest` prefers; see its docstring for why.
_PREFERENCE = (Strategy.KEEP, Strategy.ARCHIVE, Strategy.RENAME)


@dataclass(frozen=True)
class Alternative:
    """One way to take a data-losing step back without losing the data."""

    strategy: Strategy
    replaces: Change  # the data-loss step
    statements: Sequence[str]  # SQL that replaces that step in the down
    restore: Sequence[str]  # run after the change is re-applied: brings the data back
    explanation: str  # for the plan: what it does, what the older app sees
    keeps_older_app_working: bool
    # What `statements` do to the live tables, as changes: the steps after this one in the
    # down are rendered against the schema these leave (added field; not part of the brief).
    effect: tuple[Change, ...] = ()
    # The table an archive copies into: not part of `effect` (the later steps never see it),
    # but part of what the variant leaves in the database.
    archive: QName | None = None


_LIMITS = {Dialect.POSTGRES: 63, Dialect.MYSQL: 64}  # bytes; SQLite has no limit


def object_name(prefix: str, label: str, parts: Sequence[str], dialect: Dialect) -> str:
    """`<prefix>_<label>_<parts...>`, shortened with a stable hash suffix past the engine's limit.

    PostgreSQL silently truncates long names (two archives could then collide) and MySQL
    refuses them, so a long name keeps its readable head and gets 8 hex digits of its hash.
    """
    name = "_".join((prefix, label, *parts))
    limit = _LIMITS.get(dialect)
    if limit is None or len(name.encode()) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = name.encode()[: limit - len(digest) - 1].decode(errors="ignore")
    return f"{head}_{digest}"


def alternatives(change: Change, before: Schema, label: str) -> list[Alternative]:
    """The alternatives to `change` on a database at `before`; [] when it loses no data."""
    return list(_each_alternative(change, before, label))


def _each_alternative(change: Change, before: Schema, label: str) -> Iterator[Alternative]:
    """`alternatives`, each made when asked for, in the order `safest` prefers (keep,
    archive, rename): a pick that takes the first need not make the others."""
    match change:
        case ch.DropColumn(tname, column):
            table = before.table(tname)
            if table is not None:
                current = table.column(column.name, before.dialect) or column
                yield from _column_alternatives(change, table, current, before, label)
        case ch.DropTable(dropped):
            table = before.table(dropped.name) or dropped
            yield from _table_alternatives(change, table, before, label)
        case ch.AlterColumn(tname, old, new) if narrows(old.type, new.type):
            table = before.table(tname)
            if table is not None:
                yield from _narrowing_alternatives(change, table, before, label)
        case ch.AlterEnum(old_enum, new_enum) if set(old_enum.values) - set(new_enum.values):
            yield _enum_keep(change, old_enum, new_enum, before)


# The kinds of change `alternatives` may offer something for.
_LOSING = (ch.DropColumn, ch.DropTable, ch.AlterColumn, ch.AlterEnum)


def may_offer(change: Change) -> bool:
    """Whether `alternatives` may offer any for `change`: a cheap test before the schema it
    needs is frozen."""
    return isinstance(change, _LOSING)


def safest(alts: Sequence[Alternative]) -> Alternative | None:
    """The alternative a companion change should carry: keep, else archive, else rename.

    Only alternatives that keep the older app working qualify. Keep comes first because
    nothing is dropped or copied: no data can be lost, no restore has to be trusted, it is
    instant on big tables, and a newer app still running during the rollout keeps working.
    Archive comes next: the live schema ends exactly as the older app expects (no extra
    column in `SELECT *` or in an INSERT without a column list), and the copy is out of every
    app's way until its restore script runs. Rename comes last: it is cheap, but it leaves an
    extra column or table in the live schema and moves names that the newer app may still use.
    """
    working = [a for a in alts if a.keeps_older_app_working]
    for strategy in _PREFERENCE:
        for alt in working:
            if alt.strategy is strategy:
                return alt
    return None


def apply_alternatives(
    changes: Sequence[Change], before: Schema, label: str, *, only: Strategy | None = None
) -> tuple[list[str], list[str], list[Alternative]]:
    """The down with every data-loss step replaced by its safest alternative.

    Returns the down's statements, the combined restore script, and the alternatives chosen.
    Runs of other steps are rendered together exactly as `render` does. An alternative whose
    result the later steps do not fit (a kept column that a later step adds again) is passed
    over for the next safest. A step without a working alternative stays as it was. `only`
    (an added, optional parameter) restricts the choice to one strategy, for a person who
    picked another alternative of the plan.

    Restore scripts are combined in reverse order: the re-applied migration creates a parent
    table before the child tables that reference it, so its rows must come back first.
    """
    state = State(before.dialect, before)
    statements: list[str] = []
    restores: list[Sequence[str]] = []
    chosen: list[Alternative] = []
    run: list[Change] = []
    run_start = before
    mentioned = [_mentions(c) for c in changes]
    later = _Later(changes, mentioned)
    for i, change in enumerate(changes):
        rest = _Rest(changes, i + 1, mentioned[i], later)
        pick = _pick(change, state.snapshot(), rest, label, only) if may_offer(change) else None
        if pick is None:
            if not run:
                run_start = state.snapshot()
            run.append(change)
            state.apply(change)
            continue
        statements += [r.sql for r in render(run, run_start)] if run else []
        run = []
        statements += pick.statements
        state.apply_all(list(pick.effect))
        restores.append(pick.restore)
        chosen.append(pick)
    if run:
        statements += [r.sql for r in render(run, run_start)]
    return statements, [sql for r in reversed(restores) for sql in r], chosen


@dataclass(frozen=True)
class _Mentions:
    """What a change names, by how it names it.

    - objects: what it works on as a whole (tables, views, types, sequences, opaque objects)
      and the index and constraint names it carries (an index name is the schema's, not the
      table's);
    - scoped: the table a step inside one table works in (a column, index or constraint step);
    - members: `table.word` for what such a step names in its table (columns, constraint and
      index names, the words of its expressions, never of a column's type);
    - references: `table.column` for the keys its foreign keys reference;
    - words: every word its values carry (types, defaults, expressions, referenced tables).
    """

    objects: frozenset[str]
    scoped: frozenset[str]
    members: frozenset[str]
    references: frozenset[str]
    words: frozenset[str]

    def __or__(self, other: _Mentions) -> _Mentions:
        return _Mentions(
            self.objects | other.objects,
            self.scoped | other.scoped,
            self.members | other.members,
            self.references | other.references,
            self.words | other.words,
        )


class _Later:
    """For each name a change mentions, the last position in the down that mentions it that
    way: whether any step after a position touches a set of mentions is then a few lookups,
    not a union of everything after it."""

    def __init__(self, changes: Sequence[Change], mentions: Sequence[_Mentions]) -> None:
        self.objects: dict[str, int] = {}
        self.dropped: dict[str, int] = {}  # tables a DropTable drops (not in `objects`)
        self.scoped: dict[str, int] = {}
        self.members: dict[str, int] = {}
        self.removing: dict[str, int] = {}  # members of steps that may take a key away
        self.references: dict[str, int] = {}
        self.words: dict[str, int] = {}
        for i, (change, m) in enumerate(zip(changes, mentions, strict=True)):
            creates = isinstance(change, ch.CreateIndex)
            adds = creates or isinstance(change, (ch.AddColumn, ch.AddConstraint))
            plain = isinstance(change, ch.DropIndex) and not change.index.unique
            dropped = _dropped_table(change)
            for names, last in (
                (m.objects - dropped, self.objects),
                (dropped, self.dropped),
                (m.scoped, self.scoped),
                # an index on a column the alternative keeps, or one it keeps but changes,
                # is created the same on both (the change has no such column to index);
                # its name is an object
                (() if creates else m.members, self.members),
                (() if adds or plain else m.members, self.removing),
                (m.references, self.references),
                (m.words, self.words),
            ):
                for name in names:
                    last[name] = i

    def touched(self, mine: _Mentions, start: int) -> bool:
        """Whether a step at `start` or later can read or change what `mine` names: it names
        one of the same table's members, takes away a key that `mine` references, or one side
        works on a whole object that the other names anywhere (works in, or carries)."""

        def after(names: frozenset[str], *where: dict[str, int]) -> bool:
            return any(last.get(n, -1) >= start for n in names for last in where)

        # A table dropped later goes with whatever the alternative keeps or changes inside it
        # (`mine.scoped`); a reference to it or a word naming it is another matter.
        return (
            after(mine.members, self.members, self.references)
            or after(mine.references, self.removing)
            or after(mine.objects, self.objects, self.dropped, self.scoped, self.words)
            or after(mine.words, self.objects, self.dropped)
            or after(mine.scoped, self.objects)
        )


def _dropped_table(change: Change) -> frozenset[str]:
    """The words of the name of the table a DropTable drops."""
    if not isinstance(change, ch.DropTable):
        return frozenset()
    return frozenset(w.lower() for w in _WORD.findall(str(change.table.name)))


# Steps inside one table (the table is their `table` field).
_SCOPED = (
    ch.AddColumn,
    ch.DropColumn,
    ch.AlterColumn,
    ch.RenameColumn,
    ch.MoveColumn,
    ch.AddConstraint,
    ch.DropConstraint,
    ch.RenameConstraint,
    ch.RenameIndex,
    ch.SetTableComment,
    ch.SetTableOptions,
    ch.SetClusterOn,
    ch.SetUnlogged,
)


def _mentions(change: Change) -> _Mentions:
    objects: set[str] = set()
    words: set[str] = set()
    types: set[str] = set()  # words of a column's type: a type's name, never a column's
    references: set[str] = set()

    def walk(v: object, owner: object = None, field_name: str = "") -> None:
        if v is None or isinstance(v, (bool, int)):
            return
        if isinstance(v, str):
            found = _WORD.findall(v.lower())
            if isinstance(owner, Column):
                (types if field_name == "type" else words).update(found)
            elif field_name in ("name", "identity") or isinstance(owner, QName):
                objects.update(found)
            else:
                words.update(found)
        elif isinstance(v, (tuple, list, frozenset, set)):
            for item in v:
                walk(item, owner, field_name)
        elif isinstance(v, ForeignKey):
            # The table it references is read, not worked on: only a step on that table as a
            # whole, or one that may take the referenced key away, can break the key.
            words.update(_WORD.findall(str(v.ref_table).lower()))
            target = v.ref_table.name.lower()
            references.update(f"{target}.{c.lower()}" for c in v.ref_columns)
            walk_fields(v, skip=("ref_table",))
        else:
            walk_fields(v)

    def walk_fields(v: object, skip: tuple[str, ...] = ()) -> None:
        for f in _fields(v):
            if f not in skip:
                walk(getattr(v, f), v, f)

    match change:
        case ch.DropColumn(table, column):
            # its `after` only says where the column stood, for the reverse: nothing reads it
            scope: QName | None = table
            walk(column, change, "column")
        case ch.DropConstraint(table, con) if con.name is not None and not _is_key(con):
            # a check or foreign key gone by its name: what it constrained is less constrained
            scope = table
            objects.update(w.lower() for w in _WORD.findall(con.name))
            if isinstance(con, ForeignKey):
                words.update(w.lower() for w in _WORD.findall(str(con.ref_table)))
        case ch.CreateIndex(index) | ch.DropIndex(index):
            scope = index.table
            walk_fields(index, skip=("table",))
        case _ if isinstance(change, _SCOPED):
            scope = change.table
            walk_fields(change, skip=("table",))
        case _:
            scope = None
            walk(change)
    kept = frozenset(objects), frozenset(references), frozenset(words | types)
    if scope is None:
        return _Mentions(kept[0], frozenset(), frozenset(), kept[1], kept[2])
    owner = scope.name.lower()
    # Names in a table's scope are the table's own; index and constraint names are also the
    # schema's (an index is a relation of its own in PostgreSQL).
    members = frozenset(f"{owner}.{w}" for w in objects | words)
    return _Mentions(kept[0], frozenset({owner}), members, kept[1], kept[2])


def _is_key(con: Constraint) -> bool:
    """A primary key or UNIQUE: dropping it may take away what a foreign key references."""
    return isinstance(con, (PrimaryKey, Unique))


_WORD = re.compile(r"\w+")
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(value: object) -> tuple[str, ...]:
    """A dataclass's field names (none for other values), looked up once per class:
    `fields` is slow in a hot loop."""
    cls = type(value)
    names = _FIELDS.get(cls)
    if names is None:
        is_value = is_dataclass(value) and not isinstance(value, type)
        names = _FIELDS[cls] = tuple(f.name for f in fields(value)) if is_value else ()  # type: ignore[arg-type]
    return names


@dataclass(frozen=True)
class _Rest:
    """The steps after the one being replaced (from `start`), what that one mentions, and
    where in the down each name is mentioned last."""

    changes: Sequence[Change]
    start: int
    mentioned: _Mentions
    later: _Later


def _pick(
    change: Change, now: Schema, rest: _Rest, label: str, only: Strategy | None
) -> Alternative | None:
    """The safest alternative (see `safest`) that the later steps fit."""
    for alt in _each_alternative(change, now, label):
        if only in (None, alt.strategy) and alt.keeps_older_app_working and _fits(alt, now, rest):
            return alt
    return None


def _fits(alt: Alternative, now: Schema, rest: _Rest) -> bool:
    """Whether the later steps still apply after the alternative instead of the change.

    The alternative leaves the database differing from the change's result only in what the
    two of them name; a later step that touches none of it (see `_Later.touched`) behaves the
    same on both, and on the change's result the later steps apply: that is the down being
    replaced. Only when a later step touches it are the later steps replayed, which keeps a
    down of many data-losing steps linear instead of quadratic.
    """
    mine = rest.mentioned
    for c in alt.effect:
        mine |= _mentions(c)
    if not rest.later.touched(mine, rest.start):
        return True
    try:
        after = apply_changes(now, [*alt.effect, *rest.changes[rest.start :]])
    except StateError:
        return False
    return not _still_needed(now, after)


def _still_needed(now: Schema, after: Schema) -> bool:
    """Whether a later step drops a type, sequence or key that what the alternative keeps
    still uses: the engine refuses that drop (the model does not check dependencies)."""
    gone_types = {k[1].lower() for k in now.enums if k not in after.enums}
    gone_types |= {
        k[1].lower()
        for k, o in now.opaque.items()
        if o.kind in ("type", "domain") and k not in after.opaque
    }
    gone_sequences = {k[1].lower() for k in now.sequences if k not in after.sequences}
    for table in after.tables.values():
        for col in table.columns:
            if gone_types and type_name(col.type) in gone_types:
                return True
            default = (col.default or "").lower()
            if (
                gone_sequences
                and "nextval" in default
                and any(w in gone_sequences for w in _WORD.findall(default))
            ):
                return True
        for fk in table.foreign_keys:
            target = after.table(fk.ref_table)
            if target is None:
                return True
            was = now.table(fk.ref_table)
            if (
                was is not None
                and _keyed(was, fk.ref_columns)
                and not _keyed(target, fk.ref_columns)
            ):
                return True
    return False


def _keyed(table: Table, columns: Sequence[str]) -> bool:
    """Whether `columns` are the table's primary key, a UNIQUE, or a plain unique index."""
    want = {c.lower() for c in columns}
    keys = [table.primary_key.columns] if table.primary_key else []
    keys += [u.columns for u in table.uniques]
    keys += [
        tuple(p.expression for p in i.parts)
        for i in table.indexes
        if i.unique and i.where is None and all(p.is_column for p in i.parts)
    ]
    return any({c.lower() for c in key} == want for key in keys)


# -- columns ---------------------------------------------------------------------------


def _column_alternatives(
    change: ch.DropColumn, table: Table, column: Column, before: Schema, label: str
) -> Iterator[Alternative]:
    yield _keep_column(change, table, column, before)
    if (archive := _archive_column(change, table, column, before, label)) is not None:
        yield archive
    if (rename := _rename_column(change, table, column, before, label)) is not None:
        yield rename


def _fills_itself(column: Column) -> bool:
    """True when an INSERT that leaves the column out still succeeds."""
    return (
        column.nullable
        or column.default is not None
        or column.auto is not None
        or column.generated is not None
    )


def _keep_column(
    change: ch.DropColumn, table: Table, column: Column, before: Schema
) -> Alternative:
    d = before.dialect
    where = f"{table.name}.{column.name}"
    in_pk = table.primary_key is not None and among(column.name, table.primary_key.columns, d)
    fks = blocking_fks(table, (column.name,), d)
    effect: list[Change] = [ch.DropConstraint(table.name, fk) for fk in fks]
    notes = []
    if fks:
        notes.append("its foreign keys that would block the older app's deletes are dropped")
    if not _fills_itself(column) and not in_pk:
        effect.append(ch.AlterColumn(table.name, column, replace(column, nullable=True)))
        notes.append("its NOT NULL is dropped because the older app does not fill it")
    works = _fills_itself(column) or not in_pk
    text = f"Keeps {where} and its values in place"
    text += f"; {', and '.join(notes)}." if notes else "; the older app never writes it."
    if not works:
        text = (
            f"Keeps {where}, but it is part of the primary key and has no default, "
            "so the older app's inserts would fail."
        )
    text += " When the change is re-applied its ADD COLUMN must be skipped: the column is there."
    return Alternative(
        Strategy.KEEP, change, lazy_sql(effect, before), (), text, works, tuple(effect)
    )


def _archive_column(
    change: ch.DropColumn, table: Table, column: Column, before: Schema, label: str
) -> Alternative | None:
    d = before.dialect
    key = row_key(table, d, without=column.name)
    if key is None or column.generated is not None:
        return None
    archive = QName(
        object_name("_rollback", label, (table.name.name, column.name), d), table.name.schema
    )
    typed = user_typed(table, before)
    copy = copy_out(table.name, (*key, column.name), archive, key, d, typed)
    restore = (
        *update_from(table, column.name, archive, key, d, typed),
        f"DROP TABLE {qname(archive, d)}",
    )
    return Alternative(
        Strategy.ARCHIVE,
        change,
        lazy_sql([change], before, first=copy),
        restore,
        f"Copies {table.name}.{column.name} with the key {', '.join(key)} to {archive}, then "
        "drops the column: the older app sees exactly the schema it expects. Its restore "
        "script puts the values back after the change is re-applied.",
        True,
        (change,),
        archive,
    )


def _rename_column(
    change: ch.DropColumn, table: Table, column: Column, before: Schema, label: str
) -> Alternative | None:
    d = before.dialect
    if table.primary_key is not None and among(column.name, table.primary_key.columns, d):
        return None
    new = object_name("_deprecated", label, (column.name,), d)
    effect = detach_column(table, column.name, d)
    effect.append(ch.RenameColumn(table.name, column.name, new))
    moved = replace(column, name=new)
    if not _fills_itself(column):
        effect.append(ch.AlterColumn(table.name, moved, replace(moved, nullable=True)))
        moved = replace(moved, nullable=True)
    # At restore time the table is as it was before the down, with the deprecated column too.
    again = with_table(before, replace(table, columns=(*table.columns, moved)))
    restore = lazy_sql(
        [ch.DropColumn(table.name, moved)], again, first=(same_row_update(table, column, new, d),)
    )
    return Alternative(
        Strategy.RENAME,
        change,
        lazy_sql(effect, before),
        restore,
        f"Renames {table.name}.{column.name} to {new}, without its indexes and constraints "
        "and nullable, so the older app's inserts work; a later change drops it. Its restore "
        "script copies the values back after the change is re-applied.",
        True,
        tuple(effect),
    )


# -- tables ----------------------------------------------------------------------------


def _table_alternatives(
    change: ch.DropTable, table: Table, before: Schema, label: str
) -> Iterator[Alternative]:
    d = before.dialect
    fks = blocking_fks(table, None, d)
    effect = tuple(ch.DropConstraint(table.name, fk) for fk in fks)
    keep_text = f"Keeps table {table.name} and its rows; the older app never uses it."
    if fks:
        keep_text += (
            " Its foreign keys into "
            + ", ".join(sorted({str(fk.ref_table) for fk in fks}))
            + " are dropped so they don't block the older app's deletes there."
        )
    keep_text += " When the change is re-applied its CREATE TABLE must be skipped."
    yield Alternative(
        Strategy.KEEP, change, lazy_sql(list(effect), before), (), keep_text, True, effect
    )
    archive = QName(object_name("_rollback", label, (table.name.name,), d), table.name.schema)
    typed = user_typed(table, before)
    every = ", ".join(typed_out(c.name, typed, d) for c in table.columns) if typed else "*"
    yield Alternative(
        Strategy.ARCHIVE,
        change,
        lazy_sql(
            [change],
            before,
            first=(
                f"CREATE TABLE {qname(archive, d)} AS SELECT {every} FROM {qname(table.name, d)}",
            ),
        ),
        (*insert_back(table, archive, d, typed), f"DROP TABLE {qname(archive, d)}"),
        f"Copies every row of {table.name} to {archive}, then drops the table: the older "
        "app sees exactly the schema it expects. Its restore script puts the rows back "
        "after the change is re-applied.",
        True,
        (change,),
        archive,
    )
    rename = _rename_table(change, table, before, label)
    if rename is not None:
        yield rename


def _rename_table(
    change: ch.DropTable, table: Table, before: Schema, label: str
) -> Alternative | None:
    d = before.dialect
    if d is Dialect.POSTGRES and any(c.auto is not None for c in table.columns):
        # Its sequence keeps the name the re-applied CREATE TABLE needs.
        return None
    new = QName(object_name("_deprecated", label, (table.name.name,), d), table.name.schema)
    key = qkey(table.name, d)
    # one look at every table's keys: a State's index of them would cost more to build
    effect: list[Change] = [
        ch.DropConstraint(child.name, fk)
        for child in before.tables.values()
        if qkey(child.name, d) != key
        for fk in child.foreign_keys
        if qkey(fk.ref_table, d) == key
    ]
    # Index, key and constraint names would collide with those the re-applied change creates.
    # Foreign keys go first: MySQL won't drop an index a foreign key still needs.
    keys: tuple[Constraint, ...] = (*table.foreign_keys, *table.uniques)
    effect += [ch.DropConstraint(table.name, con) for con in keys]
    effect += [ch.DropConstraint(table.name, check) for check in table.checks if check.name]
    effect += [ch.DropIndex(index) for index in table.indexes]
    if d is Dialect.POSTGRES and table.primary_key is not None:
        effect.append(ch.DropConstraint(table.name, table.primary_key))
    effect.append(ch.RenameTable(table.name, new))
    return Alternative(
        Strategy.RENAME,
        change,
        lazy_sql(effect, before),
        (*insert_back(table, new, d, {}), f"DROP TABLE {qname(new, d)}"),
        f"Renames table {table.name} to {new}, without its indexes and constraints, for a "
        "later change to drop; the older app never uses it. Its restore script copies the "
        "rows back after the change is re-applied.",
        True,
        tuple(effect),
    )


# -- narrowing type changes and enums --------------------------------------------------


def _narrowing_alternatives(
    change: ch.AlterColumn, table: Table, before: Schema, label: str
) -> Iterator[Alternative]:
    d = before.dialect
    col = change.before.name
    kept = replace(change.after, type=change.before.type)
    effect: tuple[Change, ...] = (
        () if kept == change.before else (ch.AlterColumn(change.table, change.before, kept),)
    )
    yield Alternative(
        Strategy.KEEP,
        change,
        lazy_sql(list(effect), before),
        (),
        f"Leaves {table.name}.{col} as {change.before.type} instead of narrowing it to "
        f"{change.after.type}: every value fits, and so does anything the older app writes.",
        True,
        effect,
    )
    key = row_key(table, d, without=col)
    typed = user_typed(table, before)
    if key is not None and change.before.generated is None:
        archive = QName(
            object_name("_rollback", label, (table.name.name, col), d), table.name.schema
        )
        yield Alternative(
            Strategy.ARCHIVE,
            change,
            lazy_sql(
                [change],
                before,
                first=copy_out(table.name, (*key, col), archive, key, d, typed),
            ),
            (
                *update_from(table, col, archive, key, d, typed),
                f"DROP TABLE {qname(archive, d)}",
            ),
            f"Copies {table.name}.{col} with the key {', '.join(key)} to {archive}, then "
            f"narrows it to {change.after.type}. Its restore script puts the exact values "
            "back after the change is re-applied.",
            True,
            (change,),
            archive,
        )


def _enum_keep(change: ch.AlterEnum, old: EnumType, new: EnumType, before: Schema) -> Alternative:
    merged = replace(new, values=(*old.values, *(v for v in new.values if v not in old.values)))
    effect: tuple[Change, ...] = () if merged == old else (ch.AlterEnum(old, merged),)
    removed = [v for v in old.values if v not in new.values]
    return Alternative(
        Strategy.KEEP,
        change,
        lazy_sql(list(effect), before),
        (),
        f"Leaves {', '.join(removed)} in type {old.name}: rows that hold them stay valid, and "
        "the older app never writes them.",
        True,
        effect,
    )


__all__ = [
    "SQL",
    "Alternative",
    "Strategy",
    "alternatives",
    "apply_alternatives",
    "may_offer",
    "narrows",
    "object_name",
    "safest",
]
