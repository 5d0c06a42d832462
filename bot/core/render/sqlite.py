"""SQLite DDL for changes, with the documented table rebuild where ALTER TABLE can't.

SQLite's ALTER TABLE only renames tables and columns, appends some columns and drops some
columns. Anything else is done with the twelve-step procedure of
https://www.sqlite.org/lang_altertable.html#otheralter: create the new shape under a
temporary name, copy the rows, drop the old table, rename the new one, re-create what
the drop took with it. A run of consecutive changes to one table shares one rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.core import changes as ch
from bot.core.model import (
    AutoKind,
    Column,
    Dialect,
    Opaque,
    QName,
    Schema,
    Table,
    View,
    fold,
    qkey,
)
from bot.core.render import Rendered
from bot.core.render.names import ident, literal, qname
from bot.core.render.sqlite_ddl import (
    column_sql,
    create_index,
    create_table,
    create_view,
    default_sql,
    default_value_sql,
    find_index,
    index_name,
    mentions,
)
from bot.core.state import State

_D = Dialect.SQLITE
_NEW_PREFIX = "_rp_new_"

# Changes that alter one table's own definition: these are what a rebuild carries out.
_TableChange = (
    ch.AddColumn
    | ch.DropColumn
    | ch.RenameColumn
    | ch.AlterColumn
    | ch.MoveColumn
    | ch.AddConstraint
    | ch.DropConstraint
    | ch.SetTableComment
    | ch.SetTableOptions  # WITHOUT ROWID, STRICT: only a rebuild sets or clears them
)


class GapKind(StrEnum):
    """Why a rebuild's copy fails on the rows of the table."""

    NOT_NULL = "not null"  # NOT NULL without a default: nothing to put in it, on any row
    SAME_DEFAULT = "same default"  # UNIQUE, every row given its default: on a second row
    # A foreign key naming a table that does not exist then (SQLite allows one while foreign
    # keys are off): with them on, SQLite refuses any INSERT into the table, rows or not, and
    # inside a transaction, as migration tools run a file, PRAGMA foreign_keys=OFF is a no-op
    DANGLING_KEY = "dangling key"
    # A foreign key whose parent columns are neither its primary key nor UNIQUE: SQLite
    # refuses any row of the child with foreign keys on ("foreign key mismatch")
    KEY_MISMATCH = "key mismatch"


@dataclass(frozen=True)
class Gap:
    """Column(s) a rebuild has no values for, on a table that may hold rows; or a foreign
    key its copy can't go through inside a transaction."""

    columns: str  # `table.column`; `table (a, b)` for a UNIQUE over several; the table of a key
    kind: GapKind = GapKind.NOT_NULL
    references: str = ""  # the missing table a DANGLING_KEY names


def render(changes: list[ch.Change], before: Schema) -> list[Rendered]:
    """SQLite statements taking a database at `before` through `changes`, in order.

    A run of consecutive changes to the same table is rendered in place while ALTER TABLE
    can do them; from the first one it can't, the rest of the run becomes one rebuild,
    attributed to that change.
    """
    return render_with_gaps(changes, before)[0]


