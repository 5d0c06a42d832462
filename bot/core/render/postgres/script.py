"""PostgreSQL statements for a list of changes: the order they are written in, what a later
DROP makes unnecessary, and which statements each change becomes.

Every change is rendered against the state it applies to, so statements that need more than
the change itself (an enum re-created for every column that uses it, the sequence behind a
serial column) can find what they touch.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core import changes as ch
from bot.core.model import (
    Check,
    ForeignKey,
    PrimaryKey,
    QName,
    Schema,
    Unique,
    qkey,
)
from bot.core.render import Rendered
from bot.core.render.common import (
    alter_sequence,
    create_sequence,
    create_view,
    drop_view,
    opaque_statements,
)
from bot.core.render.names import ident, literal, qname
from bot.core.render.postgres.enums import alter_enum, create_enum
from bot.core.render.postgres.indexes import constraint_definition, create_index, index_name
from bot.core.render.postgres.tables import (
    PG,
    alter_column,
    column_comment,
    column_definition,
    comment_text,
    create_table,
    references,
    rename,
    restart,
    retyped_serial,
    serial_sequence,
    serial_type,
    set_options,
    statistics_target,
)
from bot.core.state import State


def render(changes: list[ch.Change], before: Schema) -> list[Rendered]:
    """PostgreSQL statements taking a database at `before` through `changes`, in order.

    Changes that a later DROP TABLE / DROP COLUMN makes anyway (an index or comment of a table
    about to go, the foreign key of a column about to go) are applied to the working state but
    not written out: PostgreSQL drops them with their table or column.
    """
    changes = _merge_steps(changes)
    skipped = _subsumed(changes, _key_columns(changes, before))
    kept = _kept_sequences(changes)
    skipped |= {i + 1 if isinstance(changes[i], ch.AlterColumn) else i for i in kept}
    unfilled = {i for i in range(len(changes)) if _default_into_unique(changes, i)}
    state = State(before.dialect, before)
    fresh = {state.key(c.sequence.name) for c in changes if isinstance(c, ch.CreateSequence)}
    out: list[Rendered] = []
    relaxed = False
    for i, change in enumerate(changes):
        if not relaxed and _sql_body(change):
            # A LANGUAGE sql body is checked against the tables when it is created, and they
            # may come later in this script: relax that for the session, as pg_dump does.
            out.append(Rendered.of("SET check_function_bodies = false", change))
            relaxed = True
        if i in skipped:
            pass
        elif (deferral := _deferral_only(changes, i)) is not None:
            out.append(Rendered.of(deferral, change))
            skipped.add(i + 1)
        elif isinstance(change, ch.AlterColumn) and (i in kept or i - 1 in kept):
            table = state.require_table(change.table)
            sql = alter_column(table, change.before, change.after, keep_sequence=True)
            seq = serial_sequence(table.name, change.after.name)
            if serial_type(change.after) and state.key(seq) in fresh:
                # The sequence was made anew above (the migration dropped it): it starts
                # at 1, below ids the column already holds.
                sql.append(restart(literal(qname(seq, PG), PG), table.name, change.after.name))
            out.extend(Rendered.of(s, change) for s in sql)
        elif i in unfilled:
            assert isinstance(change, ch.AddColumn)
            column = change.column
            sql = _statements(replace(change, column=replace(column, default=None)), state)
            name = f"{qname(change.table, PG)} ALTER COLUMN {ident(column.name, PG)}"
            sql.insert(1, f"ALTER TABLE {name} SET DEFAULT {column.default}")
            out.extend(Rendered.of(s, change) for s in sql)
        else:
            out.extend(Rendered.of(sql, change) for sql in _statements(change, state))
        state.apply(change)
    return out


# A default that is one value for every row: a literal, maybe cast.
_CONSTANT = re.compile(
    r"(?is)\(*\s*(-?\d[\d.e+-]*|'(?:[^']|'')*'|true|false)\s*\)*(::[\w\s\"().,]+)?"
)


def _default_into_unique(changes: list[ch.Change], i: int) -> bool:
    """A nullable column added back with a constant default that a later change makes unique
    on its own: ADD COLUMN would write that one value into every row, and the UNIQUE then fails
    on any two. Its values are gone anyway, so the rows get NULL and the default is set after.
    """
    change = changes[i]
    if not (
        isinstance(change, ch.AddColumn)
        and change.column.nullable
        and change.column.default is not None
        and _CONSTANT.fullmatch(change.column.default.strip())
    ):
        return False
    key, name = qkey(change.table, PG), change.column.name
    for later in changes[i + 1 :]:
        match later:
            case ch.AddConstraint(t, Unique(columns=(only,), nulls_not_distinct=False)) if (
                qkey(t, PG) == key and only == name
            ):
                return True
            case ch.CreateIndex(index) if (
                index.unique
                and index.where is None
                and qkey(index.table, PG) == key
                and [(p.expression, p.is_column) for p in index.parts] == [(name, True)]
            ):
                return True
            case ch.DropColumn(t, col) | ch.AlterColumn(t, col) if (
                qkey(t, PG) == key and col.name == name
            ):
                return False  # another column by the time a unique is added
            case ch.RenameColumn(t, old) if qkey(t, PG) == key and old == name:
                return False
            case ch.DropTable(table) if qkey(table.name, PG) == key:
                return False
    return False


def _deferral_only(changes: list[ch.Change], i: int) -> str | None:
    """A foreign key dropped and added back differing only in when it is checked: one ALTER
    CONSTRAINT, which neither takes the table's lock for a re-check nor re-reads its rows."""
    match changes[i : i + 2]:
        case [
            ch.DropConstraint(t, ForeignKey() as old),
            ch.AddConstraint(t2, ForeignKey() as new),
        ] if t == t2 and old.name is not None and replace(old, deferrable=new.deferrable) == new:
            timing = new.deferrable or "NOT DEFERRABLE"
            return f"ALTER TABLE {qname(t, PG)} ALTER CONSTRAINT {ident(old.name, PG)} {timing}"
    return None


