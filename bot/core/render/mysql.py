"""MySQL 8 / MariaDB 10.11 DDL for schema changes.

MySQL changes a column by restating it whole (`MODIFY COLUMN` with the full definition), so
every change is rendered against the state it applies to. An AUTO_INCREMENT column must lead
some key; when a change would leave it without one (its key dropped first, or the column
added before its key), the renderer takes AUTO_INCREMENT off for that stretch and puts it back,
in the same statement, once a key for it exists again.

MariaDB keeps a column-level CHECK in the column's definition, named after the column: DROP
CONSTRAINT can't remove it, and a MODIFY that leaves it out drops it. So a check named after a
column of its table is rendered inline, and every restatement of that column carries it.

Consecutive changes to one column (a type change, its check dropped and re-added, a rename) are
one restatement: they become a single MODIFY / CHANGE (each is a table rebuild), and changes to
a column that the run then drops become just the DROP COLUMN.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core import changes as ch
from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Constraint,
    Dialect,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Schema,
    Table,
    Unique,
    View,
    fold,
)
from bot.core.renaming import mentions
from bot.core.render import Rendered
from bot.core.render.common import (
    alter_sequence,
    check_body,
    create_sequence,
    create_view,
    drop_view,
    foreign_key_body,
    named,
    opaque_statements,
    with_column_renamed,
)
from bot.core.render.mysql_options import other_options, storage_sql
from bot.core.render.names import ident, idents, literal, qname
from bot.core.state import State

MY = Dialect.MYSQL


def render(changes: list[ch.Change], before: Schema) -> list[Rendered]:
    """MySQL/MariaDB statements taking a database at `before` through `changes`, in order."""
    renderer = _Renderer(State(before.dialect, before))
    out: list[Rendered] = []
    i = 0
    while i < len(changes):
        run = renderer.column_run(changes, i)
        if len(run) > 1:
            main = next((c for c in run if isinstance(c, ch.AlterColumn)), run[-1])
            out.extend(Rendered.of(sql, main) for sql in renderer.restatement(run))
            i += len(run)
        else:
            out.extend(Rendered.of(sql, changes[i]) for sql in renderer.statements(changes[i]))
            i += 1
    return out


def _column_step(change: ch.Change) -> tuple[QName, str, str] | None:
    """(table, column name before, after) when `change` restates one column in place:
    MODIFY/CHANGE, RENAME COLUMN, or its column-level check added or dropped."""
    match change:
        case ch.AlterColumn(tname, before, after) if not _must_recreate(before, after):
            return tname, before.name, after.name
        case ch.RenameColumn(tname, old, new):
            return tname, old, new
        case ch.AddConstraint(tname, Check(column=str(column))) | ch.DropConstraint(
            tname, Check(column=str(column))
        ):
            return tname, column, column
    return None


class _Renderer:
    def __init__(self, state: State) -> None:
        self.state = state
        # AUTO_INCREMENT columns the database currently has without it: (table key, column)
        self.suspended: set[tuple[tuple[str, str], str]] = set()
        # a model may hold what MySQL can't: an AUTO_INCREMENT column with no key. The database
        # then has the column without it (this renderer left it so, earlier in the plan).
        for table in state.tables.values():
            for col in table.columns:
                if col.auto is AutoKind.AUTO_INCREMENT and not _keyed(table, col.name):
                    self.suspended.add((state.key(table.name), fold(col.name, MY)))
        # indexes InnoDB made for a foreign key and dropped on its own when a later CREATE
        # INDEX covered them: their DROP INDEX would fail ("Can't DROP INDEX")
        self.engine_dropped: set[tuple[tuple[str, str], str]] = set()
        # tables and indexes this down creates: written out, so none is an index InnoDB made
        self.made: set[tuple[tuple[str, str], str | None]] = set()

    def column_run(self, changes: list[ch.Change], start: int) -> list[ch.Change]:
        """The changes from `start` that make one restatement of one column (see the module
        docstring); a single change when there is nothing to merge."""
        first = changes[start]
        adding = isinstance(first, ch.AddColumn)
        if isinstance(first, ch.AddColumn):
            tname, current = first.table, first.column.name
        elif (step := _column_step(first)) is not None:
            tname, name, current = step
            if isinstance(first, ch.AddConstraint | ch.DropConstraint) and not self._is_column(
                tname, name
            ):
                return [first]
        else:
            return [first]
        run = [first]
        for change in changes[start + 1 :]:
            if isinstance(change, ch.DropColumn) and not adding:
                if self._same_column(change.table, change.column.name, tname, current):
                    run.append(change)
                break
            step = _column_step(change)
            if step is None or not self._same_column(step[0], step[1], tname, current):
                break
            if adding and isinstance(change, ch.RenameColumn):
                break
            run.append(change)
            current = step[2]
        if all(isinstance(c, ch.RenameColumn) for c in run):
            return [first]  # RENAME COLUMN needs no restatement
        return run

    def _is_column(self, tname: QName, name: str) -> bool:
        table = self.state.table(tname)
        return table is not None and table.column(name, MY) is not None

    def _same_column(self, tname: QName, name: str, run_table: QName, current: str) -> bool:
        return self.state.key(tname) == self.state.key(run_table) and self.state.same(name, current)

    def restatement(self, run: list[ch.Change]) -> list[str]:
        """One statement for a run of changes to one column; applies them to the state."""
        first = run[0]
        if isinstance(first, ch.AddColumn):
            tname, start = first.table, first.column.name
        else:
            step = _column_step(first)
            assert step is not None  # column_run only starts runs with these
            tname, start, _ = step
        current = start
        for change in run:
            step = _column_step(change)
            current = step[2] if step is not None else current
            self._track(change)
            self.state.apply(change)
        t = qname(tname, MY)
        if isinstance(run[-1], ch.DropColumn):
            return [f"ALTER TABLE {t} DROP COLUMN {ident(start, MY)}"]
        table = self.state.require_table(tname)
        col = table.column(current, MY)
        assert col is not None
        check = column_check(table, col.name)
        if isinstance(first, ch.AddColumn):
            sql = f"ALTER TABLE {t} ADD COLUMN {self._column(tname, col, None, check)}"
            if first.first:
                sql += " FIRST"
            elif first.after is not None:
                sql += f" AFTER {ident(first.after, MY)}"
            return [sql]
        definition = self._column(tname, col, table, check)
        if start == col.name:
            return [f"ALTER TABLE {t} MODIFY COLUMN {definition}"]
        return [f"ALTER TABLE {t} CHANGE COLUMN {ident(start, MY)} {definition}"]

    def statements(self, change: ch.Change) -> list[str]:
        """The statements for `change`; applies it to the state."""
        if isinstance(change, ch.DropIndex):
            entry = (self.state.key(change.index.table), fold(change.index.name, MY))
            if entry in self.engine_dropped:
                self.engine_dropped.discard(entry)
                self.state.apply(change)
                return []
        if isinstance(change, ch.CreateIndex):
            self.engine_dropped |= self._covered_implicit(change.index)
        out = self._render(change)
        self._track(change)
        if isinstance(change, ch.CreateIndex) and change.index.implicit and out:
            # an index InnoDB made for a key, made again by CREATE INDEX, is the user's now:
            # a later index on its columns leaves it be (fuzz_cli seed 7295)
            change = ch.CreateIndex(replace(change.index, implicit=False))
        self.state.apply(change)
        return out

    def _render(self, change: ch.Change) -> list[str]:
        match change:
            case ch.CreateNamespace(name):
                return [f"CREATE SCHEMA {ident(name, MY)}"]
            case ch.DropNamespace(name):
                return [f"DROP SCHEMA {ident(name, MY)}"]
            case ch.CreateTable(table):
                self.made.add((self.state.key(table.name), None))
                return self._create_table(table)
            case ch.DropTable(table):
                return [f"DROP TABLE {qname(table.name, MY)}"]
            case ch.RenameTable(old, new):
                return [f"RENAME TABLE {qname(old, MY)} TO {qname(new, MY)}"]
            case ch.AddColumn(tname, column, after, first):
                sql = (
                    f"ALTER TABLE {qname(tname, MY)} ADD COLUMN {self._column(tname, column, None)}"
                )
                if first:
                    sql += " FIRST"
                elif after is not None:
                    sql += f" AFTER {ident(after, MY)}"
                return [sql]
            case ch.DropColumn(tname, column):
                return [f"ALTER TABLE {qname(tname, MY)} DROP COLUMN {ident(column.name, MY)}"]
            case ch.RenameColumn(tname, old, new):
                return [
                    f"ALTER TABLE {qname(tname, MY)} RENAME COLUMN {ident(old, MY)} TO {ident(new, MY)}"
                ]
            case ch.AlterColumn(tname, before, after):
                return self._alter_column(tname, before, after)
            case ch.MoveColumn(tname, name, after, first):
                table = self.state.require_table(tname)
                col = self.state.column(tname, name)
                where = "FIRST" if first else f"AFTER {ident(after or '', MY)}"
                definition = self._column(tname, col, table, column_check(table, col.name))
                return [f"ALTER TABLE {qname(tname, MY)} MODIFY COLUMN {definition} {where}"]
            case ch.AddConstraint(tname, Check(column=str(column)) as con) if self._column_level(
                tname, con
            ):
                return [self._restate_column(tname, column, con)]
            case ch.AddConstraint(tname, ForeignKey(name=str(name)) as con):
                # InnoDB makes a named key its own index, named after it, and drops the one it
                # made for the key before (left behind by DROP FOREIGN KEY): name it back
                twin = _implicit_twin(self.state.require_table(tname), con)
                key = self.state.key(tname)
                if (key, None) in self.made or (key, fold(twin or "", MY)) in self.made:
                    twin = None
                out = self._alter_keys(tname, change, f"ADD {constraint_definition(con)}")
                if twin is not None:
                    out.append(
                        f"ALTER TABLE {qname(tname, MY)} RENAME INDEX {ident(name, MY)}"
                        f" TO {ident(twin, MY)}"
                    )
                return out
            case ch.AddConstraint(tname, con):
                return self._alter_keys(tname, change, f"ADD {constraint_definition(con)}")
            case ch.DropConstraint(tname, con):
                return self._drop_constraint(tname, con, change)
            case ch.CreateIndex(index):
                self.made.add((self.state.key(index.table), fold(index.name, MY)))
                if self._needs_alter(index.table, change):
                    return self._alter_keys(index.table, change, f"ADD {index_definition(index)}")
                return [create_index(index)]
            case ch.DropIndex(index):
                if self._needs_alter(index.table, change):
                    return self._alter_keys(
                        index.table, change, f"DROP INDEX {ident(index.name, MY)}"
                    )
                return [f"DROP INDEX {ident(index.name, MY)} ON {qname(index.table, MY)}"]
            case ch.RenameIndex(tname, old, new):
                return [
                    f"ALTER TABLE {qname(tname, MY)} RENAME INDEX {ident(old, MY)} TO {ident(new, MY)}"
                ]
            case ch.SetTableComment(tname, _, after):
                return [f"ALTER TABLE {qname(tname, MY)} COMMENT = {literal(after or '', MY)}"]
            case ch.SetTableOptions(tname, before_options, after_options):
                if other_options(before_options) != other_options(after_options):
                    raise ValueError(
                        f"{tname}: only the engine and row format of a MySQL table are"
                        f" restored ({before_options!r} -> {after_options!r})"
                    )
                storage = storage_sql(before_options, after_options)
                return [f"ALTER TABLE {qname(tname, MY)} {storage}"] if storage else []
            case ch.CreateView(view):
                return [_create_view(view)]
            case ch.DropView(view):
                return [drop_view(view, MY)]
            case ch.ReplaceView(_, after_view):
                return [_create_view(after_view, or_replace=True)]
            case ch.CreateEnum() | ch.DropEnum() | ch.AlterEnum() | ch.RenameEnum():
                raise ValueError(
                    f"MySQL has no enum types ({ch.change_kind(change)} "
                    f"{ch.change_object(change)}); its enums are column types (ENUM('a', 'b'))"
                )
            case ch.CreateSequence(seq):
                return [create_sequence(seq, MY)]
            case ch.DropSequence(seq):
                return [f"DROP SEQUENCE {qname(seq.name, MY)}"]
            case ch.AlterSequence(before_seq, after_seq):
                return alter_sequence(before_seq, after_seq, MY)
            case ch.CreateOpaque() | ch.DropOpaque() | ch.ReplaceOpaque():
                return opaque_statements(change)
        raise TypeError(f"not a change: {change!r}")

    # -- AUTO_INCREMENT bookkeeping ------------------------------------------------------

    def _column(
        self, tname: QName, col: Column, table: Table | None, check: Check | None = None
    ) -> str:
        """A column definition; AUTO_INCREMENT only when `table` (the table as it will be)
        has a key led by the column, otherwise the column is marked suspended. `check` is
        the column's own CHECK, which the definition must restate to keep."""
        entry = (self.state.key(tname), fold(col.name, MY))
        if col.auto is AutoKind.AUTO_INCREMENT and (table is None or not _keyed(table, col.name)):
            self.suspended.add(entry)
            col = replace(col, auto=None)
        else:
            self.suspended.discard(entry)
        return column_definition(col, check)

    def _probe(self, tname: QName, change: ch.Change) -> tuple[Table, Table]:
        """The table before and after `change`, without touching the state."""
        probe = State(self.state.dialect, self.state.snapshot())
        probe.apply(change)
        return self.state.require_table(tname), probe.require_table(tname)

    def _auto_fixes(self, tname: QName, change: ch.Change) -> list[tuple[Column, bool]]:
        """AUTO_INCREMENT columns whose key situation `change` alters: (column, True) when a
        suspended column gets a key back, (column, False) when a live one loses its last."""
        before, after = self._probe(tname, change)
        key = self.state.key(tname)
        fixes = []
        for col in before.columns:
            if col.auto is not AutoKind.AUTO_INCREMENT:
                continue
            suspended = (key, fold(col.name, MY)) in self.suspended
            if suspended == _keyed(after, col.name):
                fixes.append((col, suspended))
        return fixes

    def _foreign_key_fixes(self, tname: QName, change: ch.Change) -> list[ForeignKey]:
        """Foreign keys left without an index they can use once `change` drops a key.

        The engine refuses to drop the last index a foreign key can use. When the foreign key
        was created it made its own index, named after it, and dropped that one silently when
        a better index came along; re-adding the foreign key makes the engine create that
        index again (an index we added ourselves would not be dropped silently later).
        """
        before, after = self._probe(tname, change)
        return [
            fk
            for fk in after.foreign_keys
            if _indexed(before, fk.columns) and not _indexed(after, fk.columns)
        ]

    def _needs_alter(self, tname: QName, change: ch.Change) -> bool:
        return bool(self._auto_fixes(tname, change) or self._foreign_key_fixes(tname, change))

    def _alter_keys(self, tname: QName, change: ch.Change, action: str) -> list[str]:
        """One ALTER TABLE: a key change plus what it makes necessary. A MODIFY that removes
        AUTO_INCREMENT goes first (the key it needs is about to go); one that restores it goes
        last (after the key it needs exists), as do foreign keys that needed the dropped key
        (dropped just before, in their own statement: MariaDB can't drop and re-add a foreign
        key of the same name in one)."""
        t = qname(tname, MY)
        table = self.state.require_table(tname)
        removing, restoring = [], []
        for col, restore in self._auto_fixes(tname, change):
            entry = (self.state.key(tname), fold(col.name, MY))
            check = column_check(table, col.name)
            if restore:
                restoring.append(f"MODIFY COLUMN {column_definition(col, check)}")
                self.suspended.discard(entry)
            else:
                removing.append(
                    f"MODIFY COLUMN {column_definition(replace(col, auto=None), check)}"
                )
                self.suspended.add(entry)
        out = []
        for fk in self._foreign_key_fixes(tname, change):
            out.append(f"ALTER TABLE {t} DROP FOREIGN KEY {_name(fk.name, fk, tname)}")
            restoring.append(f"ADD {constraint_definition(fk)}")
        return [*out, f"ALTER TABLE {t} " + ", ".join([*removing, action, *restoring])]

    def _covered_implicit(self, index: Index) -> set[tuple[tuple[str, str], str]]:
        """The foreign-key indexes InnoDB made that a new index on these leading columns
        replaces (it drops them itself)."""
        table = self.state.table(index.table)
        if table is None or index.kind is not None:
            return set()
        serves: list[str] = []
        for part in index.parts:
            if not part.is_column or part.length:
                break
            serves.append(part.expression.lower())
        key = self.state.key(index.table)
        return {
            (key, fold(old.name, MY))
            for old in table.indexes
            if old.implicit
            and fold(old.name, MY) != fold(index.name, MY)
            and serves[: len(old.parts)] == [p.expression.lower() for p in old.parts]
        }

    def _track(self, change: ch.Change) -> None:
        """Keep `suspended` in step with what columns and tables are called."""
        match change:
            case ch.DropTable(table):
                key = self.state.key(table.name)
                self.suspended = {e for e in self.suspended if e[0] != key}
            case ch.RenameTable(old, new):
                old_key, new_key = self.state.key(old), self.state.key(new)
                self.suspended = {(new_key if k == old_key else k, c) for k, c in self.suspended}
            case ch.DropColumn(tname, column):
                self.suspended.discard((self.state.key(tname), fold(column.name, MY)))
            case ch.RenameColumn(tname, old, new):
                entry = (self.state.key(tname), fold(old, MY))
                if entry in self.suspended:
                    self.suspended.remove(entry)
                    self.suspended.add((entry[0], fold(new, MY)))

    # -- statements ------------------------------------------------------------------------

    def _alter_column(self, tname: QName, before: Column, after: Column) -> list[str]:
        """MODIFY with the whole new definition, which keeps the column where it is."""
        table = self.state.require_table(tname)
        t = qname(tname, MY)
        out = []
        if not self.state.same(before.name, after.name):
            table = with_column_renamed(table, before.name, after.name, MY)
            if _must_recreate(before, after):
                out.append(
                    f"ALTER TABLE {t} RENAME COLUMN {ident(before.name, MY)} TO {ident(after.name, MY)}"
                )
                before = replace(before, name=after.name)
        if _must_recreate(before, after):
            return out + _recreate_column(table, before, after, column_check(table, after.name))
        if not out and replace(before, default=after.default) == after:
            # only the default: ALTER COLUMN leaves the rest of the column alone, where MODIFY
            # restates it (and MariaDB re-creates a JSON column's check under the column's name)
            if after.default is None:
                return [f"ALTER TABLE {t} ALTER COLUMN {ident(after.name, MY)} DROP DEFAULT"]
            if _LITERAL_DEFAULT.fullmatch(after.default):
                return [
                    f"ALTER TABLE {t} ALTER COLUMN {ident(after.name, MY)}"
                    f" SET DEFAULT {after.default}"
                ]
        changed = replace(
            table,
            columns=tuple(
                after if self.state.same(c.name, after.name) else c for c in table.columns
            ),
        )
        check = column_check(table, before.name) or column_check(table, after.name)
        definition = self._column(tname, after, changed, check)
        if before.name == after.name:
            return [f"ALTER TABLE {t} MODIFY COLUMN {definition}"]
        return [f"ALTER TABLE {t} CHANGE COLUMN {ident(before.name, MY)} {definition}"]

    def _create_table(self, table: Table) -> list[str]:
        """CREATE TABLE with keys inline: an AUTO_INCREMENT column may be keyed only by an index.

        MariaDB's CREATE TABLE refuses a CHECK on a column a foreign key changes (CASCADE,
        SET NULL, SET DEFAULT), which ALTER TABLE ... ADD accepts: such a check comes after.
        """
        acted = {
            c.lower()
            for fk in table.foreign_keys
            if {fk.on_delete or "", fk.on_update or ""} & _CHANGING_ACTIONS
            for c in fk.columns
        }
        later = [
            c
            for c in table.checks
            if not _is_column_check(table, c) and any(mentions(c.expression, col) for col in acted)
        ]
        elements = [
            self._column(table.name, c, table, column_check(table, c.name)) for c in table.columns
        ]
        elements += [
            constraint_definition(c)
            for c in table.constraints()
            if not (isinstance(c, Check) and (_is_column_check(table, c) or c in later))
        ]
        elements += [index_definition(i) for i in table.indexes]
        t = qname(table.name, MY)
        sql = f"CREATE TABLE {t} (\n  " + ",\n  ".join(elements) + "\n)"
        if table.comment is not None:
            sql += f" COMMENT={literal(table.comment, MY)}"
        if table.options:
            sql += f" {table.options}"
        return [sql, *(f"ALTER TABLE {t} ADD {constraint_definition(c)}" for c in later)]

    def _column_level(self, tname: QName, check: Check) -> bool:
        return _is_column_check(self.state.require_table(tname), check)

    def _restate_column(self, tname: QName, column: str, check: Check | None) -> str:
        """MODIFY a column as it is, with `check` as its own CHECK (None removes it)."""
        table = self.state.require_table(tname)
        col = table.column(column, MY)
        assert col is not None  # _is_column_check found it
        return (
            f"ALTER TABLE {qname(tname, MY)} MODIFY COLUMN {self._column(tname, col, table, check)}"
        )

    def _drop_constraint(self, tname: QName, con: Constraint, change: ch.Change) -> list[str]:
        match con:
            case PrimaryKey():
                return self._alter_keys(tname, change, "DROP PRIMARY KEY")
            case Unique(name):
                return self._alter_keys(tname, change, f"DROP INDEX {_name(name, con, tname)}")
            case ForeignKey(name):
                sql = f"ALTER TABLE {qname(tname, MY)} DROP FOREIGN KEY {_name(name, con, tname)}"
                if not _indexed(self.state.require_table(tname), con.columns):
                    # The engine made an index named after the key to back it, and leaves it
                    # behind when the key goes.
                    sql += f", DROP INDEX {_name(name, con, tname)}"
                return [sql]
            case Check(column=str(column)) if self._column_level(tname, con):
                return [self._restate_column(tname, column, None)]
            case Check(name):
                return [f"ALTER TABLE {qname(tname, MY)} DROP CONSTRAINT {_name(name, con, tname)}"]