def render_with_gaps(changes: list[ch.Change], before: Schema) -> tuple[list[Rendered], list[Gap]]:
    """`render`'s statements, and the columns a rebuild of a table holding rows has no
    values for, where its copy fails: NOT NULL without a default, or UNIQUE with one; and the
    rebuilds whose copy needs foreign keys off (a key naming a missing table)."""
    if before.dialect is not _D:
        raise ValueError(f"the SQLite renderer got a {before.dialect} schema")
    state = State(_D, before)
    out: list[Rendered] = []
    gaps: list[Gap] = []
    fresh: set[tuple[str, str]] = set()  # tables these changes created: they hold no rows
    swaps = _table_swaps(changes)
    skipped = {k for at, swap in swaps.items() for k in swap.steps if k != at}
    i = 0
    while i < len(changes):
        change = changes[i]
        if i in skipped:
            i += 1
            continue
        if i in swaps:
            swap = swaps[i]
            steps = [changes[k] for k in swap.steps]
            found = _gaps(swap.table, fresh, gaps)
            rebuild = _swap_rebuild(swap.table, steps, state, found, gaps)
            out.extend(Rendered.of(sql, change) for sql in rebuild)
            i += 1
            continue
        if not isinstance(change, _TableChange):
            out.extend(Rendered.of(sql, change) for sql in _render_other(change, state))
            _follow_fresh(change, fresh)
            state.apply(change)
            i += 1
            continue
        end = i + 1
        while end < len(changes) and _same_table(changes[end], change.table, state):
            end += 1
        added: set[str] = set()  # columns added in place with one default for every row
        for j in range(i, end):
            in_place = _in_place(changes[j], state)
            if in_place is None:
                found = _gaps(change.table, fresh, gaps)
                rebuild = _rebuild(change.table, changes[j:end], state, found, gaps, added)
                out.extend(Rendered.of(sql, changes[j]) for sql in rebuild)
                break
            out.extend(Rendered.of(sql, changes[j]) for sql in in_place)
            match changes[j]:
                case ch.AddColumn(_, column) if _one_default(column):
                    added.add(fold(column.name, _D))
                case ch.RenameColumn(_, old, new) if fold(old, _D) in added:
                    added ^= {fold(old, _D), fold(new, _D)}
            state.apply(changes[j])
        i = end
    return out, gaps


def _gaps(table: QName, fresh: set[tuple[str, str]], gaps: list[Gap]) -> list[Gap]:
    """Where a rebuild of `table` reports its gaps: nowhere when the table holds no rows."""
    return [] if qkey(table, _D) in fresh else gaps


def _follow_fresh(change: ch.Change, fresh: set[tuple[str, str]]) -> None:
    match change:
        case ch.CreateTable(table):
            fresh.add(qkey(table.name, _D))
        case ch.DropTable(table):
            fresh.discard(qkey(table.name, _D))
        case ch.RenameTable(old, new) if qkey(old, _D) in fresh:
            fresh.discard(qkey(old, _D))
            fresh.add(qkey(new, _D))


def _same_table(change: ch.Change, table: QName, state: State) -> bool:
    return isinstance(change, _TableChange) and state.key(change.table) == state.key(table)


# -- changes that never rebuild -----------------------------------------------------------


def _render_other(change: ch.Change, state: State) -> list[str]:
    match change:
        case ch.CreateTable(table):
            return [create_table(table), *(create_index(i) for i in table.indexes)]
        case ch.DropTable(table):
            return [f"DROP TABLE {qname(table.name, _D)}"]
        case ch.RenameTable(old, new):
            if fold(old.schema or "", _D) != fold(new.schema or "", _D):
                raise ValueError(f"SQLite cannot move table {old} to another database ({new})")
            # RENAME TO takes a bare name: the table stays in its database
            return [f"ALTER TABLE {qname(old, _D)} RENAME TO {ident(new.name, _D)}"]
        case ch.CreateIndex(index):
            return [create_index(index)]
        case ch.DropIndex(index):
            return [f"DROP INDEX {index_name(index)}"]
        case ch.RenameIndex(table, old, new):
            index = find_index(state.require_table(table), old)
            # SQLite has no ALTER INDEX: an index is renamed by building it again
            return [f"DROP INDEX {index_name(index)}", create_index(replace(index, name=new))]
        case ch.CreateView(view):
            return [create_view(view)]
        case ch.DropView(view):
            return [f"DROP VIEW {qname(view.name, _D)}"]
        case ch.ReplaceView(before, after):
            return [f"DROP VIEW {qname(before.name, _D)}", create_view(after)]
        case ch.CreateOpaque(obj):
            return [obj.definition.strip()]
        case ch.DropOpaque(obj):
            return [obj.drop.strip()]
        case ch.ReplaceOpaque(before, after):
            # SQLite has no CREATE OR REPLACE for anything
            return [before.drop.strip(), after.definition.strip()]
        case ch.CreateNamespace(name) | ch.DropNamespace(name):
            raise ValueError(
                f"SQLite has no schemas to create or drop ({name}); attach a database instead"
            )
        case ch.CreateEnum() | ch.DropEnum() | ch.AlterEnum() | ch.RenameEnum():
            raise ValueError(f"SQLite has no enum types ({ch.change_object(change)})")
        case ch.CreateSequence() | ch.DropSequence() | ch.AlterSequence():
            raise ValueError(f"SQLite has no sequences ({ch.change_object(change)})")
    raise TypeError(f"not a change the SQLite renderer handles here: {change!r}")


