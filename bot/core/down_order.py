"""The order a down's changes run in, and how two states are compared.

A down is first the inverse of the undone migrations; these passes reorder or prune it (views
last, changes to tables dropped later left out, MariaDB's descending indexes after their
column's type), each kept only when the result still reaches the older schema.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import replace

from bot.core.changes import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    AlterEnum,
    AlterSequence,
    Change,
    CreateIndex,
    CreateOpaque,
    CreateTable,
    CreateView,
    DropColumn,
    DropConstraint,
    DropEnum,
    DropIndex,
    DropNamespace,
    DropOpaque,
    DropSequence,
    DropTable,
    DropView,
    MoveColumn,
    RenameColumn,
    RenameEnum,
    RenameIndex,
    RenameTable,
    ReplaceOpaque,
    ReplaceView,
    SetTableComment,
)
from bot.core.model import Dialect, ForeignKey, QName, Schema, Unique, View, qkey
from bot.core.renaming import mentions, pg_view_rename, rename_word
from bot.core.render.sqlite import swap_steps, touches
from bot.core.state import State, StateError


def implied_by_drops(changes: list[Change], dialect: Dialect) -> list[Change]:
    """Leave out changes to a column that the same down drops afterwards.

    PostgreSQL and MySQL drop a column's own indexes and constraints with it, so altering it or
    dropping them first only costs table rebuilds. SQLite refuses to drop an indexed column,
    so there the explicit steps stay.
    """
    if dialect is Dialect.SQLITE:
        return changes
    drops: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(changes):
        if isinstance(c, DropColumn):
            drops.setdefault((str(c.table), c.column.name.lower()), []).append(i)
    # where a name stops meaning the same table: a drop of a column after that is another's
    moved: dict[str, list[int]] = {}
    for i, c in enumerate(changes):
        match c:
            case RenameTable(old, new):
                names = [str(old), str(new)]
            case CreateTable(table) | DropTable(table):
                names = [str(table.name)]
            case _:
                names = []
        for name in names:
            moved.setdefault(name, []).append(i)

    recreated = {c.index.name for c in changes if isinstance(c, CreateIndex)} | {
        c.constraint.name for c in changes if isinstance(c, AddConstraint)
    }

    def only_column(i: int, c: Change) -> bool:
        def later_drop(table: str, cols: tuple[str, ...]) -> bool:
            if len(cols) != 1:
                return False
            drop = next((j for j in drops.get((table, cols[0].lower()), []) if j > i), None)
            end = next((j for j in moved.get(table, []) if j > i), None)
            return drop is not None and (end is None or drop < end)

        if isinstance(c, AlterColumn):
            return later_drop(str(c.table), (c.before.name,)) and c.before.name == c.after.name
        # A primary key or a name that comes back later in the down must be dropped explicitly.
        if isinstance(c, DropConstraint) and isinstance(c.constraint, Unique):
            return c.constraint.name not in recreated and later_drop(
                str(c.table), c.constraint.columns
            )
        if isinstance(c, DropIndex) and all(p.is_column for p in c.index.parts):
            return c.index.name not in recreated and later_drop(
                str(c.index.table), tuple(p.expression for p in c.index.parts)
            )
        return False

    return [c for i, c in enumerate(changes) if not only_column(i, c)]


def reaching(
    newer: Schema, changes: list[Change], older: Schema, fallback: list[Change]
) -> list[Change]:
    """`changes` when they still take `newer` to `older` (a reordering proven), else `fallback`.

    The engine also refuses to drop a table another one still has a foreign key to (the
    model does not), so a reordering that does is not taken either.
    """
    if changes == fallback:
        return changes
    state = State(newer.dialect, newer)
    try:
        for change in changes:
            if isinstance(change, DropTable) and _still_referenced(state, change.table.name):
                return fallback
            state.apply(change)
    except StateError:
        return fallback
    reached = state.snapshot()
    return changes if reached == older or canonical(reached) == canonical(older) else fallback


def _still_referenced(state: State, name: QName) -> bool:
    """Whether another table has a foreign key to table `name`."""
    key = state.key(name)
    return any(
        k != key and any(state.key(fk.ref_table) == key for fk in t.foreign_keys)
        for k, t in state.tables.items()
    )


def descending_after_types(changes: list[Change]) -> list[Change]:
    """MariaDB: an index with a descending part created before a later change of one of its
    columns' type moves after that change.

    On a TEXT column a unique index is a hash (a "long unique") that keeps no order, and
    turning the column back into a VARCHAR makes it an ordinary index with every part
    ascending (bench/fuzz.py seeds 6859, 6969). Nothing in between may need the index (a
    foreign key on its table), or it stays.
    """
    out = list(changes)
    i = 0
    while i < len(out):
        change = out[i]
        if isinstance(change, CreateIndex) and any(p.desc for p in change.index.parts):
            cols = {p.expression.lower() for p in change.index.parts if p.is_column}
            table = qkey(change.index.table, Dialect.MYSQL)
            last = None
            for j in range(i + 1, len(out)):
                later = out[j]
                if isinstance(later, AlterColumn) and qkey(later.table, Dialect.MYSQL) == table:
                    if later.before.name.lower() in cols and later.before.type != later.after.type:
                        last = j
                    continue
                if (
                    isinstance(later, (AddColumn, DropColumn))
                    and qkey(later.table, Dialect.MYSQL) == table
                    and later.column.name.lower() not in cols
                ):
                    continue  # another column comes or goes: the index does not mind
                # anything else about this table (the index itself, a foreign key that may
                # need it, a rename) keeps the order from here on
                own = _own_table(later)
                if isinstance(later, (RenameTable, CreateTable, DropTable, DropIndex)) or (
                    own is not None and qkey(own, Dialect.MYSQL) == table
                ):
                    break
            if last is not None:
                out.insert(last, out.pop(i))
                continue
        i += 1
    return out


def before_table_drop(newer: Schema, changes: list[Change], older: Schema) -> list[Change]:
    """Leave out changes to a table that the same down drops afterwards.

    Each only changes rows about to be deleted, and can fail on them (a NOT NULL column
    re-created with nothing to fill it; on SQLite each is a whole table rebuild). Kept when
    anything else in between names the table (a view, a foreign key), or when the result
    misses `older`.
    """
    swaps = swap_steps(changes)
    doomed: set[tuple[str, str]] = set()  # tables dropped later, by the name they have here
    keep = [True] * len(changes)
    state = State(newer.dialect, newer)
    for i in reversed(range(len(changes))):
        change = changes[i]
        if i in swaps:
            swapped, steps = swaps[i]
            if i == steps[-1] and state.key(swapped) in doomed:
                for k in steps:
                    keep[k] = False
            continue
        match change:
            case DropTable(table):
                doomed.add(state.key(table.name))
                continue
            case RenameTable(old, new):
                was = state.key(new) in doomed
                doomed -= {state.key(new), state.key(old)}
                if was:
                    doomed.add(state.key(old))
                continue
            case CreateTable(table):
                doomed.discard(state.key(table.name))
            case (
                DropEnum()
                | AlterEnum()
                | RenameEnum()
                | DropSequence()
                | AlterSequence()
                | DropOpaque()
                | ReplaceOpaque()
                | DropNamespace()
            ):
                # a column may use what this drops or changes (a type, a sequence, a
                # domain): the table's own changes before it stay
                doomed.clear()
                continue
        own = _own_table(change)
        if own is not None and state.key(own) in doomed:
            keep[i] = False
            continue
        doomed -= {key for key in doomed if _names_table(change, key, state)}
    pruned = [c for c, k in zip(changes, keep, strict=True) if k]
    return reaching(newer, pruned, older, changes)


def parents_first(newer: Schema, changes: list[Change], older: Schema) -> list[Change]:
    """SQLite: a table the down creates moves up to where its name is free, when a change
    in between is about a table whose foreign key (in `older`) references it.

    That change may be a rebuild, whose copy checks the key: foreign keys stay on inside the
    migration tool's transaction, and a key naming a table not there yet refuses every row.
    Kept only when the order still reaches `older`.
    """
    if newer.dialect is not Dialect.SQLITE:
        return changes
    children: dict[tuple[str, str], set[tuple[str, str]]] = {}  # parent -> its children
    for key, table in older.tables.items():
        for fk in table.foreign_keys:
            parent = qkey(fk.ref_table, newer.dialect)
            if parent != key:
                children.setdefault(parent, set()).add(key)
    moved = list(changes)
    for change in changes:
        if not isinstance(change, CreateTable):
            continue
        key = qkey(change.table.name, newer.dialect)
        kids = children.get(key)
        if not kids:
            continue
        at = next(k for k, c in enumerate(moved) if c is change)  # by identity: twins
        i = at
        while i > 0 and not touches(moved[i - 1], key) and not _names_view_key(moved[i - 1], key):
            i -= 1
        if any(touches(c, kid) for c in moved[i:at] for kid in kids):
            moved.insert(i, moved.pop(at))
    return reaching(newer, moved, older, changes)


def _names_view_key(change: Change, key: tuple[str, str]) -> bool:
    """A view change with this name: SQLite's tables and views share one namespace."""
    match change:
        case CreateView(view) | DropView(view) | ReplaceView(_, view):
            return qkey(view.name, Dialect.SQLITE) == key
    return False