def _sql_body(change: ch.Change) -> bool:
    """A function or procedure written in SQL (its body is validated at creation)."""
    match change:
        case ch.CreateOpaque(obj) | ch.ReplaceOpaque(_, obj) if obj.kind in {
            "function",
            "procedure",
        }:
            return bool(re.search(r"(?i)\blanguage\s+'?sql'?\b|\bbegin\s+atomic\b", obj.definition))
    return False


def _kept_sequences(changes: list[ch.Change]) -> set[int]:
    """Where a serial column and its sequence part or join, and the sequence stays.

    `ALTER COLUMN id DROP DEFAULT` on a serial leaves its sequence (owned by the column, still
    counting); replay models that as the column ceasing to be serial and a sequence appearing.
    Going back, the sequence is there: SET DEFAULT nextval(...) is all it takes, and keeps the
    sequence's position (a fresh one moved to max(id) + 1 could hand out ids of deleted rows).
    Returns the position of the first change of each such pair.
    """
    pairs: set[int] = set()
    for i in range(len(changes) - 1):
        first, second = changes[i], changes[i + 1]
        match first, second:
            case ch.AlterColumn(t, before, after), ch.CreateSequence(seq) if serial_type(
                before
            ) and not serial_type(after):
                column = before
            case ch.DropSequence(seq), ch.AlterColumn(t, before, after) if serial_type(
                after
            ) and not serial_type(before):
                column = after
            case _:
                continue
        serial = serial_type(column)
        if (
            qkey(seq.name, PG) == qkey(serial_sequence(t, column.name), PG)
            and seq.owned_by is not None
            and " ".join(seq.definition.split()).lower() == f"as {serial}"
        ):
            pairs.add(i)
    return pairs


def _merge_steps(changes: list[ch.Change]) -> list[ch.Change]:
    """Consecutive changes of one enum or one column as one: removing three added values
    re-creates the type once, and a column's type, default and nullability change in one
    ALTER TABLE (one table rewrite at most)."""
    out: list[ch.Change] = []
    for change in changes:
        last = out[-1] if out else None
        if (
            isinstance(change, ch.AlterEnum)
            and isinstance(last, ch.AlterEnum)
            and last.after == change.before
        ):
            out[-1] = ch.AlterEnum(last.before, change.after)
        elif (
            isinstance(change, ch.AlterColumn)
            and isinstance(last, ch.AlterColumn)
            and qkey(last.table, PG) == qkey(change.table, PG)
            and last.after == change.before
        ):
            out[-1] = ch.AlterColumn(change.table, last.before, change.after)
        elif (at := _added_not_null(out, change)) is not None:
            added = out[at]
            assert isinstance(added, ch.AddColumn) and isinstance(change, ch.AlterColumn)
            out[at] = replace(added, column=change.after)
        else:
            out.append(change)
    return out


