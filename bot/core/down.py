"""Compute the down-migration from a newer schema back to an older one.

When the migrations being undone are known, their own changes are inverted (renames go back
as renames, dropped objects return with their exact definitions), as Alembic's `reverse()`
does. The inversion is then checked against the state diff: applied to the newer schema it
must give the older one. When it doesn't, the diff is used and the reason is kept.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

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
    RenameColumn,
    RenameEnum,
    RenameIndex,
    RenameTable,
    ReplaceOpaque,
    ReplaceView,
    SetTableComment,
    reverse_all,
)
from bot.core.diff import diff
from bot.core.model import Check, Dialect, ForeignKey, QName, Schema, Unique, View, qkey
from bot.core.renaming import pg_view_rename, rename_word
from bot.core.render import Rendered, render
from bot.core.render.mysql_options import other_options
from bot.core.render.sqlite import Gap, GapKind, render_with_gaps, swap_steps
from bot.core.replay import History, Migration, ParseCache, Step, Unmodelled, replay
from bot.core.state import State, StateError, apply_changes


class Method(StrEnum):
    INVERSION = "inversion"
    DIFF = "diff"


@dataclass(frozen=True)
class Down:
    """The down-migration: changes, their SQL, how they were found, and what is unknown."""

    changes: tuple[Change, ...]
    statements: tuple[Rendered, ...]
    method: Method
    unmodelled: tuple[Unmodelled, ...] = ()
    note: str | None = None  # why inversion was not used, when it wasn't
    # not modelled, but not this down's concern: unrelated to what it changes, or settled
    # by replaying the history on a real engine; shown, never gating
    listed: tuple[Unmodelled, ...] = ()

    @property
    def complete(self) -> bool:
        """False when some statement's effect is unknown: the down may miss something."""
        return not self.unmodelled


def compute_down(newer: Schema, older: Schema, undone: Sequence[Step] | None = None) -> Down:
    """The down taking a database at `newer` to `older`; `undone` are the steps between them."""
    unmodelled = tuple(u for s in undone or () for u in s.unmodelled)
    renames: list[Change] = []
    if undone is not None:
        inverse = views_last(reverse_all([c for s in undone for c in s.changes]), newer.dialect)
        renames = [c for c in inverse if isinstance(c, (RenameTable, RenameColumn))]
        try:
            reached = apply_changes(newer, inverse)
        except StateError as err:
            note = f"inverting the migration failed ({err}); used the schema diff"
        else:
            # SQLite's renderer turns the swaps it knows into its row-keeping table rebuild.
            kept = swap_steps(inverse) if newer.dialect is Dialect.SQLITE else set()
            copies = any(s.data for s in undone)
            lost = tables_emptied(newer, inverse, older, kept, copies=copies)
            if lost:
                # a shadow-table swap: its table renames are what loses the rows; the
                # others still say what moved
                renames = [
                    c
                    for c in renames
                    if not (isinstance(c, RenameTable) and {str(c.old), str(c.new)} & lost)
                ]
                note = (
                    "inverting the migration would re-create "
                    + ", ".join(sorted(lost))
                    + " empty and drop the table holding its rows; used the schema diff"
                )
            elif reached == older or _canonical(reached) == _canonical(older):  # cheap first
                inverse = implied_by_drops(inverse, newer.dialect)
                inverse = _before_table_drop(newer, inverse, older)
                if newer.dialect is Dialect.MYSQL:
                    inverse = _reaching(newer, _descending_after_types(inverse), older, inverse)
                statements, gaps = _rendered(inverse, newer)
                return Down(tuple(inverse), statements, Method.INVERSION, unmodelled + gaps)
            else:
                note = (
                    "inverting the migration did not reach the older schema; used the schema diff"
                )
    else:
        note = None
    changes, middle = _diff_keeping_renames(newer, older, renames)
    statements, gaps = _rendered(changes, newer)
    if newer.dialect is Dialect.MYSQL:
        gaps += _charset_gaps(middle, older, changes)
    return Down(tuple(changes), statements, Method.DIFF, unmodelled + gaps, note)


def _charset_gaps(middle: Schema, older: Schema, changes: list[Change]) -> tuple[Unmodelled, ...]:
    """Tables the diff keeps whose default character set or collation differs from the older
    table's: the diff does not change it (existing columns keep theirs, columns it adds take
    the newer default), so the down is not complete."""
    created = {qkey(c.table.name, older.dialect) for c in changes if isinstance(c, CreateTable)}
    gaps: list[Unmodelled] = []
    for key, table in older.tables.items():
        now = middle.tables.get(key)
        if now is None or key in created:
            continue
        if _charset(now.options) != _charset(table.options):
            before, after = other_options(now.options), other_options(table.options)
            gaps.append(
                Unmodelled(
                    "",
                    0,
                    "",
                    f"table {table.name}'s default character set or collation differs"
                    f" ({before or 'the server default'} deployed, {after or 'the server default'}"
                    " before): the down does not convert the table, and the columns it adds"
                    " take the deployed default. Convert the table by hand",
                )
            )
    return tuple(gaps)