def _own_table(change: Change) -> QName | None:
    """The table a change builds on and nothing else (its columns, constraints, new indexes
    and triggers), or None. Dropping an index or trigger first costs nothing: kept."""
    match change:
        case (
            AddColumn(table=t)
            | DropColumn(table=t)
            | RenameColumn(table=t)
            | AlterColumn(table=t)
            | MoveColumn(table=t)
            | AddConstraint(table=t)
            | DropConstraint(table=t)
            | SetTableComment(table=t)
            | RenameIndex(table=t)
        ):
            return t
        case CreateIndex(index):
            return index.table
        case CreateOpaque(obj) | ReplaceOpaque(_, obj):
            return obj.table
    return None


def _names_table(change: Change, key: tuple[str, str], state: State) -> bool:
    """Whether `change` creates something that refers to the table with this key."""
    match change:
        case CreateView(view) | ReplaceView(_, view):
            return mentions(view.definition, key[1])
        case CreateOpaque(obj) | ReplaceOpaque(_, obj):
            return mentions(obj.definition, key[1])
        case CreateTable(table):
            return any(state.key(fk.ref_table) == key for fk in table.foreign_keys)
        case AddConstraint(_, ForeignKey() as fk):
            return state.key(fk.ref_table) == key
    return False


def views_last(changes: list[Change], dialect: Dialect | None = None) -> list[Change]:
    """A view (re)created before a change to a table it reads moves after that change.

    Engines bind a view to the columns it reads when it is created, so a view restored before
    the rename or column it needs is back fails (MySQL) or binds to the wrong thing. Other
    changes keep their order (triggers on a view must follow the view).
    """
    out = list(changes)
    i = 0
    while i < len(out):
        c = out[i]
        if isinstance(c, (CreateView, ReplaceView)):
            view = c.view if isinstance(c, CreateView) else c.after
            # never past the view's own next drop or replacement: it would outlive it
            limit = next((j for j in range(i + 1, len(out)) if _names_view(out[j], view)), len(out))
            last = max(
                (
                    j
                    for j in range(i + 1, limit)
                    if _touches_table_of(out[j], view.definition)
                    # A view that no longer reads a column must let go of it before it is
                    # dropped (`SELECT *` would bind it again, so that one waits).
                    and not (isinstance(out[j], DropColumn) and "*" not in view.definition)
                ),
                default=None,
            )
            if last is not None:
                # The view now comes after renames it used to precede: it must say the names
                # those renames give, as the engine (and our state) would have followed them.
                for passed in out[i + 1 : last + 1]:
                    if isinstance(passed, RenameTable):
                        view = replace(
                            view,
                            definition=rename_word(
                                view.definition, passed.old.name, passed.new.name
                            ),
                        )
                    elif (
                        isinstance(passed, RenameColumn)
                        and dialect in (Dialect.POSTGRES, Dialect.SQLITE)
                        and _touches_table_of(passed, view.definition)
                    ):
                        # PostgreSQL follows a column rename inside a view, keeping its output
                        # name (`c AS e` once `e` became `c`; plain `e` when it is `e` again);
                        # SQLite rewrites the column's name in the view's text
                        follow = pg_view_rename if dialect is Dialect.POSTGRES else rename_word
                        view = replace(
                            view, definition=follow(view.definition, passed.old, passed.new)
                        )
                moved: Change = (
                    CreateView(view) if isinstance(c, CreateView) else ReplaceView(c.before, view)
                )
                out.pop(i)
                out.insert(last, moved)
                continue
        i += 1
    return out


