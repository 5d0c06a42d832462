"""Compute the down-migration from a newer schema back to an older one.

When the migrations being undone are known, their own changes are inverted (renames go back
as renames, dropped objects return with their exact definitions), as Alembic's `reverse()`
does. The inversion is then checked against the state diff: applied to the newer schema it
must give the older one. When it doesn't, the diff is used and the reason is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.core.changes import (
    AddColumn,
    AddConstraint,
    Change,
    CreateTable,
    RenameColumn,
    RenameTable,
    reverse_all,
)
from bot.core.diff import diff
from bot.core.down_order import (
    before_table_drop,
    canonical,
    descending_after_types,
    implied_by_drops,
    parents_first,
    reaching,
    tables_emptied,
    views_last,
)
from bot.core.model import Check, Dialect, QName, Schema, qkey
from bot.core.renaming import mentions
from bot.core.render import Rendered, render
from bot.core.render.mysql_options import other_options
from bot.core.render.sqlite import Gap, GapKind, render_with_gaps, swap_steps
from bot.core.replay import History, Migration, ParseCache, Step, Unmodelled, replay
from bot.core.state import StateError, apply_changes


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
            lost = tables_emptied(newer, inverse, older, kept, copies=True)
            if lost:  # which tables got rows: read only when a table looks replaced
                lost = tables_emptied(
                    newer, inverse, older, kept, copies=_copied_into(undone, newer)
                )
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
            elif reached == older or canonical(reached) == canonical(older):  # cheap first
                inverse = implied_by_drops(inverse, newer.dialect)
                inverse = before_table_drop(newer, inverse, older)
                inverse = parents_first(newer, inverse, older)
                if newer.dialect is Dialect.MYSQL:
                    inverse = reaching(newer, descending_after_types(inverse), older, inverse)
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


# INSERT [OR ...] INTO name: a table's name, maybe qualified and quoted, where rows go
_INSERT_INTO = re.compile(
    r"""(?is)\s*(?:insert|replace)(?:\s+or\s+\w+)?(?:\s+ignore)?\s+into\s+"""
    r"""((?:(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[\w$]+)\s*\.\s*)*("[^"]+"|`[^`]+`|\[[^\]]+\]|[\w$]+))"""
)

_IN_PLACE = re.compile(r"(?is)\s*(?:delete|update|truncate)\b")


def _copied_into(undone: Sequence[Step], newer: Schema) -> bool | frozenset[str]:
    """The tables (lower-case, unqualified) the undone migrations insert rows into; True when
    rows may reach a table no INSERT names: a statement not read here (MERGE, COPY, SELECT
    INTO, an unmodelled DO block or procedure call), an INSERT into a view or a partitioned
    table (its rows land in the partitions), a trigger. A table made by the migration that
    got none holds no row of the table it replaced (fuzz seed 7776: a dropped table's name
    taken again)."""
    if any(step.unmodelled for step in undone):
        return True
    if any(obj.kind.lower() == "trigger" for obj in newer.opaque.values()):
        return True
    names: set[str] = set()
    for step in undone:
        for data in step.data:
            m = _INSERT_INTO.match(data.sql)
            if m is None:
                if _IN_PLACE.match(data.sql):
                    continue  # rows changed or removed where they are: none added anywhere
                return True
            target = m.group(2)
            if target[0] in '"`[' and target[0] * 2 in target[1:-1]:
                return True  # a doubled quote inside the name: not read here
            names.add(target.strip('"`[]').lower())
    plain = {
        t.name.name.lower(): t
        for t in newer.tables.values()
        if t.partition_by is None and t.partition_of is None
    }
    if any(n not in plain for n in names):
        return True  # a view, a partitioned table or one gone since: not followed here
    return frozenset(names) if names else False


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
        case GapKind.KEY_MISMATCH:
            return _mismatched_key(gap)


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


def _mismatched_key(gap: Gap) -> Unmodelled:
    """A SQLite rebuild of a table whose foreign key names parent columns without a key."""
    return Unmodelled(
        "",
        0,
        "",
        f"the table rebuild copies the rows of {gap.columns} into a table whose foreign key "
        f"references columns of {gap.references} that are neither its primary key nor UNIQUE "
        '("foreign key mismatch"): with foreign keys on, SQLite refuses every row of it, '
        "inside the migration tool's transaction too. Fix the key, or run the down outside "
        "a transaction with foreign keys off",
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
                or mentions(later.constraint.expression, name)
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