# -- changes ALTER TABLE can do in place ----------------------------------------------------


def _in_place(change: ch.Change, state: State) -> list[str] | None:
    """The statements doing `change` without a rebuild, or None when it needs one."""
    match change:
        case ch.RenameColumn(table, old, new):
            return [
                f"ALTER TABLE {qname(table, _D)} RENAME COLUMN {ident(old, _D)} TO {ident(new, _D)}"
            ]
        case ch.AddColumn(table, column, after, first):
            current = state.require_table(table)
            at_end = not first and (after is None or state.same(after, current.columns[-1].name))
            if at_end and _can_add_column(column):
                return [f"ALTER TABLE {qname(table, _D)} ADD COLUMN {column_sql(column)}"]
            return None
        case ch.DropColumn(table, column):
            if _can_drop_column(state, state.require_table(table), column.name):
                return [f"ALTER TABLE {qname(table, _D)} DROP COLUMN {ident(column.name, _D)}"]
            return None
        case ch.AlterColumn(_, before, after):
            column_sql(after)  # refuse what SQLite can't express even when nothing else changes
            # SQLite keeps no comments: a comment-only change leaves the database as it is
            return [] if replace(after, comment=before.comment) == before else None
        case ch.SetTableComment():
            return []
    return None


def _can_add_column(column: Column) -> bool:
    """Whether ALTER TABLE ADD COLUMN accepts this column (lang_altertable.html#altertabaddcol)."""
    if column.auto is not None or (column.generated is not None and column.generated_stored):
        return False
    default = None if column.default is None else default_sql(column.default)
    if default is not None and (
        default.startswith("(")
        or default.upper() in ("CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP")
    ):
        return False
    has_value = default is not None and default.upper() != "NULL"
    return column.nullable or (has_value and column.generated is None)


def _can_drop_column(state: State, table: Table, name: str) -> bool:
    """Whether ALTER TABLE DROP COLUMN accepts this column (lang_altertable.html#altertabdropcol)."""
    key = fold(name, _D)
    pk = table.primary_key.columns if table.primary_key else ()
    keyed = [*pk, *(c for u in table.uniques for c in u.columns)]
    keyed += [c for fk in table.foreign_keys for c in fk.columns]
    if any(fold(c, _D) == key for c in keyed):
        return False
    texts = [c.expression for c in table.checks]
    texts += [c.generated for c in table.columns if c.generated is not None]
    for index in table.indexes:
        texts += [p.expression for p in index.parts]
        texts += [index.where] if index.where else []
    # SQLite refuses the drop when a view or trigger names the column; a word match
    # errs on the side of a rebuild, which is always correct
    dependents = _dependents(state, table.name)
    texts += [v.definition for v in dependents.views] + [t.definition for t in dependents.triggers]
    return not any(mentions(text, name) for text in texts)


# -- a table swapped for a new one --------------------------------------------------------


@dataclass(frozen=True)
class _Swap:
    """A table whose shape a rename, a CreateTable and a DropTable swap, rendered as one rebuild.

    `steps` are the positions of the three changes in order; the rebuild is rendered at the
    middle one, and the other two render nothing.
    """

    table: QName
    steps: tuple[int, int, int]