# A default ALTER COLUMN ... SET DEFAULT takes as it is on MySQL 8 and MariaDB alike: a number
# or a string (an expression needs parentheses on MySQL, and MODIFY says it as written).
_LITERAL_DEFAULT = re.compile(r"[+-]?\d+(?:\.\d+)?|'(?:[^'\\]|''|\\.)*'")


def _must_recreate(before: Column, after: Column) -> bool:
    """MySQL and MariaDB can MODIFY a column into or out of STORED generation, but not into
    or out of VIRTUAL ("not yet supported for generated columns")."""
    return _virtual(before) != _virtual(after)


def _virtual(col: Column) -> bool:
    return col.generated is not None and not col.generated_stored


def _recreate_column(
    table: Table, before: Column, after: Column, check: Check | None = None
) -> list[str]:
    """Drop and re-add the column at its place, with the keys that name it (DROP COLUMN
    would shrink or drop them). A plain column gets the old values copied over first."""
    t = qname(table.name, MY)
    c = ident(after.name, MY)
    names = [col.name for col in table.columns]
    at = next(i for i, n in enumerate(names) if fold(n, MY) == fold(after.name, MY))
    place = f"AFTER {ident(names[at - 1], MY)}" if at else "FIRST"
    drops: list[str] = []
    adds: list[str] = []
    pk = table.primary_key
    if pk is not None and _names(pk.columns, after.name):
        drops.append("DROP PRIMARY KEY")
        adds.append(f"ADD {constraint_definition(pk)}")
    for unique in table.uniques:
        if _names(unique.columns, after.name):
            drops.append(f"DROP INDEX {ident(unique.name or '', MY)}")
            adds.append(f"ADD {constraint_definition(unique)}")
    for index in table.indexes:
        if _names(tuple(p.expression for p in index.parts if p.is_column), after.name):
            drops.append(f"DROP INDEX {ident(index.name, MY)}")
            adds.append(f"ADD {index_definition(index)}")
    how = "recomputed" if after.generated is not None else "copied"
    note = (
        f"-- {table.name}.{after.name}: MySQL cannot change a column into or out of VIRTUAL "
        f"in place; it is re-created (values {how})\n"
    )
    if after.generated is not None:
        actions = [
            *drops,
            f"DROP COLUMN {c}",
            f"ADD COLUMN {column_definition(after, check)} {place}",
            *adds,
        ]
        return [f"{note}ALTER TABLE {t} " + ", ".join(actions)]
    temp = ident(f"{after.name}__new", MY)
    temp_definition = column_definition(replace(after, name=f"{after.name}__new"), check)
    actions = [*drops, f"DROP COLUMN {c}", f"RENAME COLUMN {temp} TO {c}", *adds]
    return [
        f"{note}ALTER TABLE {t} ADD COLUMN {temp_definition} AFTER {c}",
        f"UPDATE {t} SET {temp} = {c}",
        f"ALTER TABLE {t} " + ", ".join(actions),
    ]