def _charset(options: str | None) -> str:
    """A MySQL table's character set and collation options, normalised for comparison."""
    text = " ".join(other_options(options).replace("=", " = ").split()).upper()
    return re.sub(r"\bCHARSET\b", "CHARACTER SET", text)


def _rendered(
    changes: list[Change], newer: Schema
) -> tuple[tuple[Rendered, ...], tuple[Unmodelled, ...]]:
    """The down's statements, and what makes them fail on a table with rows.

    A SQLite rebuild re-creating a NOT NULL column without a default has no value to copy
    into it, and PostgreSQL's ADD COLUMN has none to put in it: on any row the down fails.
    The values are gone, so no down can fill them in; the plan must say so rather than call
    the down complete.
    """
    if newer.dialect is Dialect.MYSQL:
        # MariaDB fills a NOT NULL column it adds with the type's implicit default (0, ''),
        # which a CHECK the down restores on it afterwards may refuse
        return tuple(render(changes, newer)), tuple(_checked_adds(changes))
    if newer.dialect is Dialect.POSTGRES:
        rendered = tuple(render(changes, newer))
        gaps = _unfillable_adds(changes, rendered)
        return rendered, tuple(_gap(g, "ADD COLUMN", "a default or a value") for g in gaps)
    statements, rebuild_gaps = render_with_gaps(changes, newer)
    return tuple(statements), tuple(_rebuild_gap(g) for g in dict.fromkeys(rebuild_gaps))


def _rebuild_gap(gap: Gap) -> Unmodelled:
    match gap.kind:
        case GapKind.NOT_NULL:
            return _gap(gap.columns, "the table rebuild", "a value")
        case GapKind.SAME_DEFAULT:
            return _same_default(gap.columns)
        case GapKind.DANGLING_KEY:
            return _dangling_key(gap)


def _gap(column: str, statement: str, fill: str) -> Unmodelled:
    """A column the down brings back NOT NULL with nothing to put in it."""
    return Unmodelled(
        "",
        0,
        "",
        f"{column} comes back NOT NULL without a default, and its values are gone: {statement} "
        "has nothing to put in it, so it fails on a table that has rows. Give the column "
        f"{fill} by hand (or empty the table) before running the down",
    )


def _same_default(columns: str) -> Unmodelled:
    """A UNIQUE column the down brings back with only its default to put in every row."""
    return Unmodelled(
        "",
        0,
        "",
        f"{columns} comes back UNIQUE, and its values are gone: the table rebuild gives every "
        "row its default, so it fails on a table with more than one row. Give it distinct "
        "values by hand (or keep at most one row) before running the down",
    )


def _dangling_key(gap: Gap) -> Unmodelled:
    """A SQLite rebuild whose copy needs foreign keys off, which a transaction can't give."""
    return Unmodelled(
        "",
        0,
        "",
        f"the table rebuild copies the rows of {gap.columns} into a table whose foreign key "
        f"references {gap.references}, which does not exist at that point: with foreign keys "
        "on, SQLite refuses that copy inside a transaction, where PRAGMA foreign_keys=OFF does "
        "nothing (migration tools run each file in one). Run the down outside a transaction, "
        "with foreign keys off",
    )


def _checked_adds(changes: list[Change]) -> list[Unmodelled]:
    """MySQL columns the down adds back NOT NULL with no default, then puts a CHECK on."""
    gaps: list[Unmodelled] = []
    for i, c in enumerate(changes):
        if not (
            isinstance(c, AddColumn)
            and not c.column.nullable
            and c.column.default is None
            and c.column.generated is None
            and c.column.auto is None
        ):
            continue
        name = c.column.name
        if any(
            isinstance(later, AddConstraint)
            and isinstance(later.constraint, Check)
            and str(later.table) == str(c.table)
            and (
                (later.constraint.column or "").lower() == name.lower()
                or _mentions(later.constraint.expression, name)
            )
            for later in changes[i + 1 :]
        ):
            gaps.append(
                Unmodelled(
                    "",
                    0,
                    "",
                    f"{c.table}.{name} comes back NOT NULL without a default, and its values are"
                    " gone: MySQL fills it with the type's implicit default (0, ''), which the"
                    " CHECK the down then restores on it may refuse on a table with rows. Give"
                    " the column values that pass the CHECK by hand before running the rest",
                )
            )
    return gaps