def _added_not_null(out: list[ch.Change], change: ch.Change) -> int | None:
    """Where `out` adds the column NOT NULL that `change` makes nullable again, with only
    changes of other columns or objects, or constraints and indexes, in between: adding it
    nullable at once is the same end state, and adding it NOT NULL without a default fails on a
    table with rows."""
    if not (
        isinstance(change, ch.AlterColumn)
        and not change.before.nullable
        and replace(change.before, nullable=True) == change.after
    ):
        return None
    name = change.before.name
    for i in range(len(out) - 1, -1, -1):
        other = out[i]
        match other:
            case ch.AddColumn(t, column) if qkey(t, PG) == qkey(change.table, PG) and (
                column == change.before
            ):
                return i
            case ch.AddColumn(_, column) | ch.DropColumn(_, column) if column.name != name:
                continue
            case ch.AlterColumn(_, before, after) if name not in (before.name, after.name):
                continue
            case ch.AddConstraint(_, Check() | Unique() | ForeignKey()) | ch.CreateIndex():
                continue  # NULL passes them as well as any value would
        table = _table_of(other)
        if table is None or qkey(table, PG) != qkey(change.table, PG):
            continue  # not a change of this table: its column's nullability is nothing to it
        return None
    return None


def _table_of(change: ch.Change) -> QName | None:
    """The one table a change is confined to, or None when it reaches beyond one table."""
    match change:
        case (
            ch.AddColumn(t)
            | ch.DropColumn(t)
            | ch.RenameColumn(t)
            | ch.AlterColumn(t)
            | ch.AddConstraint(t)
            | ch.DropConstraint(t)
            | ch.RenameIndex(t)
            | ch.SetTableComment(t)
        ):
            return t
        case ch.CreateIndex(index) | ch.DropIndex(index):
            return index.table
        case ch.DropTable(table):
            return table.name
    return None


def _subsumed(changes: list[ch.Change], key_columns: frozenset[str] = frozenset()) -> set[int]:
    """Positions of changes whose effect a later DROP TABLE or DROP COLUMN has anyway.

    Walks backwards remembering the tables and columns dropped later. Comments go whatever lies
    between; anything else only when everything in between removes something from the same
    table (a foreign key may have to go before another table does, a primary key before its
    replacement is added, an index before another takes its name), and for a column only when
    what lies between is nothing another constraint could depend on.
    """
    tables: dict[tuple[str, str], bool] = {}  # table -> only its own changes since its drop
    # table -> since its drop, only removals or self-contained additions elsewhere and its own
    # changes, all skipped: what adds to or reshapes it can go (those never need its new shape),
    # and must, since it may fail on its rows (a NOT NULL column added back without a default)
    shaped: dict[tuple[str, str], bool] = {}
    columns: dict[tuple[tuple[str, str], str], bool] = {}
    skipped: set[int] = set()
    for i in range(len(changes) - 1, -1, -1):
        change = changes[i]
        table = _table_of(change)
        key = qkey(table, PG) if table is not None else None
        if (
            key is not None
            and key in tables
            and (
                _always_goes(change)
                or (tables[key] and not isinstance(change, ch.DropTable))
                or (shaped[key] and _reshapes_or_drops(change, key_columns))
            )
        ):
            skipped.add(i)
            continue
        if key is not None and _goes_with_column(change, key, columns):
            skipped.add(i)
            continue
        removes = isinstance(
            change,
            ch.DropTable | ch.DropConstraint | ch.DropIndex | ch.DropColumn | ch.SetTableComment,
        )
        # A DROP COLUMN doesn't drop the keys a constraint of its own table may reference
        # (a self-reference to the primary key): only what nothing can depend on may lie between.
        harmless = (
            _always_goes(change)
            or (
                isinstance(change, ch.DropConstraint)
                and isinstance(change.constraint, Check | ForeignKey)
            )
            or (isinstance(change, ch.DropIndex) and not change.index.unique)
        )
        for name in tables:
            tables[name] = tables[name] and removes and name == key
            shaped[name] = shaped[name] and name != key and _needs_no_other_table(change)
        for column in columns:
            columns[column] = columns[column] and harmless and column[0] == key
        match change:
            case ch.DropTable(t):
                tables[qkey(t.name, PG)] = shaped[qkey(t.name, PG)] = True
            case ch.RenameTable(old, new) if qkey(new, PG) in tables:
                tables[qkey(old, PG)] = tables.pop(qkey(new, PG))
                shaped[qkey(old, PG)] = shaped.pop(qkey(new, PG))
                for tk, col in [c for c in columns if c[0] == qkey(new, PG)]:
                    columns[(qkey(old, PG), col)] = columns.pop((tk, col))
            case ch.DropColumn(t, col):
                columns[(qkey(t, PG), col.name)] = True
            case ch.RenameColumn(t, old, new) if (qkey(t, PG), new) in columns:
                columns[(qkey(t, PG), old)] = columns.pop((qkey(t, PG), new))
            case ch.AddColumn(t, col):
                columns.pop((qkey(t, PG), col.name), None)
    return skipped