def _names_view(change: Change, view: View) -> bool:
    """Whether `change` drops, replaces or creates the view of that name."""
    match change:
        case DropView(other) | CreateView(other) | ReplaceView(_, other):
            return other.name == view.name
    return False


def _touches_table_of(change: Change, definition: str) -> bool:
    table = getattr(change, "table", None)
    if isinstance(change, RenameTable):
        names = [change.old.name, change.new.name]
    elif isinstance(change, (CreateTable, DropTable)):
        names = [change.table.name.name]
    elif (
        table is not None
        and hasattr(table, "name")
        and not isinstance(change, (CreateTable, DropTable))
    ):
        names = [table.name]
    else:
        return False
    return any(re.search(rf"(?i)(?<![\w$]){re.escape(n)}(?![\w$])", definition) for n in names)


def tables_emptied(
    newer: Schema,
    changes: list[Change],
    older: Schema,
    kept: Container[int] = (),
    *,
    copies: bool | Container[str] = True,
) -> set[str]:
    """Tables of `older` that `changes` would rebuild empty while dropping the rows' table.

    `kept` are positions of changes rendered as a rebuild that keeps the rows: skipped here.

    Follows each table through renames: a name that ends up on a freshly created table, while
    the table that held it in `newer` is dropped, means an inversion that loses every row (as
    inverting a shadow-table swap does), where the diff would alter the table in place.
    Without `copies` (no statement of the migration moves rows), a table the migration made
    only after dropping the older one holds none of its rows: it was replaced, not rebuilt,
    and inverting (drop it, create the older one) is right where the diff would convert its
    rows to columns they never belonged to. `copies` may name the tables rows were copied
    into (lower-case, unqualified): a table none of whose names is one holds none either.
    """
    origin = {key: key for key in newer.tables}  # current key -> the `newer` table it is
    names = {key: {key[1]} for key in newer.tables}  # a `newer` table -> the names it has had
    made: dict[tuple[str, str], set[tuple[str, str]]] = {}  # created here -> `newer` tables alive
    state = State(newer.dialect, newer)
    dropped: set[tuple[str, str]] = set()
    for i, change in enumerate(changes):
        if i in kept:
            continue
        if isinstance(change, RenameTable):
            old, new = state.key(change.old), state.key(change.new)
            src = origin.pop(old, None)
            if src is not None:
                origin[new] = src
                names[src].add(new[1])
            if old in made:
                made[new] = made.pop(old)
        elif isinstance(change, CreateTable):
            key = state.key(change.table.name)
            origin.pop(key, None)
            made[key] = set(origin.values())
        elif isinstance(change, DropTable):
            key = state.key(change.table.name)
            src = origin.pop(key, None)
            made.pop(key, None)
            if src is not None:
                dropped.add(src)
    return {
        str(older.tables[key].name)
        for key in older.tables
        if key in newer.tables
        and key not in origin
        and key in dropped
        and (_copied(copies, names[key]) or key in made.get(key, {key}))
    }