def _unfillable_adds(changes: list[Change], rendered: tuple[Rendered, ...]) -> list[str]:
    """Columns the down adds back NOT NULL with nothing to fill them, to a table that may have
    rows (not one the down creates): PostgreSQL refuses that on any row."""
    unfillable = {
        f"{c.table}.{c.column.name}"
        for c in changes
        if isinstance(c, AddColumn)
        and not c.column.nullable
        and c.column.default is None
        and c.column.generated is None
        and c.column.auto is None
        and not c.column.type.lower().endswith("serial")
    }
    created: set[str] = set()
    found: list[str] = []
    for r in rendered:
        if r.change == "create_table":
            created.add(r.object)
        elif (
            r.change == "add_column"
            and r.object in unfillable
            and r.object.rsplit(".", 1)[0] not in created
            and "NOT NULL" in r.sql.upper()
        ):
            found.append(r.object)
    return list(dict.fromkeys(found))


def _diff_keeping_renames(
    newer: Schema, older: Schema, renames: list[Change]
) -> tuple[list[Change], Schema]:
    """The schema diff after the migration's renames are undone as renames.

    The diff alone cannot express a rename: it would drop the renamed table or column and
    create it again empty. Each rename that cannot be applied (its new name still taken) is
    left to the diff (its drops are then visible as such to the risk rules); the others stay.
    Also returns `newer` with those renames applied, what the diff starts from.
    """
    kept: list[Change] = []
    middle = newer
    renames = _chained(renames, older)
    for i, rename in enumerate(renames):
        if not _lands_in(rename, older, _later_name(rename, renames[i + 1 :], older)):
            continue
        try:
            middle = apply_changes(middle, [rename])
        except StateError:
            continue
        kept.append(rename)
    return kept + diff(middle, older), middle


def _chained(renames: list[Change], older: Schema) -> list[Change]:
    """`renames` with each chain of table renames through names `older` lacks (`my tab` ->
    `Group` -> `t1`) made one rename to where it lands: step by step, the first step lands
    nowhere, so neither was kept and the diff dropped the table with its rows. A column
    rename inside a chain names the table by where it lands."""

    def key(name: QName) -> tuple[str, str]:
        return qkey(name, older.dialect)

    merged: dict[int, RenameTable] = {}  # first step -> the whole chain as one rename
    skipped: set[int] = set()
    inside: list[tuple[int, int, set[tuple[str, str]], QName]] = []  # first, last, names, end
    for i, change in enumerate(renames):
        if i in skipped or not isinstance(change, RenameTable):
            continue
        if older.table(change.new) is not None:
            continue
        steps, names, name = [i], {key(change.new)}, change.new
        for j in range(i + 1, len(renames)):
            later = renames[j]
            if j not in skipped and isinstance(later, RenameTable) and key(later.old) == key(name):
                steps.append(j)
                name = later.new
                if older.table(name) is not None:
                    break
                names.add(key(name))
        if len(steps) == 1 or older.table(name) is None:
            continue
        merged[i] = RenameTable(change.old, name)
        skipped.update(steps[1:])
        inside.append((i, steps[-1], names, name))
    out: list[Change] = []
    for i, change in enumerate(renames):
        if i in skipped:
            continue
        if isinstance(change, RenameColumn):
            for first, last, names, end in inside:
                if first < i < last and key(change.table) in names:
                    change = replace(change, table=end)
        out.append(merged.get(i, change))
    return out


def _later_name(rename: Change, later: list[Change], older: Schema) -> QName | None:
    """The name a column rename's table ends up with once the table renames after it that
    land in `older` ran (the column may be renamed back while the table has its newer name)."""
    if not isinstance(rename, RenameColumn):
        return None
    name = rename.table
    for c in later:
        if (
            isinstance(c, RenameTable)
            and qkey(c.old, older.dialect) == qkey(name, older.dialect)
            and _lands_in(c, older)
        ):
            name = c.new
    return name


def _lands_in(rename: Change, older: Schema, table_name: QName | None = None) -> bool:
    """A rename that moves a name onto one `older` has (not a shadow-table swap, whose new name
    older lacks). A column's table is looked up under `table_name` when given: the name it
    ends up with. `older` may also have the old name: the migration dropped that column and
    gave its name to the renamed one, which must still go back under its own."""
    if isinstance(rename, RenameTable):
        return older.table(rename.new) is not None and older.table(rename.old) is None
    if isinstance(rename, RenameColumn):
        table = older.table(table_name or rename.table)
        return table is not None and table.column(rename.new, older.dialect) is not None
    return False


