"""A working copy of a schema that changes are applied to, one at a time."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import replace
from typing import Any, TypeVar

from bot.core import changes as ch
from bot.core import naming
from bot.core.model import (
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
    Sequence,
    Table,
    Unique,
    fold,
    qkey,
    with_fields,
)
from bot.core.naming import IDENTITIES, SERIAL_SEQUENCE_TYPE, implied_sequence, nextval, owner_text
from bot.core.renaming import pg_view_rename, rename_word

_Con = TypeVar("_Con", Unique, ForeignKey, Check)
_Keyed = TypeVar("_Keyed", PrimaryKey, Unique, ForeignKey)


class StateError(ValueError):
    """A change does not fit the schema it is applied to (e.g. dropping a missing column)."""


class State:
    """Mutable schema under replay; `snapshot()` freezes it into a `Schema`."""

    def __init__(self, dialect: Dialect, schema: Schema | None = None) -> None:
        self.dialect = dialect
        base = schema or Schema(dialect)
        self.namespaces: list[str] = list(base.namespaces)
        self.tables = dict(base.tables)
        self.views = dict(base.views)
        self.enums = dict(base.enums)
        self.sequences = dict(base.sequences)
        self.opaque = dict(base.opaque)
        # Constraint and index names in use, and which table owns each index: built on first
        # use, then kept up to date by _put/_remove so lookups don't scan every table (replay
        # of long histories), while the many short-lived States never pay for it.
        self._names: dict[str, int] | None = None
        self._index_owner: dict[str, tuple[str, str]] = {}
        # For each table, the tables whose foreign keys reference it (with how many keys):
        # a column or table rename follows them without scanning every table. Built on first
        # use too (a scan of every table's keys, what one lookup cost without it).
        self._referrers: dict[tuple[str, str], dict[tuple[str, str], int]] | None = None
        # The sequences serial and identity columns stand for (PostgreSQL), counted by name:
        # built on first use and kept up to date like the names above.
        self._implied: dict[tuple[str, str], int] | None = None

    def snapshot(self) -> Schema:
        return Schema(
            self.dialect,
            tuple(self.namespaces),
            dict(self.tables),
            dict(self.views),
            dict(self.enums),
            dict(self.sequences),
            dict(self.opaque),
        )

    # -- lookups -----------------------------------------------------------------

    def key(self, name: QName) -> tuple[str, str]:
        return qkey(name, self.dialect)

    def same(self, a: str, b: str) -> bool:
        # `fold` spelled out, as in qkey: called for every name of every change
        return a == b if self.dialect is Dialect.POSTGRES else a.lower() == b.lower()

    def table(self, name: QName) -> Table | None:
        return self.tables.get(self.key(name))

    def is_enum(self, type_text: str) -> bool:
        """Whether a column type (as stored, maybe quoted, qualified or an array) is an enum."""
        parts = [p.strip().strip('"') for p in type_text.removesuffix("[]").split(".")]
        name = QName(parts[-1], parts[-2] if len(parts) > 1 and parts[-2] != "public" else None)
        return self.key(name) in self.enums

    def require_table(self, name: QName) -> Table:
        table = self.table(name)
        if table is None:
            raise StateError(f"table {name} does not exist")
        return table

    def column(self, table: QName, name: str) -> Column:
        col = self.require_table(table).column(name, self.dialect)
        if col is None:
            raise StateError(f"column {table}.{name} does not exist")
        return col

    def find_index(self, name: str, schema: str | None = None) -> Index | None:
        self._registry()
        owner = self._index_owner.get(fold(name, self.dialect))
        table = self.tables.get(owner) if owner is not None else None
        if table is None:
            return None
        if schema is not None and not self.same(table.name.schema or "", schema):
            return None
        return next((i for i in table.indexes if self.same(i.name, name)), None)

    def find_constraint(self, table: QName, name: str) -> Constraint | None:
        for con in self.require_table(table).constraints():
            if con.name is not None and self.same(con.name, name):
                return con
        return None

    def referencing(self, target: QName) -> list[tuple[Table, ForeignKey]]:
        """Foreign keys in any table that point at `target`."""
        key = self.key(target)
        referrers = self._references().get(key)
        if not referrers:
            return []
        # in the schema's order of tables, as callers emit changes in it
        keys = referrers if len(referrers) == 1 else [k for k in self.tables if k in referrers]
        return [
            (t, fk)
            for t in (self.tables[k] for k in keys)
            for fk in t.foreign_keys
            if self.key(fk.ref_table) == key
        ]

    def _put(self, table: Table) -> None:
        key = self.key(table.name)
        old = self.tables.get(key)
        if old is not None:
            self._unregister(old)
        self.tables[key] = table
        self._register(table)

    def _remove(self, name: QName) -> None:
        table = self.tables.pop(self.key(name))
        self._unregister(table)

    def _registry(self) -> dict[str, int]:
        if self._names is None:
            self._names = {}
            for table in self.tables.values():
                self._register_names(table)
        return self._names

    def _references(self) -> dict[tuple[str, str], dict[tuple[str, str], int]]:
        if self._referrers is None:
            self._referrers = {}
            for table in self.tables.values():
                self._register_keys(table)
        return self._referrers

    def _register(self, table: Table) -> None:
        self._register_keys(table)
        self._register_names(table)
        if self._implied is not None:
            for k in self._implied_of(table):
                self._implied[k] = self._implied.get(k, 0) + 1

    def _register_names(self, table: Table) -> None:
        if self._names is None:
            return
        key = self.key(table.name)
        for n in _names_of(table):
            self._names[n] = self._names.get(n, 0) + 1
        for idx in table.indexes:
            self._index_owner[fold(idx.name, self.dialect)] = key

    def _register_keys(self, table: Table) -> None:
        if self._referrers is None or not table.foreign_keys:
            return
        key = self.key(table.name)
        for fk in table.foreign_keys:
            referrers = self._referrers.setdefault(self.key(fk.ref_table), {})
            referrers[key] = referrers.get(key, 0) + 1

    def _unregister(self, table: Table) -> None:
        self._unregister_keys(table)
        if self._implied is not None:
            for k in self._implied_of(table):
                left = self._implied.get(k, 0) - 1
                if left > 0:
                    self._implied[k] = left
                else:
                    self._implied.pop(k, None)
        if self._names is None:
            return
        for n in _names_of(table):
            left = self._names.get(n, 0) - 1
            if left > 0:
                self._names[n] = left
            else:
                self._names.pop(n, None)
        for idx in table.indexes:
            self._index_owner.pop(fold(idx.name, self.dialect), None)

    def _unregister_keys(self, table: Table) -> None:
        if self._referrers is None or not table.foreign_keys:
            return
        key = self.key(table.name)
        for fk in table.foreign_keys:
            target = self.key(fk.ref_table)
            referrers = self._referrers.get(target, {})
            left = referrers.get(key, 0) - 1
            if left > 0:
                referrers[key] = left
            else:
                referrers.pop(key, None)
                if not referrers:
                    self._referrers.pop(target, None)

    def names_in_use(self) -> Container[str]:
        """Constraint and index names in use in the whole schema (a live view)."""
        return self._registry().keys()

    # -- apply -------------------------------------------------------------------

    def apply_all(self, changes: list[ch.Change]) -> None:
        for change in changes:
            self.apply(change)

    def apply(self, change: ch.Change) -> None:
        match change:
            case ch.CreateNamespace(name):
                if name not in self.namespaces:
                    self.namespaces.append(name)
            case ch.DropNamespace(name):
                self.namespaces = [n for n in self.namespaces if not self.same(n, name)]
            case ch.CreateTable(table):
                if self.table(table.name) is not None:
                    raise StateError(f"table {table.name} already exists")
                self._put(table)
            case ch.DropTable(table):
                self.require_table(table.name)
                self._remove(table.name)
            case ch.RenameTable(old, new):
                self._rename_table(old, new)
            case ch.AddColumn(tname, column, after, first):
                table = self.require_table(tname)
                if table.column(column.name, self.dialect) is not None:
                    raise StateError(f"column {tname}.{column.name} already exists")
                have = table.columns
                if not first and (after is None or (have and self.same(have[-1].name, after))):
                    cols = (*have, column)  # at the end, the usual place: one copy, not three
                else:
                    pos = 0
                    if not first and after is not None:
                        pos = next(
                            (i + 1 for i, c in enumerate(have) if self.same(c.name, after)),
                            len(have),
                        )
                    cols = (*have[:pos], column, *have[pos:])
                self._put(table.with_column_added(column, cols))
            case ch.DropColumn(tname, column):
                table = self.require_table(tname)
                self.column(tname, column.name)
                self._put(
                    with_fields(
                        table,
                        columns=tuple(
                            c for c in table.columns if not self.same(c.name, column.name)
                        ),
                    )
                )
            case ch.RenameColumn(tname, old, new):
                before_rename = self.require_table(tname)
                self._rename_column(tname, old, new)
                self._put(self._keep_serial_sequences(before_rename, self.require_table(tname)))
                self._follow_owner(tname, tname, old, new)
                self._absorb_sequences(tname)
                self._follow_column_rename(tname, old, new)
            case ch.AlterColumn(tname, before, after):
                table = self.require_table(tname)
                self.column(tname, before.name)
                self._put(
                    with_fields(
                        table,
                        columns=tuple(
                            after if self.same(c.name, before.name) else c for c in table.columns
                        ),
                    )
                )
            case ch.MoveColumn(tname, name, after, first):
                table = self.require_table(tname)
                moved = self.column(tname, name)
                rest = [c for c in table.columns if not self.same(c.name, name)]
                pos = 0 if first else len(rest)
                if not first and after is not None:
                    pos = next((i + 1 for i, c in enumerate(rest) if self.same(c.name, after)), pos)
                rest.insert(pos, moved)
                self._put(with_fields(table, columns=tuple(rest)))
            case ch.RenameConstraint(tname, old, new):
                table = self.require_table(tname)
                con = self.find_constraint(tname, old)
                if con is None:
                    raise StateError(f"constraint {old} does not exist on {tname}")
                renamed = replace(con, name=new)

                def swap(items: tuple[Any, ...]) -> tuple[Any, ...]:
                    return tuple(renamed if c == con else c for c in items)

                self._put(
                    with_fields(
                        table,
                        primary_key=renamed if table.primary_key == con else table.primary_key,
                        uniques=swap(table.uniques),
                        foreign_keys=swap(table.foreign_keys),
                        checks=swap(table.checks),
                    )
                )
            case ch.AddConstraint(tname, con):
                self._put(_with_constraint(self.require_table(tname), con))
            case ch.DropConstraint(tname, con):
                self._put(self._without_constraint(self.require_table(tname), con))
            case ch.CreateIndex(index):
                table = self.require_table(index.table)
                self._put(with_fields(table, indexes=(*table.indexes, index)))
            case ch.DropIndex(index):
                table = self.require_table(index.table)
                kept = tuple(i for i in table.indexes if not self.same(i.name, index.name))
                if len(kept) < len(table.indexes):
                    self._put(with_fields(table, indexes=kept))
                elif (key := self._unique_key(table, index.name)) is not None:
                    self._put(
                        with_fields(table, uniques=tuple(u for u in table.uniques if u != key))
                    )
                else:
                    raise StateError(f"index {index.name} does not exist")
            case ch.RenameIndex(tname, old, new):
                table = self.require_table(tname)
                key = self._unique_key(table, old)
                self._put(
                    with_fields(
                        table,
                        indexes=tuple(
                            replace(i, name=new) if self.same(i.name, old) else i
                            for i in table.indexes
                        ),
                        uniques=tuple(
                            replace(u, name=new) if u == key else u for u in table.uniques
                        ),
                    )
                )
            case ch.SetTableComment(tname, _, after):
                self._put(with_fields(self.require_table(tname), comment=after))
            case ch.SetTableOptions(tname, _, after_options):
                self._put(with_fields(self.require_table(tname), options=after_options))
            case ch.SetUnlogged(tname, _, unlogged):
                self._put(with_fields(self.require_table(tname), unlogged=unlogged))
            case ch.SetClusterOn(tname, _, index_name):
                self._put(with_fields(self.require_table(tname), clustered_on=index_name))
            case ch.CreateView(view):
                self.views[self.key(view.name)] = view
            case ch.DropView(view):
                self.views.pop(self.key(view.name), None)
            case ch.ReplaceView(_, after):
                self.views[self.key(after.name)] = after
            case ch.CreateEnum(enum):
                self.enums[self.key(enum.name)] = enum
            case ch.DropEnum(enum):
                self.enums.pop(self.key(enum.name), None)
            case ch.AlterEnum(_, after):
                self.enums[self.key(after.name)] = after
            case ch.RenameEnum(old, new):
                enum = self.enums.pop(self.key(old))
                self.enums[self.key(new)] = replace(enum, name=new)
                self._retype(old.name, new.name)
            case ch.CreateSequence(seq):
                self.sequences[self.key(seq.name)] = seq
            case ch.DropSequence(seq):
                self.sequences.pop(self.key(seq.name), None)
            case ch.AlterSequence(before, after):
                self._alter_sequence(before, after)
            case ch.CreateOpaque(obj) | ch.ReplaceOpaque(_, obj):
                self.opaque[(obj.kind, obj.identity)] = obj
            case ch.DropOpaque(obj):
                self.opaque.pop((obj.kind, obj.identity), None)
            case _:
                raise TypeError(f"not a change: {change!r}")
        if isinstance(
            change, (ch.DropIndex, ch.RenameIndex, ch.DropConstraint, ch.RenameConstraint)
        ):
            self._follow_cluster(change)

    def _follow_cluster(
        self, change: ch.DropIndex | ch.RenameIndex | ch.DropConstraint | ch.RenameConstraint
    ) -> None:
        """CLUSTER ON follows its index's rename and ends with its drop, as the server's flag
        on the index does."""
        match change:
            case ch.DropIndex(index):
                tname, old, new = index.table, index.name, None
            case ch.DropConstraint(tname, con) if con.name is not None:
                old, new = con.name, None
            case ch.RenameIndex(tname, old, new) | ch.RenameConstraint(tname, old, new):
                pass
            case _:
                return
        table = self.table(tname)
        if (
            table is not None
            and table.clustered_on is not None
            and self.same(table.clustered_on, old)
        ):
            self._put(replace(table, clustered_on=new))

    def _rename_table(self, old: QName, new: QName) -> None:
        table = self.require_table(old)
        if self.table(new) is not None and self.key(new) != self.key(old):
            raise StateError(f"table {new} already exists")
        self._remove(old)
        if self.dialect is Dialect.MYSQL:
            table = replace(table, foreign_keys=_innodb_fk_names(table.foreign_keys, old, new))
        moved = replace(
            table, name=new, indexes=tuple(replace(i, table=new) for i in table.indexes)
        )
        self._put(self._keep_serial_sequences(table, moved))
        self._follow_owner(old, new, None, None)
        self._absorb_sequences(new)
        for child in list(self.tables.values()):
            if child.partition_of is not None and self.key(child.partition_of) == self.key(old):
                self._put(replace(child, partition_of=new))
        # Engines follow the rename in foreign keys and triggers that point at the table.
        for other in [self.tables[k] for k in list(self._references().get(self.key(old), ()))]:
            fks = tuple(
                replace(fk, ref_table=new) if self.key(fk.ref_table) == self.key(old) else fk
                for fk in other.foreign_keys
            )
            if fks != other.foreign_keys:
                self._put(replace(other, foreign_keys=fks))
        # PostgreSQL and SQLite follow a rename in dependent views and triggers; the text we
        # keep must say the new name too, or re-creating them from it would fail.
        for k, obj in list(self.opaque.items()):
            if obj.table is not None and self.key(obj.table) == self.key(old):
                self.opaque[k] = replace(
                    obj,
                    table=new,
                    definition=rename_word(obj.definition, old.name, new.name),
                    drop=rename_word(obj.drop, old.name, new.name),
                )
        for k, view in list(self.views.items()):
            self.views[k] = replace(
                view, definition=rename_word(view.definition, old.name, new.name)
            )

    # -- the sequences of serial columns (PostgreSQL) -----------------------------------

    # A serial column stands for its sequence too, named `<table>_<column>_seq`; renaming the
    # table or the column does not rename the sequence. From then on the model spells the
    # column out (a default reading the sequence, a sequence OWNED BY the column), and folds
    # it back into a serial when the names match again.

    def relation_taken(self, name: QName) -> bool:
        """Whether a relation (table, view, index, sequence: pg_class) holds `name` already,
        the sequences that serial and identity columns stand for included. (Constraint names
        count too: a unique or primary key's index has its name; a CHECK's is rarely one.)"""
        key = self.key(name)
        if key in self.tables or key in self.views or key in self.sequences:
            return True
        if name.name in self.names_in_use():
            return True
        if self._implied is None:
            self._implied = {}
            for table in self.tables.values():
                for k in self._implied_of(table):
                    self._implied[k] = self._implied.get(k, 0) + 1
        return key in self._implied

    def _implied_of(self, table: Table) -> list[tuple[str, str]]:
        """The keys of the sequences `table`'s serial and identity columns stand for."""
        if self.dialect is not Dialect.POSTGRES:
            return []
        out = []
        for col in table.automatic:  # kept with the table: a wide table is not scanned per change
            if col.auto in IDENTITIES:
                seq = col.sequence or naming.serial_sequence(table.name.name, col.name)
            elif col.auto in SERIAL_SEQUENCE_TYPE:
                seq = naming.serial_sequence(table.name.name, col.name)
            else:
                continue
            out.append(self.key(QName(seq, table.name.schema)))
        return out

    def _keep_serial_sequences(self, before: Table, after: Table) -> Table:
        """`after` (`before` renamed, or one of its columns) with each serial whose sequence
        name no longer follows from the names spelled out."""
        if self.dialect is not Dialect.POSTGRES:
            return after
        columns = list(after.columns)
        for i, (old, col) in enumerate(zip(before.columns, after.columns, strict=True)):
            if old.auto in IDENTITIES:
                was = old.sequence or naming.serial_sequence(before.name.name, old.name)
                now = naming.serial_sequence(after.name.name, col.name)
                columns[i] = replace(col, sequence=None if was == now else was)
                continue
            kind = SERIAL_SEQUENCE_TYPE.get(old.auto) if old.auto else None
            if kind is None:
                continue
            seq = QName(naming.serial_sequence(before.name.name, old.name), after.name.schema)
            if seq.name == naming.serial_sequence(after.name.name, col.name):
                continue
            columns[i] = replace(col, auto=None, default=nextval(seq), nullable=False)
            self.sequences[self.key(seq)] = Sequence(
                seq, f"AS {kind}", owner_text(after.name, col.name)
            )
        return replace(after, columns=tuple(columns))

    def _absorb_sequences(self, tname: QName) -> None:
        """Columns of `tname` that read the sequence a serial of theirs would have, as a serial
        makes it, become that serial again."""
        if self.dialect is not Dialect.POSTGRES:
            return
        table = self.require_table(tname)
        columns = list(table.columns)
        for i, col in enumerate(table.columns):
            if col.auto is not None or col.default is None or col.nullable:
                continue
            seq = QName(naming.serial_sequence(tname.name, col.name), tname.schema)
            found = self.sequences.get(self.key(seq))
            kind = _SERIAL_KINDS.get(" ".join(found.definition.lower().split())) if found else None
            if (
                found is None
                or kind is None
                or " ".join(col.default.split()) != nextval(seq)
                or self.owner(found.owned_by) != (self.key(tname), col.name)
            ):
                continue
            columns[i] = replace(col, auto=kind, default=None)
            del self.sequences[self.key(seq)]
        if columns != list(table.columns):
            self._put(replace(table, columns=tuple(columns)))

    def sequence(self, name: QName) -> Sequence | None:
        """The sequence `name`, a serial's own spelled out as an object of its own."""
        found = self.sequences.get(self.key(name))
        if found is not None or self.dialect is not Dialect.POSTGRES:
            return found
        for table in list(self.tables.values()):
            if not self.same(table.name.schema or "", name.schema or ""):
                continue
            for col in table.columns:
                seq = implied_sequence(table, col)
                if seq is None or not self.same(seq.name.name, name.name):
                    continue
                spelled = replace(col, auto=None, default=nextval(seq.name), nullable=False)
                self._put(
                    replace(table, columns=tuple(spelled if c is col else c for c in table.columns))
                )
                self.sequences[self.key(seq.name)] = seq
                return seq
        return None

    def _alter_sequence(self, before: Sequence, after: Sequence) -> None:
        self.sequence(before.name)
        if self.key(before.name) != self.key(after.name):
            # A rename: the defaults that read it follow (they hold the sequence, not its name).
            self.sequences.pop(self.key(before.name), None)
            old_call, new_call = nextval(before.name), nextval(after.name)
            for table in list(self.tables.values()):
                if any(c.default == old_call for c in table.columns):
                    self._put(
                        replace(
                            table,
                            columns=tuple(
                                replace(c, default=new_call) if c.default == old_call else c
                                for c in table.columns
                            ),
                        )
                    )
        self.sequences[self.key(after.name)] = after
        owner = self.owner(after.owned_by)
        if owner is not None and owner[0] in self.tables:
            self._absorb_sequences(self.tables[owner[0]].name)

    def owner(self, owned_by: str | None) -> tuple[tuple[str, str], str] | None:
        """The table key and column an OWNED BY text names."""
        parts = [
            p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
            for p in _OWNER_PART.findall(owned_by or "")
        ]
        if len(parts) not in (2, 3):
            return None
        schema = parts[0] if len(parts) == 3 and parts[0] != "public" else None
        return self.key(QName(parts[-2], schema)), parts[-1]

    def _follow_owner(
        self, old: QName, new: QName, old_column: str | None, new_column: str | None
    ) -> None:
        """Sequences OWNED BY a renamed table or column say its new name."""
        if self.dialect is not Dialect.POSTGRES:
            return
        for k, seq in list(self.sequences.items()):
            owner = self.owner(seq.owned_by)
            if owner is None or owner[0] != self.key(old):
                continue
            if old_column is not None and owner[1] != old_column:
                continue
            column = new_column if new_column is not None else owner[1]
            self.sequences[k] = replace(seq, owned_by=owner_text(new, column))

    def _rename_column(self, tname: QName, old: str, new: str) -> None:
        table = self.require_table(tname)
        self.column(tname, old)
        if table.column(new, self.dialect) is not None and not self.same(old, new):
            raise StateError(f"column {tname}.{new} already exists")

        def ren(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(new if self.same(n, old) else n for n in names)

        quote = "`" if self.dialect is Dialect.MYSQL else '"'
        fold = self.dialect is Dialect.POSTGRES

        def fix(text: str | None) -> str | None:
            return rename_word(text, old, new, quote, fold=fold) if text is not None else None

        def own(check: Check) -> Check:
            # a MariaDB column's own CHECK goes by the column's name (information_schema keeps
            # the first one, but no statement can name it, and a new CHECK can't take the new one)
            expression = rename_word(check.expression, old, new, quote, fold=fold)
            if expression != check.expression:
                check = replace(check, expression=expression)
            if check.column is not None and self.same(check.column, old):
                return replace(check, name=new, column=new)
            return check

        same = self.same

        def column(c: Column) -> Column:
            generated = fix(c.generated)
            if same(c.name, old):
                return replace(c, name=new, generated=generated)
            return c if generated == c.generated else replace(c, generated=generated)

        def part(p: IndexPart) -> IndexPart:
            if p.is_column:
                return replace(p, expression=new) if same(p.expression, old) else p
            expression = rename_word(p.expression, old, new, fold=fold)
            return p if expression == p.expression else replace(p, expression=expression)

        def index(i: Index) -> Index:
            parts = tuple(part(p) for p in i.parts)
            include, where = ren(i.include), fix(i.where)
            if parts == i.parts and include == i.include and where == i.where:
                return i
            return replace(i, parts=parts, include=include, where=where)

        def keyed(c: _Keyed) -> _Keyed:
            columns = ren(c.columns)
            return c if columns == c.columns else replace(c, columns=columns)

        # only what names the column is made again: a rename touches one or two fields of a
        # wide table, and a gate renames thousands of times (alternatives, risk)
        pk = table.primary_key
        self._put(
            with_fields(
                table,
                columns=tuple(column(c) for c in table.columns),
                checks=tuple(own(k) for k in table.checks),
                primary_key=keyed(pk) if pk else None,
                uniques=tuple(keyed(u) for u in table.uniques),
                foreign_keys=tuple(keyed(f) for f in table.foreign_keys),
                indexes=tuple(index(i) for i in table.indexes),
            )
        )
        tkey = self.key(tname)
        for other in [self.tables[k] for k in self._references().get(tkey, ())]:
            fks = tuple(
                replace(fk, ref_columns=ren(fk.ref_columns))
                if self.key(fk.ref_table) == tkey
                else fk
                for fk in other.foreign_keys
            )
            if fks != other.foreign_keys:
                self._put(replace(other, foreign_keys=fks))

    def _follow_column_rename(self, table: QName, old: str, new: str) -> None:
        # SQLite rewrites the text of views and of the table's triggers on RENAME COLUMN;
        # PostgreSQL keeps views bound to the column, so the view now reads the new name
        # under its old output name (`new AS old`), which is how it shows the definition.
        if self.dialect is Dialect.POSTGRES:
            for k, view in list(self.views.items()):
                if re.search(rf"(?<![\w$]){re.escape(table.name)}(?![\w$])", view.definition):
                    self.views[k] = replace(
                        view, definition=pg_view_rename(view.definition, old, new)
                    )
            return
        if self.dialect is not Dialect.SQLITE:
            return
        for k, view in list(self.views.items()):
            if re.search(rf"(?i)(?<![\w$]){re.escape(table.name)}(?![\w$])", view.definition):
                self.views[k] = replace(view, definition=rename_word(view.definition, old, new))
        for k, obj in list(self.opaque.items()):
            if obj.table is not None and self.key(obj.table) == self.key(table):
                self.opaque[k] = replace(obj, definition=rename_word(obj.definition, old, new))

    def _retype(self, old: str, new: str) -> None:
        for table in list(self.tables.values()):
            cols = tuple(
                replace(c, type=new) if self.same(c.type, old) else c for c in table.columns
            )
            if cols != table.columns:
                self._put(replace(table, columns=cols))

    def _unique_key(self, table: Table, name: str) -> Unique | None:
        """MySQL: the unique key `name`, which its index statements also reach."""
        if self.dialect is not Dialect.MYSQL or any(self.same(i.name, name) for i in table.indexes):
            return None
        return next((u for u in table.uniques if u.name and self.same(u.name, name)), None)

    def _without_constraint(self, table: Table, con: Constraint) -> Table:
        def kept(existing: tuple[_Con, ...]) -> tuple[_Con, ...]:
            if con.name is not None:
                out = tuple(
                    c for c in existing if c.name is None or not self.same(c.name, con.name)
                )
                if len(out) < len(existing):
                    return out
            # an unnamed one goes by its definition, one at a time: SQLite keeps two equal
            # unnamed constraints, and dropping both for one change loses the other's drop
            for i, c in enumerate(existing):
                if c == con:
                    return existing[:i] + existing[i + 1 :]
            raise StateError(f"constraint {con.name} does not exist on {table.name}")

        match con:
            case PrimaryKey():
                if table.primary_key is None:
                    raise StateError(f"table {table.name} has no primary key")
                return replace(table, primary_key=None)
            case Unique(name) if (
                self.dialect is Dialect.MYSQL
                and name is not None
                and not any(u.name and self.same(u.name, name) for u in table.uniques)
                and any(i.unique and self.same(i.name, name) for i in table.indexes)
            ):
                # a MySQL unique key is one object whichever way it was written (UNIQUE KEY,
                # CREATE UNIQUE INDEX) and whichever way it is dropped
                return replace(
                    table, indexes=tuple(i for i in table.indexes if not self.same(i.name, name))
                )
            case Unique():
                return replace(table, uniques=kept(table.uniques))
            case ForeignKey():
                return replace(table, foreign_keys=kept(table.foreign_keys))
            case Check():
                return replace(table, checks=kept(table.checks))


def _innodb_fk_names(fks: tuple[ForeignKey, ...], old: QName, new: QName) -> tuple[ForeignKey, ...]:
    """InnoDB renames the foreign keys named `<table>_ibfk_<n>` (its own generated names)
    with their table."""
    prefix = f"{old.name}_ibfk_".lower()

    def renamed(fk: ForeignKey) -> ForeignKey:
        name = fk.name
        if name is None or not name.lower().startswith(prefix):
            return fk
        number = name[len(prefix) :]
        return replace(fk, name=f"{new.name}_ibfk_{number}") if number.isdigit() else fk

    return tuple(renamed(fk) for fk in fks)


_SERIAL_KINDS = {f"as {kind}": auto for auto, kind in SERIAL_SEQUENCE_TYPE.items()}
_OWNER_PART = re.compile(r'"(?:[^"]|"")*"|[^."\s]+')


def _names_of(table: Table) -> list[str]:
    return [c.name for c in table.constraints() if c.name] + [i.name for i in table.indexes]


def _with_constraint(table: Table, con: Constraint) -> Table:
    match con:
        case PrimaryKey():
            if table.primary_key is not None:
                raise StateError(f"table {table.name} already has a primary key")
            return replace(table, primary_key=con)
        case Unique():
            return replace(table, uniques=(*table.uniques, con))
        case ForeignKey():
            return replace(table, foreign_keys=(*table.foreign_keys, con))
        case Check():
            return replace(table, checks=(*table.checks, con))


def apply_changes(schema: Schema, changes: list[ch.Change]) -> Schema:
    """The schema after `changes`; raises StateError when one does not fit."""
    state = State(schema.dialect, schema)
    state.apply_all(changes)
    return state.snapshot()