def _reshapes_or_drops(change: ch.Change, key_columns: frozenset[str]) -> bool:
    """A change of a table that a removal elsewhere never needs done (or not done): all but
    dropping a foreign key, or a column that may hold one (DROP TABLE of the table it points
    at needs it gone first)."""
    match change:
        case ch.DropConstraint(_, ForeignKey()):
            return False
        case ch.DropColumn(_, column):
            return column.name not in key_columns
    return isinstance(
        change,
        ch.AddColumn
        | ch.AlterColumn
        | ch.RenameColumn
        | ch.AddConstraint
        | ch.DropConstraint
        | ch.CreateIndex
        | ch.DropIndex
        | ch.RenameIndex
        | ch.SetTableComment,
    )


def _key_columns(changes: list[ch.Change], before: Schema) -> frozenset[str]:
    """Every name a foreign key's column has on any table, before or during `changes`."""
    names = {c for t in before.tables.values() for fk in t.foreign_keys for c in fk.columns}
    for change in changes:
        match change:
            case ch.AddConstraint(_, ForeignKey(_, cols)):
                names.update(cols)
            case ch.CreateTable(table):
                names.update(c for fk in table.foreign_keys for c in fk.columns)
    renames = [(c.old, c.new) for c in changes if isinstance(c, ch.RenameColumn)]
    for _ in range(len(renames) + 1):  # a chain of renames carries a key column's name along
        grown = (
            names | {n for o, n in renames if o in names} | {o for o, n in renames if n in names}
        )
        if grown == names:
            break
        names = grown
    return frozenset(names)


def _needs_no_other_table(change: ch.Change) -> bool:
    """A change that only removes something of another table, or a view, or adds to another
    table what reads no other (a column with a constant default or none, an ALTER COLUMN to
    one, a CHECK, a key). Not a type, sequence or function: a column of the table may still
    use it, and must go first."""
    match change:
        case ch.AddColumn(_, column) | ch.AlterColumn(_, _, column):
            return column.generated is None and (
                column.default is None or _CONSTANT.fullmatch(column.default.strip()) is not None
            )
        case ch.AddConstraint(_, Check() | Unique() | PrimaryKey()):
            return True
    return isinstance(
        change, ch.DropTable | ch.DropColumn | ch.DropConstraint | ch.DropIndex | ch.DropView
    )


def _always_goes(change: ch.Change) -> bool:
    """Comments: removing them first never matters to anything else. (Not even an index drop
    is like that: a later change may create another index of the same name.)"""
    match change:
        case ch.SetTableComment():
            return True
        case ch.AlterColumn(_, before, after):
            return replace(after, comment=before.comment) == before
    return False


def _goes_with_column(
    change: ch.Change, table: tuple[str, str], columns: dict[tuple[tuple[str, str], str], bool]
) -> bool:
    """Whether DROP COLUMN of a column dropped later removes what `change` removes."""
    match change:
        case ch.DropIndex(index):
            used = [p.expression for p in index.parts if p.is_column] + list(index.include)
            return any(columns.get((table, c), False) for c in used)
        case ch.DropConstraint(_, PrimaryKey(_, cols) | Unique(_, cols) | ForeignKey(_, cols)):
            return any(columns.get((table, c), False) for c in cols)
        case ch.DropConstraint(_, Check(_, expression)):
            return any(
                dropped and t == table and references(expression, c)
                for (t, c), dropped in columns.items()
            )
        case ch.AlterColumn(_, before, after) if (table, after.name) in columns:
            return before.name == after.name and (
                columns[(table, after.name)] or _always_goes(change)
            )
    return False