def _table_swaps(changes: list[ch.Change]) -> dict[int, _Swap]:
    """The table swaps among `changes`, keyed by the position their rebuild is rendered at.

    Two orders, each the inverse of a way people rebuild a SQLite table by hand, and each
    losing every row (and re-pointing foreign keys) if rendered as written:

    - rename A to B, create A, drop B (the inverse of "create new_A, copy, drop A, rename
      new_A to A"), keyed by the CreateTable: nothing in between touches B, and nothing
      before the CreateTable touches A;
    - create B, drop A, rename B to A (the inverse of "rename A to A_old, create A, copy,
      drop A_old"), keyed by the DropTable: nothing in between touches B, and nothing after
      the DropTable touches A.
    """
    # The second order first: where both claim one DropTable, the first order's rename is
    # the inverse of a table renamed onto a dropped one's name, not of a scratch copy's.
    found = [s for i in range(len(changes)) if (s := _swap_from_create(changes, i))]
    found += [s for i in range(len(changes)) if (s := _swap_from_rename(changes, i))]
    swaps: dict[int, _Swap] = {}
    used: set[int] = set()
    for swap in found:
        if not used.intersection(swap.steps):
            used.update(swap.steps)
            swaps[swap.steps[1]] = swap
    return swaps


def _swap_from_rename(changes: list[ch.Change], i: int) -> _Swap | None:
    """Rename A to B at `i`, create A, drop B."""
    change = changes[i]
    if not isinstance(change, ch.RenameTable):
        return None
    a, b = qkey(change.old, _D), qkey(change.new, _D)
    create = _next_touching(changes, i, a, b)
    if create is None or not _is_create(changes[create], a):
        return None
    drop = _next_touching(changes, create, b)
    if drop is None or not isinstance(changes[drop], ch.DropTable):
        return None
    return _Swap(change.old, (i, create, drop))


def _swap_from_create(changes: list[ch.Change], i: int) -> _Swap | None:
    """Create B at `i`, drop A, rename B to A."""
    change = changes[i]
    if not isinstance(change, ch.CreateTable):
        return None
    b = qkey(change.table.name, _D)
    rename = _next_touching(changes, i, b)
    if rename is None:
        return None
    target = changes[rename]
    if not isinstance(target, ch.RenameTable) or qkey(target.old, _D) != b:
        return None
    a = qkey(target.new, _D)
    drop = next((k for k in range(rename - 1, i, -1) if touches(changes[k], a)), None)
    if drop is None or not _is_drop(changes[drop], a):
        return None
    return _Swap(target.new, (i, drop, rename))


def swap_steps(changes: list[ch.Change]) -> dict[int, tuple[QName, tuple[int, int, int]]]:
    """The changes that `render` turns into row-keeping table rebuilds: position -> the
    table rebuilt and the positions of the swap's three changes."""
    return {
        k: (swap.table, swap.steps) for swap in _table_swaps(changes).values() for k in swap.steps
    }


def _next_touching(changes: list[ch.Change], after: int, *keys: tuple[str, str]) -> int | None:
    """The position of the first change after `after` about a table with one of `keys`."""
    return next(
        (j for j in range(after + 1, len(changes)) if any(touches(changes[j], k) for k in keys)),
        None,
    )


def _is_create(change: ch.Change, key: tuple[str, str]) -> bool:
    return isinstance(change, ch.CreateTable) and qkey(change.table.name, _D) == key


def _is_drop(change: ch.Change, key: tuple[str, str]) -> bool:
    return isinstance(change, ch.DropTable) and qkey(change.table.name, _D) == key


def touches(change: ch.Change, key: tuple[str, str]) -> bool:
    """Whether `change` is about the table with this key (its indexes and triggers included)."""
    match change:
        case ch.CreateTable(table) | ch.DropTable(table):
            names = [table.name]
        case ch.RenameTable(old, new):
            names = [old, new]
        case ch.CreateIndex(index) | ch.DropIndex(index):
            names = [index.table]
        case ch.CreateOpaque(obj) | ch.DropOpaque(obj) | ch.ReplaceOpaque(obj, _):
            names = [obj.table] if obj.table is not None else []
        case (
            ch.AddColumn(table=name)
            | ch.DropColumn(table=name)
            | ch.RenameColumn(table=name)
            | ch.AlterColumn(table=name)
            | ch.MoveColumn(table=name)
            | ch.AddConstraint(table=name)
            | ch.DropConstraint(table=name)
            | ch.SetTableComment(table=name)
            | ch.RenameIndex(table=name)
        ):
            names = [name]
        case _:
            names = []
    return any(qkey(n, _D) == key for n in names)