def _names(columns: tuple[str, ...], column: str) -> bool:
    return any(fold(n, MY) == fold(column, MY) for n in columns)


def _name(name: str | None, con: Constraint, table: QName) -> str:
    if name is None:
        raise ValueError(f"cannot drop an unnamed {con.kind} constraint on {table}")
    return ident(name, MY)


def _keyed(table: Table, column: str) -> bool:
    """Whether some key of `table` starts with `column` (what AUTO_INCREMENT requires)."""
    leads = [c.columns[0] for c in (table.primary_key, *table.uniques) if c and c.columns]
    leads += [i.parts[0].expression for i in table.indexes if i.parts and i.parts[0].is_column]
    return any(fold(lead, MY) == fold(column, MY) for lead in leads)


def _indexed(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether an explicit key starts with `columns`, so a foreign key needs no index of its own."""
    wanted = [fold(c, MY) for c in columns]
    keys = [list(c.columns) for c in (table.primary_key, *table.uniques) if c]
    keys += [[p.expression if p.is_column else "" for p in i.parts] for i in table.indexes]
    return any([fold(c, MY) for c in key[: len(wanted)]] == wanted for key in keys)


def _is_column_check(table: Table, check: Check) -> bool:
    """Whether `check` is a column's own CHECK (written in the column's definition)."""
    return check.column is not None and table.column(check.column, MY) is not None


def column_check(table: Table, column: str) -> Check | None:
    """The column-level CHECK of `column` in `table`, if it has one."""
    return next(
        (
            c
            for c in table.checks
            if c.column is not None and fold(c.column, MY) == fold(column, MY)
        ),
        None,
    )


def column_definition(col: Column, check: Check | None = None) -> str:
    """A column as CREATE TABLE / ADD / MODIFY spell it, comment and own CHECK included."""
    parts = [ident(col.name, MY), col.type]
    if col.collation:
        parts.append(f"COLLATE {col.collation}")
    if col.generated is not None:
        kind = "STORED" if col.generated_stored else "VIRTUAL"
        parts.append(f"GENERATED ALWAYS AS ({col.generated}) {kind}")
    if not col.nullable:
        parts.append("NOT NULL")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if col.on_update:
        parts.append(f"ON UPDATE {col.on_update}")
    if col.auto is AutoKind.AUTO_INCREMENT:
        parts.append("AUTO_INCREMENT")
    if col.comment is not None:
        parts.append(f"COMMENT {literal(col.comment, MY)}")
    if check is not None:
        parts.append(check_body(check))  # MariaDB wants it last
    return " ".join(parts)


def constraint_definition(con: Constraint) -> str:
    """A key or constraint as CREATE TABLE and ALTER TABLE ADD spell it."""
    match con:
        case PrimaryKey(_, cols):
            return f"PRIMARY KEY {idents(cols, MY)}"  # always named PRIMARY
        case Unique(name, cols):
            key = f"UNIQUE KEY {ident(name, MY)}" if name else "UNIQUE KEY"
            return f"{key} {idents(cols, MY)}"
        case ForeignKey(name):
            return named(name, foreign_key_body(con, MY), MY)
        case Check(name):
            return named(name, check_body(con), MY)


def _index_head(index: Index) -> str:
    if index.where or index.include:
        raise ValueError(f"MySQL has no partial or covering indexes ({index.name})")
    kind = "UNIQUE" if index.unique else (index.kind or "").upper()
    return f"{kind} " if kind else ""


def _index_columns(index: Index) -> str:
    sql = "(" + ", ".join(_index_part(p) for p in index.parts) + ")"
    if index.method:
        sql += f" USING {index.method.upper()}"
    return sql


def index_definition(index: Index) -> str:
    """An index as a CREATE TABLE element / ALTER TABLE ADD action."""
    return f"{_index_head(index)}KEY {ident(index.name, MY)} {_index_columns(index)}"


def create_index(index: Index) -> str:
    return (
        f"CREATE {_index_head(index)}INDEX {ident(index.name, MY)} "
        f"ON {qname(index.table, MY)} {_index_columns(index)}"
    )


def _index_part(part: IndexPart) -> str:
    sql = ident(part.expression, MY) if part.is_column else f"({part.expression})"
    if part.length is not None:
        sql += f"({part.length})"
    if part.desc:
        sql += " DESC"
    return sql


def _create_view(view: View, *, or_replace: bool = False) -> str:
    if view.materialized:
        raise ValueError(f"MySQL has no materialized views ({view.name})")
    return create_view(view, MY, or_replace=or_replace)


def _implicit_twin(table: Table, fk: ForeignKey) -> str | None:
    """The name of the index InnoDB made for an earlier key on exactly `fk`'s columns, when it
    is not `fk`'s own name (seen on MariaDB 10.11)."""
    cols = [c.lower() for c in fk.columns]
    for index in table.indexes:
        parts = [p.expression.lower() for p in index.parts if p.is_column and not p.length]
        if (
            index.implicit
            and len(parts) == len(index.parts)
            and parts == cols
            and index.name.lower() != (fk.name or "").lower()
        ):
            return index.name
    return None


# referential actions that write the referencing column
_CHANGING_ACTIONS = {"CASCADE", "SET NULL", "SET DEFAULT"}