def down_between(
    newer: Sequence[Migration],
    older: Sequence[Migration],
    dialect: Dialect,
    cache: ParseCache | None = None,
) -> Down:
    """The down from `newer`'s schema to `older`'s.

    When `older` is a prefix of `newer` (same files, same content) the extra migrations are
    inverted; otherwise the two schemas are diffed.
    """
    cache = cache if cache is not None else ParseCache()
    prefix = len(older) <= len(newer) and all(
        a.path == b.path and a.sql == b.sql for a, b in zip(older, newer, strict=False)
    )
    base = replay(older, dialect, cache=cache)
    if prefix:
        rest = replay(newer[len(older) :], dialect, base.schema, cache)
        down = compute_down(rest.schema, base.schema, rest.steps)
        unknown = base.unmodelled + down.unmodelled
    else:
        full: History = replay(newer, dialect, cache=cache)
        down = compute_down(full.schema, base.schema)
        # the histories' unmodelled statements, and what the diff's own SQL can't do
        unknown = full.unmodelled + base.unmodelled + down.unmodelled
    # What either history couldn't model makes the result uncertain too.
    return Down(
        down.changes, down.statements, down.method, tuple(dict.fromkeys(unknown)), down.note
    )


def split_unmodelled(
    unmodelled: Sequence[Unmodelled], statements: Sequence[Rendered], undone: Sequence[str]
) -> tuple[tuple[Unmodelled, ...], tuple[Unmodelled, ...]]:
    """(gating, listed): an unmodelled statement gates this down when it is in a migration
    being undone (`undone` paths), is not SQL we could read at all, or names an object the
    down changes; an old one about other objects is only listed."""
    names = {
        word.lower()
        for s in statements
        for word in re.findall(r"[\w$]+", s.object)
        if word.lower() not in {"on", "index", "trigger", "function", "extension", "policy"}
    }
    gating: list[Unmodelled] = []
    listed: list[Unmodelled] = []
    for u in unmodelled:
        words = {w.lower() for w in re.findall(r"[\w$]+", u.sql)}
        # dynamic SQL names its objects at run time: it may touch anything
        dynamic = bool(words & {"execute", "prepare", "format"})
        touches = not u.sql.strip() or u.file in undone or dynamic or bool(words & names)
        (gating if touches else listed).append(u)
    return tuple(gating), tuple(listed)


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


def _reaching(
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
    return changes if reached == older or _canonical(reached) == _canonical(older) else fallback


def _still_referenced(state: State, name: QName) -> bool:
    """Whether another table has a foreign key to table `name`."""
    key = state.key(name)
    return any(
        k != key and any(state.key(fk.ref_table) == key for fk in t.foreign_keys)
        for k, t in state.tables.items()
    )


def _descending_after_types(changes: list[Change]) -> list[Change]:
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


def _before_table_drop(newer: Schema, changes: list[Change], older: Schema) -> list[Change]:
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
    return _reaching(newer, pruned, older, changes)


def _own_table(change: Change) -> QName | None:
    """The table a change builds on and nothing else (its columns, constraints, new indexes
    and triggers), or None. Dropping an index or trigger first costs nothing: kept."""
    match change:
        case (
            AddColumn(table=t)
            | DropColumn(table=t)
            | RenameColumn(table=t)
            | AlterColumn(table=t)
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
            return _mentions(view.definition, key[1])
        case CreateOpaque(obj) | ReplaceOpaque(_, obj):
            return _mentions(obj.definition, key[1])
        case CreateTable(table):
            return any(state.key(fk.ref_table) == key for fk in table.foreign_keys)
        case AddConstraint(_, ForeignKey() as fk):
            return state.key(fk.ref_table) == key
    return False


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?i)(?<![\w$]){re.escape(name)}(?![\w$])", text) is not None


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
    copies: bool = True,
) -> set[str]:
    """Tables of `older` that `changes` would rebuild empty while dropping the rows' table.

    `kept` are positions of changes rendered as a rebuild that keeps the rows: skipped here.

    Follows each table through renames: a name that ends up on a freshly created table, while
    the table that held it in `newer` is dropped, means an inversion that loses every row (as
    inverting a shadow-table swap does), where the diff would alter the table in place.
    Without `copies` (no statement of the migration moves rows), a table the migration made
    only after dropping the older one holds none of its rows: it was replaced, not rebuilt,
    and inverting (drop it, create the older one) is right where the diff would convert its
    rows to columns they never belonged to.
    """
    origin = {key: key for key in newer.tables}  # current key -> the `newer` table it is
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
        and (copies or key in made.get(key, {key}))
    }


_TICKED = re.compile(r"'(?:[^'\\]|''|\\.)*'|`(\w+)`")


def _unticked(text: str) -> str:
    """MySQL expression text with backticks around plain names taken off, for comparing only:
    a column renamed to a keyword and back comes back in backticks."""
    return _TICKED.sub(lambda m: m.group(1) or m.group(0), text)


def _canonical(schema: Schema) -> Schema:
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