def _swap_rebuild(
    name: QName, steps: list[ch.Change], state: State, gaps: list[Gap], keys: list[Gap]
) -> list[str]:
    """One rebuild giving table `name` the shape the swap `steps` leave it; applies them.
    Gaps on rows go to `gaps`, dangling keys (which fail with or without rows) to `keys`."""
    source = state.require_table(name)
    dependents = _dependents(state, source.name)
    temp = None
    match steps[0]:
        case ch.CreateTable(created) if state.referencing(created.name):
            # Foreign keys left pointing at the name the new shape is created under (a
            # rebuild undone: `A_old` dropped earlier) follow its rename onto the table, as
            # the swap written out does; so the rebuild builds under that name.
            temp = created.name
    for change in steps:
        state.apply(change)
    # what the swap removed with the other table stays removed; the rest comes back as it was
    kept = _Dependents(
        tuple(v for v in dependents.views if state.views.get(qkey(v.name, _D)) is not None),
        tuple(t for t in dependents.triggers if t in state.opaque.values()),
    )
    origin = {fold(c.name, _D): c.name for c in source.columns}
    target = state.require_table(name)
    if temp is None:
        _check_temp_free(state, source.name)
    keys.extend(_dangling_keys(state, target))
    return _rebuild_sql(source, target, origin, dependents, kept, gaps, temp)


# -- the rebuild -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dependents:
    """Views and triggers that must be dropped around a rebuild and made again after it.

    The rename at the end of a rebuild re-checks the whole schema and fails on any view or
    trigger naming a table that doesn't exist at that moment, so everything naming the
    table (and, transitively, those views) goes first. Both in creation order.
    """

    views: tuple[View, ...]
    triggers: tuple[Opaque, ...]


def _dependents(state: State, table: QName) -> _Dependents:
    names = [table.name]
    views: list[View] = []
    grew = True
    while grew:
        grew = False
        for view in state.views.values():
            if view not in views and any(mentions(view.definition, n) for n in names):
                views.append(view)
                names.append(view.name.name)
                grew = True
    name_keys = {fold(n, _D) for n in names}
    triggers = tuple(
        obj
        for obj in state.opaque.values()
        if obj.kind.lower() == "trigger"
        and (
            (obj.table is not None and fold(obj.table.name, _D) in name_keys)
            or any(mentions(obj.definition, n) for n in names)
        )
    )
    # creation order, so a view is made again after the views it reads
    return _Dependents(tuple(v for v in state.views.values() if v in views), triggers)


def _rebuild(
    name: QName,
    run: list[ch.Change],
    state: State,
    gaps: list[Gap],
    keys: list[Gap],
    added: set[str],
) -> list[str]:
    """The twelve-step rebuild carrying out `run` (changes to table `name`); applies them to
    `state`. Gaps on rows go to `gaps`, dangling keys (which fail with or without rows) to
    `keys`. `added` are columns just added with one default for every row."""
    source = state.require_table(name)
    dependents = _dependents(state, name)
    origin = {fold(c.name, _D): c.name for c in source.columns}  # new column -> old column
    for change in run:
        match change:
            case ch.RenameColumn(_, old, new):
                moved = origin.pop(fold(old, _D), None)
                if moved is not None:
                    origin[fold(new, _D)] = moved
            case ch.AlterColumn(_, before, after) if fold(before.name, _D) != fold(after.name, _D):
                moved = origin.pop(fold(before.name, _D), None)
                if moved is not None:
                    origin[fold(after.name, _D)] = moved
            case ch.DropColumn(_, column) | ch.AddColumn(_, column):
                origin.pop(fold(column.name, _D), None)
        state.apply(change)
    target = state.require_table(name)
    _check_temp_free(state, name)
    keys.extend(_dangling_keys(state, target))
    restored = _current(dependents, state)
    return _rebuild_sql(source, target, origin, dependents, restored, gaps, same=added)


def _current(dependents: _Dependents, state: State) -> _Dependents:
    """The dependents as `state` has them after a rebuild's changes (a column renamed in
    their text), without those it no longer has."""
    views = (state.views.get(qkey(v.name, _D)) for v in dependents.views)
    triggers = (state.opaque.get((t.kind, t.identity)) for t in dependents.triggers)
    return _Dependents(
        tuple(v for v in views if v is not None), tuple(t for t in triggers if t is not None)
    )