def _statements(change: ch.Change, state: State) -> list[str]:
    match change:
        case ch.CreateNamespace(name):
            return [f"CREATE SCHEMA {ident(name, PG)}"]
        case ch.DropNamespace(name):
            return [f"DROP SCHEMA {ident(name, PG)}"]
        case ch.CreateTable(table):
            return create_table(table)
        case ch.DropTable(table):
            return [f"DROP TABLE {qname(table.name, PG)}"]
        case ch.RenameTable(old, new):
            return rename(old, new, "TABLE")
        case ch.AddColumn(tname, column):
            out = [f"ALTER TABLE {qname(tname, PG)} ADD COLUMN {column_definition(column)}"]
            out += retyped_serial(tname, column)
            out += statistics_target(tname, column)
            if column.comment is not None:
                out.append(column_comment(tname, column.name, column.comment))
            return out
        case ch.DropColumn(tname, column):
            return [f"ALTER TABLE {qname(tname, PG)} DROP COLUMN {ident(column.name, PG)}"]
        case ch.RenameColumn(tname, old, new):
            return [
                f"ALTER TABLE {qname(tname, PG)} RENAME COLUMN {ident(old, PG)} TO {ident(new, PG)}"
            ]
        case ch.AlterColumn(tname, before, after):
            # PostgreSQL has no cast from an enum to anything but text.
            via_text = state.is_enum(before.type) and not state.is_enum(after.type)
            return alter_column(state.require_table(tname), before, after, via_text=via_text)
        case ch.AddConstraint(tname, con):
            return [f"ALTER TABLE {qname(tname, PG)} ADD {constraint_definition(con)}"]
        case ch.DropConstraint(tname, con):
            if con.name is None:
                raise ValueError(f"cannot drop an unnamed {con.kind} constraint on {tname}")
            return [f"ALTER TABLE {qname(tname, PG)} DROP CONSTRAINT {ident(con.name, PG)}"]
        case ch.CreateIndex(index):
            return [create_index(index)]
        case ch.DropIndex(index):
            return [f"DROP INDEX {index_name(index.table, index.name)}"]
        case ch.RenameIndex(tname, old, new):
            return [f"ALTER INDEX {index_name(tname, old)} RENAME TO {ident(new, PG)}"]
        case ch.RenameConstraint(tname, old, new):
            return [
                f"ALTER TABLE {qname(tname, PG)} RENAME CONSTRAINT {ident(old, PG)} TO {ident(new, PG)}"
            ]
        case ch.SetTableComment(tname, _, after):
            return [f"COMMENT ON TABLE {qname(tname, PG)} IS {comment_text(after)}"]
        case ch.SetTableOptions(tname, before_options, after_options):
            return set_options(tname, before_options, after_options)
        case ch.SetClusterOn(tname, _, clustered):
            how = f"CLUSTER ON {ident(clustered, PG)}" if clustered else "SET WITHOUT CLUSTER"
            return [f"ALTER TABLE {qname(tname, PG)} {how}"]
        case ch.SetUnlogged(tname, _, unlogged):
            return [f"ALTER TABLE {qname(tname, PG)} SET {'UNLOGGED' if unlogged else 'LOGGED'}"]
        case ch.CreateView(view):
            return [create_view(view, PG)]
        case ch.DropView(view):
            return [drop_view(view, PG)]
        case ch.ReplaceView(before_view, after_view):
            # CREATE OR REPLACE VIEW cannot drop, rename or retype columns; re-creating always can.
            return [drop_view(before_view, PG), create_view(after_view, PG)]
        case ch.CreateEnum(enum):
            return [create_enum(enum)]
        case ch.DropEnum(enum):
            return [f"DROP TYPE {qname(enum.name, PG)}"]
        case ch.AlterEnum(before_enum, after_enum):
            return alter_enum(before_enum, after_enum, state)
        case ch.RenameEnum(old, new):
            return rename(old, new, "TYPE")
        case ch.CreateSequence(seq):
            return [create_sequence(seq, PG)]
        case ch.DropSequence(seq):
            return [f"DROP SEQUENCE {qname(seq.name, PG)}"]
        case ch.AlterSequence(before_seq, after_seq):
            return alter_sequence(before_seq, after_seq, PG)
        case ch.CreateOpaque() | ch.DropOpaque() | ch.ReplaceOpaque():
            return opaque_statements(change, or_replace=True)
    raise TypeError(f"not a change: {change!r}")