def _copied(copies: bool | Container[str], names: set[str]) -> bool:
    if isinstance(copies, bool):
        return copies
    return any(n.lower() in copies for n in names)


_TICKED = re.compile(r"'(?:[^'\\]|''|\\.)*'|`(\w+)`")


def _unticked(text: str) -> str:
    """MySQL expression text with backticks around plain names taken off, for comparing only:
    a column renamed to a keyword and back comes back in backticks."""
    return _TICKED.sub(lambda m: m.group(1) or m.group(0), text)


def canonical(schema: Schema) -> Schema:
    """The schema with view definitions in one spelling, for comparing states.

    A view re-bound through a rename and back reads the same but is spelled by sqlglot, not
    by its author; the engine stores its own form anyway. Names are compared as the engine
    reads them: `"a"` and `a` are one name (a rename and back may drop the quotes), `"A"` is
    another. A table's indexes have no order: one dropped and created again comes back last;
    nor have PostgreSQL's constraints.
    """
    import sqlglot
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    tables = {
        key: replace(
            table,
            indexes=tuple(sorted(table.indexes, key=lambda i: i.name.lower())),
            checks=tuple(replace(c, expression=_unticked(c.expression)) for c in table.checks)
            if schema.dialect is Dialect.MYSQL
            # PostgreSQL keeps named constraints apart, in no order; SQLite's are the table's
            # text, and MariaDB numbers the names it gives foreign keys in their order
            else tuple(sorted(table.checks, key=lambda c: c.name or ""))
            if schema.dialect is Dialect.POSTGRES
            else table.checks,
            foreign_keys=tuple(sorted(table.foreign_keys, key=lambda c: c.name or ""))
            if schema.dialect is Dialect.POSTGRES
            else table.foreign_keys,
            uniques=tuple(sorted(table.uniques, key=lambda c: c.name or ""))
            if schema.dialect is Dialect.POSTGRES
            else table.uniques,
        )
        for key, table in schema.tables.items()
    }

    views = {}
    for key, view in schema.views.items():
        try:
            tree = sqlglot.parse_one(view.definition, read=schema.dialect.value)
            text = normalize_identifiers(tree, dialect=schema.dialect.value).sql(
                schema.dialect.value, identify=True
            )
        except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, RecursionError):
            # an unterminated quote, or nesting too deep: compare the text as written
            text = view.definition
        views[key] = replace(view, definition=text)
    return replace(schema, tables=tables, views=views)