def _check_temp_free(state: State, name: QName) -> None:
    temp = QName(_NEW_PREFIX + name.name, name.schema)
    if state.table(temp) is not None:
        raise ValueError(f"cannot rebuild {name}: a table named {temp} already exists")


def _dangling_keys(state: State, target: Table) -> list[Gap]:
    """The foreign keys of `target` naming a table that `state` does not have, or columns
    of it that are neither its primary key nor UNIQUE (the copy fails on either)."""
    gaps: list[Gap] = []
    for fk in target.foreign_keys:
        # REFERENCES names a table of the child's own database
        name = QName(fk.ref_table.name, target.name.schema)
        parent = target if qkey(name, _D) == qkey(target.name, _D) else state.table(name)
        if parent is None:
            gaps.append(Gap(str(target.name), GapKind.DANGLING_KEY, fk.ref_table.name))
        elif not _parent_key(parent, fk.ref_columns):
            gaps.append(Gap(str(target.name), GapKind.KEY_MISMATCH, fk.ref_table.name))
    return gaps


def _parent_key(parent: Table, columns: tuple[str, ...]) -> bool:
    """Whether `columns` (none: the primary key) are the parent's primary key or UNIQUE,
    which SQLite asks of a foreign key's parent columns."""
    pk = parent.primary_key.columns if parent.primary_key else ()
    if not columns:
        return bool(pk)
    wanted = {fold(c, _D) for c in columns}
    keys = [pk, *(u.columns for u in parent.uniques)]
    keys += [
        tuple(p.expression for p in i.parts)
        for i in parent.indexes
        if i.unique and i.where is None and all(p.is_column for p in i.parts)
    ]
    return any(len(k) == len(columns) and {fold(c, _D) for c in k} == wanted for k in keys)


def _rebuild_sql(
    source: Table,
    target: Table,
    origin: dict[str, str],
    dropped: _Dependents,
    restored: _Dependents,
    gaps: list[Gap],
    temp: QName | None = None,
    same: set[str] | None = None,
) -> list[str]:
    """The statements turning `source` into `target`, copying each column from `origin`
    (new column -> old column); `dropped` views and triggers go first, `restored` come back.
    Columns the copy can give no workable value go into `gaps`. The new shape is built
    under `temp` (by default a name of our own) and renamed onto the table. `same` are
    columns of `source` holding one value in every row (just added with a default)."""
    name = source.name
    temp = temp or QName(_NEW_PREFIX + name.name, name.schema)
    into: list[str] = []
    values: list[str] = []
    defaulted: set[str] = set()  # columns every row gets the same default in
    for column in target.columns:
        copied = origin.get(fold(column.name, _D))
        if copied is None and _needs_value(target, column):
            gaps.append(Gap(f"{name}.{column.name}"))
        if column.generated is None and (
            (copied is None and _one_default(column))
            or (copied is not None and fold(copied, _D) in (same or ()))
        ):
            defaulted.add(fold(column.name, _D))
        if copied is None or column.generated is not None:
            continue
        was = source.column(copied, _D)
        value = ident(copied, _D)
        if was is not None and was.nullable and not column.nullable and column.default is not None:
            # a column becoming NOT NULL takes its default where it was NULL; without a
            # default the copy fails on the NULLs, as the ALTER would on other engines
            value = f"COALESCE({value}, {default_value_sql(column.default)})"
        into.append(ident(column.name, _D))
        values.append(value)

    for columns in _unique_columns(target):
        if all(fold(c, _D) in defaulted for c in columns):
            where = (
                f"{name}.{columns[0]}" if len(columns) == 1 else f"{name} ({', '.join(columns)})"
            )
            gaps.append(Gap(where, GapKind.SAME_DEFAULT))

    sql = ["PRAGMA foreign_keys=OFF", "BEGIN"]
    sql += [t.drop.strip() for t in dropped.triggers]
    sql += [f"DROP VIEW {qname(v.name, _D)}" for v in reversed(dropped.views)]
    # a key of the table on itself points at the new table while it is built: inside the
    # tool's transaction foreign keys stay on, and one naming the old table fails its DROP.
    # The rename below turns it back into the table's own name.
    own = tuple(
        replace(fk, ref_table=QName(temp.name, fk.ref_table.schema))
        if fold(fk.ref_table.name, _D) == fold(name.name, _D)
        else fk
        for fk in target.foreign_keys
    )
    sql.append(create_table(replace(target, name=temp, indexes=(), foreign_keys=own)))
    if _autoincrement(source) and _autoincrement(target):
        # DROP TABLE forgets the table's sqlite_sequence row: carry the high-water mark
        # over, so AUTOINCREMENT never hands out an id of a row deleted before
        seq = qname(QName("sqlite_sequence", name.schema), _D)
        sql.append(
            f"INSERT INTO {seq} (name, seq) SELECT {literal(temp.name, _D)}, seq FROM {seq}"
            f" WHERE name = {literal(name.name, _D)} COLLATE NOCASE"
        )
    if into:
        sql.append(
            f"INSERT INTO {qname(temp, _D)} ({', '.join(into)})"
            f" SELECT {', '.join(values)} FROM {qname(name, _D)}"
        )
    sql.append(f"DROP TABLE {qname(name, _D)}")
    sql.append(f"ALTER TABLE {qname(temp, _D)} RENAME TO {ident(name.name, _D)}")
    sql += [create_index(i) for i in target.indexes]
    sql += [create_view(v) for v in restored.views]
    sql += [t.definition.strip() for t in restored.triggers]
    sql += ["PRAGMA foreign_key_check", "COMMIT", "PRAGMA foreign_keys=ON"]
    return sql


def _one_default(column: Column) -> bool:
    """Whether filling the column gives every row one same value: its default, not NULL."""
    return (
        column.generated is None
        and column.default is not None
        and default_sql(column.default).upper() != "NULL"
    )


def _unique_columns(table: Table) -> list[tuple[str, ...]]:
    """The column lists no two rows may share: keys, UNIQUE constraints, unique indexes."""
    found = [table.primary_key.columns] if table.primary_key else []
    found += [u.columns for u in table.uniques]
    found += [
        tuple(p.expression for p in i.parts)
        for i in table.indexes
        if i.unique and i.where is None and all(p.is_column for p in i.parts)
    ]
    return [columns for columns in found if columns]


def _needs_value(table: Table, column: Column) -> bool:
    """A NOT NULL column that nothing fills in: no default, not generated, not the rowid."""
    pk = table.primary_key
    rowid = (
        pk is not None
        and [fold(c, _D) for c in pk.columns] == [fold(column.name, _D)]
        and column.type.upper() == "INTEGER"
    )
    return (
        not column.nullable
        and column.default is None
        and column.generated is None
        and column.auto is None
        and not rowid
    )


def _autoincrement(table: Table) -> bool:
    return any(c.auto is AutoKind.AUTOINCREMENT for c in table.columns)


# -- definitions -----------------------------------------------------------------------------


# The table rebuild's own transaction control: inside a migration tool's transaction BEGIN
# fails ("cannot start a transaction within a transaction") and PRAGMA foreign_keys is a
# no-op, so a tool that wraps the file gets the rebuild without them (the tool commits).
_OWN_TRANSACTION = frozenset(
    {"PRAGMA foreign_keys=OFF", "BEGIN", "COMMIT", "PRAGMA foreign_keys=ON"}
)


def rebuilt_tables(statements: Iterable[str]) -> list[str]:
    """Tables a script rebuilds (drops, then renames its new shape onto the name)."""
    out: list[str] = []
    for sql in statements:
        m = re.match(rf'ALTER TABLE "?{re.escape(_NEW_PREFIX)}(.+?)"? RENAME TO ', sql)
        if m:
            out.append(m.group(1))
    return out


def inside_transaction(statements: Iterable[str]) -> list[str]:
    """The script for a migration tool that runs the whole file in one transaction."""
    return [s for s in statements if s not in _OWN_TRANSACTION]
