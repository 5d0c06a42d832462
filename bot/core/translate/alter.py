"""ALTER TABLE: every action, applied one at a time so later actions see earlier ones."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

import sqlglot
from sqlglot import exp

from bot.core import changes as ch
from bot.core import naming
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
    Sequence,
    Table,
    Unique,
    fold,
)
from bot.core.renaming import mentions
from bot.core.render.mysql_options import storage_action, storage_sql, with_storage
from bot.core.render.postgres.tables import storage_options, storage_parameters, typed_default
from bot.core.state import StateError
from bot.core.translate.base import (
    _IGNORED_ACTIONS,
    _SERIAL,
    _SERIAL_KINDS,
    _UNMODELLED_OPTIONS,
    Unsupported,
)
from bot.core.translate.commands import _ident_text
from bot.core.translate.common import (
    _has_index_prefix,
    _new_constraints,
    _quote_name,
    _quote_q,
    _split_top_level,
    long_unique,
    superseded_fk_indexes,
)
from bot.core.translate.objects import ObjectStatements

# ALTER TABLE ... VALIDATE CONSTRAINT name (PostgreSQL)
_VALIDATE = re.compile(r"(?is)\s*validate\s+constraint\s+(\S+)\s*$")


class AlterStatements(ObjectStatements):
    """ALTER TABLE actions."""

    # set on the translator of a fallback's one action: ADD CHECK ... written without a name
    _unnamed = False

    def alter_action(self, name: QName, action: exp.Expr) -> QName:
        """Apply one ALTER TABLE action; returns the table's name afterwards (RENAME TO)."""
        if isinstance(action, exp.ColumnDef):
            self.add_column(name, action)
        elif isinstance(action, exp.Drop):
            self.alter_drop(name, action)
        elif isinstance(action, exp.AlterColumn):
            self.alter_column(name, action)
        elif isinstance(action, exp.ModifyColumn) or type(action).__name__ == "ModifyColumn":
            self.modify_column(name, action)
        elif isinstance(action, exp.RenameColumn):
            old = self.name(action.this)
            new = self.name(action.args.get("to"))
            self.state.column(name, old)
            self.emit(ch.RenameColumn(name, old, new))
        elif isinstance(action, exp.AlterRename):
            renamed = self.qname(action.this)
            if renamed.schema is None and name.schema is not None:
                renamed = QName(renamed.name, name.schema)
            self.emit(ch.RenameTable(name, renamed))
            return renamed
        elif isinstance(action, exp.AddConstraint):
            for con in action.expressions:
                # sqlglot hangs NOT VALID on the statement, not on its action
                tree = self.p.tree
                self.add_constraint(name, con, not_valid=bool(tree and tree.args.get("not_valid")))
        elif type(action).__name__ == "DropPrimaryKey":
            table = self.state.require_table(name)
            if table.primary_key is None:
                raise StateError(f"table {name} has no primary key")
            self.emit(ch.DropConstraint(name, table.primary_key))
        elif type(action).__name__ == "RenameIndex":
            old = self.name(action.this)
            new = self.name(action.args.get("to"))
            table = self.state.require_table(name)
            if not any(self.state.same(i.name, old) for i in table.indexes):
                uq = next(
                    (u for u in table.uniques if u.name and self.state.same(u.name, old)), None
                )
                if uq is None:
                    raise StateError(f"index {old} does not exist on {name}")
                self.emit(ch.DropConstraint(name, uq))
                self.emit(ch.AddConstraint(name, replace(uq, name=new)))
            else:
                self.emit(ch.RenameIndex(name, old, new))
        else:
            text = action.sql(self.dialect.value)
            if self.table_option(name, text):
                return name
            self.unmodelled.append(f"ALTER TABLE action not modelled: {text[:120]}")
        return name

    def table_option(self, name: QName, action: str) -> bool:
        """True for an action about how the table is stored or run: ignored when it changes
        nothing a down restores, reported as unmodelled when it does."""
        if _IGNORED_ACTIONS.match(action):
            return True
        validate = _VALIDATE.match(action)
        if validate:
            self._validate(name, self.name(_ident_text(validate.group(1))))
            return True
        if not _UNMODELLED_OPTIONS.match(action):
            return False
        if self.dialect is Dialect.POSTGRES and self._storage_setting(name, action):
            return True
        settings = storage_action(action) if self.dialect is Dialect.MYSQL else None
        if settings is not None:
            table = self.state.require_table(name)
            options = with_storage(table.options, settings)
            if storage_sql(table.options, options):
                self.emit(ch.SetTableOptions(name, table.options, options))
            return True  # the same engine and row format restated: a rebuild, nothing changes
        self.unmodelled.append(
            f"ALTER TABLE {name} {' '.join(action.split())[:100]} is not modelled: "
            "the down leaves it as the migration set it"
        )
        return True

    def _alter_constraint(self, name: QName, constraint: str, action: str) -> None:
        """ALTER CONSTRAINT ... [NOT] DEFERRABLE [INITIALLY ...] on a foreign key: what is not
        said goes back to its default (not deferrable, initially immediate)."""
        con = self.state.find_constraint(name, constraint)
        if not isinstance(con, ForeignKey):
            raise Unsupported(f"ALTER CONSTRAINT {constraint}: only foreign keys are modelled")
        if "not deferrable" in action:
            deferrable = None
        elif "initially deferred" in action:
            deferrable = "DEFERRABLE INITIALLY DEFERRED"
        elif "deferrable" in action:
            deferrable = "DEFERRABLE"
        else:
            deferrable = None
        current = {"DEFERRABLE INITIALLY IMMEDIATE": "DEFERRABLE"}.get(
            con.deferrable or "", con.deferrable
        )
        if deferrable != current:
            self.emit(ch.DropConstraint(name, con))
            self.emit(ch.AddConstraint(name, replace(con, deferrable=deferrable)))

    def _storage_setting(self, name: QName, action: str) -> bool:
        """SET (...), RESET (...), SET LOGGED / UNLOGGED, a column's SET STATISTICS: what the
        model holds of how a table is stored and analysed."""
        table = self.state.require_table(name)
        flat = " ".join(action.split())
        logged = re.fullmatch(r"(?i)set (logged|unlogged)", flat)
        if logged:
            unlogged = logged.group(1).lower() == "unlogged"
            if unlogged != table.unlogged:
                self.emit(ch.SetUnlogged(name, table.unlogged, unlogged))
            return True
        stats = re.fullmatch(r"(?i)alter (?:column )?(\S+) set statistics (-?\d+|default)", flat)
        if stats:
            col = self.state.column(name, self.name(_ident_text(stats.group(1))))
            target = None if stats.group(2).lower() in ("default", "-1") else int(stats.group(2))
            if target != col.statistics:
                self.emit(ch.AlterColumn(name, col, replace(col, statistics=target)))
            return True
        cluster = re.fullmatch(r"(?i)cluster on (\S+)|set without cluster", flat)
        if cluster:
            index = self.name(_ident_text(cluster.group(1))) if cluster.group(1) else None
            if index is not None and not any(
                self.state.same(n, index)
                for n in [i.name for i in table.indexes]
                + [c.name for c in (table.primary_key, *table.uniques) if c and c.name]
            ):
                raise StateError(f"index {index} does not exist on {name}")
            if index != table.clustered_on:
                self.emit(ch.SetClusterOn(name, table.clustered_on, index))
            return True
        m = re.fullmatch(r"(?i)(set|reset) \((.*)\)", flat)
        if m is None:
            return False
        parameters = storage_parameters(table.options)
        for item in _split_top_level(m.group(2)):
            key, _, value = item.partition("=")
            if m.group(1).lower() == "set":
                parameters[key.strip().lower()] = value.strip()
            else:
                parameters.pop(key.strip().lower(), None)
        options = storage_options(parameters)
        if options != table.options:
            self.emit(ch.SetTableOptions(name, table.options, options))
        return True

    def add_column(self, name: QName, cd: exp.ColumnDef) -> None:
        col, extra = self.column(cd)
        table = self.state.require_table(name)
        if table.column(col.name, self.dialect) is not None:
            if cd.args.get("exists"):
                return
            raise StateError(f"column {name}.{col.name} already exists")
        after: str | None = None
        first = False
        pos = cd.args.get("position")
        if isinstance(pos, exp.ColumnPosition):
            if str(pos.args.get("position") or "").upper() == "FIRST":
                first = True
            elif pos.this is not None:
                after = self.name(pos.this)
        if after is None and not first and table.columns:
            after = table.columns[-1].name
        if self.dialect is not Dialect.SQLITE and any(
            isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in extra
        ):
            col = replace(col, nullable=False)
        (col,), sequences = self._own_sequences(name, (col,))
        for seq in sequences:
            self.emit(ch.CreateSequence(seq))
        self.emit(ch.AddColumn(name, col, after, first))
        self._own_after(name, sequences, (col,))
        taken = self._taken()
        for cc in extra:
            before = self.state.require_table(name)
            updated = self._add_inline(before, col.name, cc, taken)
            for con in _new_constraints(before, updated):
                self._emit_constraint(name, con)

    def _emit_constraint(self, name: QName, con: Constraint) -> None:
        if isinstance(con, ForeignKey) and self.dialect is Dialect.MYSQL:
            table = self.state.require_table(name)
            twins = _implicit_twins(table, con.columns)
            if twins or not _has_index_prefix(table, con.columns, self.state):
                # InnoDB drops what it made for a key on a leading part of these columns
                # before it names the new index, which may then take that index's name
                for old in superseded_fk_indexes(table, con.columns):
                    self.emit(ch.DropIndex(old))
                table = self.state.require_table(name)
                idx_name = con.name if con.name in self.given_names else None
                if idx_name is None:
                    # an unnamed key's index is named after its first column: when the index
                    # InnoDB made for an earlier key already has that name, it is kept as is
                    idx_name = next(
                        (t.name for t in twins if self.state.same(t.name, con.columns[0])), None
                    )
                idx_name = idx_name or naming.constraint_name(
                    self.dialect, table, "index", con.columns, naming.Names()
                )
                assert idx_name is not None
                if idx_name not in {t.name for t in twins}:
                    # InnoDB makes the key its own index and drops the one it made for an
                    # earlier key on exactly these columns (seen on MariaDB 10.11).
                    self.emit(
                        ch.CreateIndex(
                            Index(
                                idx_name,
                                name,
                                tuple(IndexPart(c) for c in con.columns),
                                implicit=True,
                            )
                        )
                    )
                    for twin in twins:
                        self.emit(ch.DropIndex(twin))
        if isinstance(con, PrimaryKey) and self.dialect is not Dialect.SQLITE:
            # Making a column part of the primary key makes it NOT NULL.
            for colname in con.columns:
                col = self.state.column(name, colname)
                if col.nullable:
                    self.emit(ch.AlterColumn(name, col, replace(col, nullable=False)))
        if isinstance(con, Unique | PrimaryKey):
            self.take_implicit_name(name, con.name)
        self.emit(ch.AddConstraint(name, con))
        if (
            self.dialect is Dialect.MYSQL
            and isinstance(con, Unique | PrimaryKey)
            and not (isinstance(con, Unique) and long_unique(self.state.require_table(name), con))
        ):
            # a unique or primary key is an index InnoDB lets a foreign key use as well
            self.supersede_implicit(name, [c.lower() for c in con.columns], con.name)

    def _validate(self, name: QName, what: str) -> None:
        """VALIDATE CONSTRAINT: the NOT VALID constraint now holds for every row."""
        con = self.state.find_constraint(name, what)
        if con is None:
            raise StateError(f"constraint {what} does not exist on {name}")
        if isinstance(con, Check | ForeignKey) and not con.validated:
            # no change of its own: undone, it is dropped and added NOT VALID again
            self.emit(ch.DropConstraint(name, con))
            self.emit(ch.AddConstraint(name, replace(con, validated=True)))

    def add_constraint(self, name: QName, node: exp.Expr, *, not_valid: bool = False) -> None:
        table = self.state.require_table(name)
        self.superseding = self.dialect is Dialect.MYSQL
        try:
            if isinstance(node, exp.IndexColumnConstraint):
                idx = self._inline_index(table, node, self._taken())
                self.emit_index(idx)
                return
            taken = self._taken()
            if self._unnamed and isinstance(node, exp.Constraint):
                node = node.expressions[0]
            updated = self._add_table_element(table, node, taken)
        finally:
            self.superseding = False
        for con in _new_constraints(table, updated):
            if (
                not_valid
                and self.dialect is Dialect.POSTGRES
                and isinstance(con, Check | ForeignKey)
            ):
                con = replace(con, validated=False)
            self._emit_constraint(name, con)
        for idx in updated.indexes[len(table.indexes) :]:
            self.emit(ch.CreateIndex(idx))

    def alter_drop(self, name: QName, node: exp.Drop) -> None:
        kind = str(node.args.get("kind") or "COLUMN").upper()
        exists = bool(node.args.get("exists"))
        targets = node.args.get("tables") or ([node.this] if node.this is not None else [])
        for target in targets:
            what = self.name(target)
            table = self.state.require_table(name)
            if kind == "COLUMN":
                col = table.column(what, self.dialect)
                if col is None:
                    if exists:
                        continue
                    raise StateError(f"column {name}.{what} does not exist")
                if node.args.get("cascade") and self.dialect is Dialect.POSTGRES:
                    for view in list(self.state.views.values()):
                        if mentions(view.definition, name.name) and mentions(
                            view.definition, col.name
                        ):
                            self.emit(ch.DropView(view))
                self.drop_column(table, col)
            elif kind in {"CONSTRAINT", "FOREIGN KEY", "CHECK"}:
                con = self.state.find_constraint(name, what)
                if con is None and kind == "CONSTRAINT" and self.dialect is Dialect.MYSQL:
                    idx = next((i for i in table.indexes if self.state.same(i.name, what)), None)
                    if idx is not None:
                        self.emit(ch.DropIndex(idx))
                        continue
                opaque = self.state.opaque.get(("constraint", f"{what} on {name}"))
                if con is None and opaque is not None:
                    self.emit(ch.DropOpaque(opaque))
                    continue
                if con is None:
                    if exists:
                        continue
                    raise StateError(f"constraint {what} does not exist on {name}")
                if isinstance(con, (PrimaryKey, Unique)) and node.args.get("cascade"):
                    self.drop_keys_referencing(name, con.columns)
                self.emit(ch.DropConstraint(name, con))
            elif kind in {"INDEX", "KEY"}:
                idx = next((i for i in table.indexes if self.state.same(i.name, what)), None)
                if idx is not None:
                    self.emit(ch.DropIndex(idx))
                    continue
                con = self.state.find_constraint(name, what)
                if isinstance(con, (Unique, PrimaryKey)):
                    self.emit(ch.DropConstraint(name, con))
                elif not exists:
                    raise StateError(f"index {what} does not exist on {name}")
            else:
                self.unmodelled.append(f"ALTER TABLE DROP {kind} is not modelled")

    def drop_keys_referencing(self, name: QName, columns: tuple[str, ...]) -> None:
        """CASCADE on a primary key or unique: PostgreSQL drops the foreign keys that rely on it
        (those referencing exactly its columns), in whichever table they are."""
        if self.dialect is not Dialect.POSTGRES:
            return
        key = {fold(c, self.dialect) for c in columns}
        for other, fk in self.state.referencing(name):
            if {fold(c, self.dialect) for c in fk.ref_columns} == key:
                self.emit(ch.DropConstraint(other.name, fk))

    def drop_column(self, table: Table, col: Column) -> None:
        """Drop a column and, first, what the engine drops or shrinks along with it."""
        name = table.name
        same = self.state.same
        if self.dialect is Dialect.POSTGRES:
            for idx in table.indexes:
                if (
                    any(
                        (p.is_column and same(p.expression, col.name))
                        or (not p.is_column and mentions(p.expression, col.name))
                        for p in idx.parts
                    )
                    or (idx.where and mentions(idx.where, col.name))
                    or any(same(c, col.name) for c in idx.include)
                ):
                    self.emit(ch.DropIndex(idx))
            for con in table.constraints():
                uses = (
                    mentions(con.expression, col.name)
                    if isinstance(con, Check)
                    else any(same(c, col.name) for c in con.columns)
                )
                if uses:
                    self.emit(ch.DropConstraint(name, con))
            for other, fk in self.state.referencing(name):
                if any(same(c, col.name) for c in fk.ref_columns) and self.state.table(other.name):
                    current = self.state.require_table(other.name)
                    if fk in current.foreign_keys:
                        self.emit(ch.DropConstraint(other.name, fk))
        elif self.dialect is Dialect.MYSQL:
            for idx in table.indexes:
                if any(p.is_column and same(p.expression, col.name) for p in idx.parts):
                    self.emit(ch.DropIndex(idx))
                    rest = tuple(
                        p for p in idx.parts if not (p.is_column and same(p.expression, col.name))
                    )
                    if rest:
                        # the shorter index may now serve a foreign key whose own index
                        # InnoDB then drops, as after a CREATE INDEX (fuzz_cli seed 6340)
                        self.emit_index(replace(idx, parts=rest))
            for con in table.constraints():
                if isinstance(con, Check):
                    # MariaDB drops the column's own CHECK, and a table CHECK naming only this
                    # column (one naming others too makes it refuse the drop)
                    if (con.column is not None and same(con.column, col.name)) or mentions(
                        con.expression, col.name
                    ):
                        self.emit(ch.DropConstraint(name, con))
                    continue
                if any(same(c, col.name) for c in con.columns):
                    self.emit(ch.DropConstraint(name, con))
                    rest_cols = tuple(c for c in con.columns if not same(c, col.name))
                    if rest_cols and not isinstance(con, ForeignKey):
                        self.emit(ch.AddConstraint(name, replace(con, columns=rest_cols)))
        elif self.dialect is Dialect.SQLITE:
            # SQLite refuses the drop while another column's CHECK names it: one that does is
            # the column's own, and goes with it
            for check in table.checks:
                if mentions(check.expression, col.name):
                    self.emit(ch.DropConstraint(name, check))
            # and it drops the column's own REFERENCES with it (a table-level FOREIGN KEY
            # naming the column makes it refuse, so a one-column one is the column's)
            for fk in table.foreign_keys:
                if len(fk.columns) == 1 and same(fk.columns[0], col.name):
                    self.emit(ch.DropConstraint(name, fk))
        owned = self.untie_owned_sequences(name, col.name)
        current = self.state.require_table(name)
        after_col = None
        first = False
        for i, c in enumerate(current.columns):
            if same(c.name, col.name):
                first = i == 0
                after_col = current.columns[i - 1].name if i > 0 else None
        self.emit(ch.DropColumn(name, col, after_col, first))
        for seq in owned:
            self.emit(ch.DropSequence(seq))

    def untie_owned_sequences(self, table: QName, column: str | None) -> list[Sequence]:
        """Sequences OWNED BY the table (or one column of it), untied before it goes.

        PostgreSQL drops them with their owner. Untying first lets the down re-create the
        sequence before the table whose default reads it, and tie it again afterwards.
        """
        untied = []
        for seq in list(self.state.sequences.values()):
            ref = _owner(seq.owned_by or "")
            if ref is None:
                continue
            db = ref.args.get("db")
            owner = QName(self.name(ref.args["table"]), self.name(db) if db is not None else None)
            if owner.schema == "public":
                owner = QName(owner.name)
            if self.state.key(owner) != self.state.key(table):
                continue
            if column is not None and not self.state.same(self.name(ref.this), column):
                continue
            free = replace(seq, owned_by=None)
            self.emit(ch.AlterSequence(seq, free))
            untied.append(free)
        return untied

    def alter_column(self, name: QName, node: exp.AlterColumn) -> None:
        colname = self.name(node.this)
        col = self.state.column(name, colname)
        new = col
        dtype = node.args.get("dtype")
        if isinstance(dtype, exp.DataType):
            if dtype.this in _SERIAL:
                raise Unsupported("changing a column to serial is not valid SQL")
            new = replace(new, type=dtype.sql(self.dialect.value))
            if self.dialect is Dialect.POSTGRES and col.default is not None:
                new = replace(new, default=typed_default(col.default, col.type))
            collate = node.args.get("collate")
            if isinstance(collate, exp.Expr):
                new = replace(new, collation=self.name(collate))
        elif "default" in node.args and node.args.get("default") is not None:
            self._unserial(name, col)
            col = self.state.column(name, colname)
            new = replace(col, default=self.raw(node.args["default"]))
        elif node.args.get("allow_null") is not None:
            new = replace(new, nullable=bool(node.args.get("drop")))
        elif node.args.get("drop"):
            if self._unserial(name, col):
                return
            new = replace(new, default=None)
        elif node.args.get("comment") is not None:
            new = replace(new, comment=self.name(node.args["comment"]))
        else:
            self.unmodelled.append(
                f"ALTER COLUMN not modelled: {node.sql(self.dialect.value)[:120]}"
            )
            return
        if new != col:
            self.emit(ch.AlterColumn(name, col, new))

    def _unserial(self, name: QName, col: Column) -> bool:
        """A serial whose default is dropped or replaced is a plain column from then on, and
        its sequence (`<table>_<column>_seq`, still there) becomes an object of its own."""
        if self.dialect is not Dialect.POSTGRES or col.auto not in _SERIAL_KINDS:
            return False
        seq_type = {
            AutoKind.SERIAL: "integer",
            AutoKind.BIGSERIAL: "bigint",
            AutoKind.SMALLSERIAL: "smallint",
        }[col.auto]
        seq = naming.serial_sequence(name.name, col.name)
        self.emit(ch.AlterColumn(name, col, replace(col, auto=None, default=None)))
        self.emit(
            ch.CreateSequence(
                Sequence(
                    QName(seq, name.schema),
                    f"AS {seq_type}",
                    f"{_quote_q(name, self.dialect)}.{_quote_name(col.name, self.dialect)}",
                )
            )
        )
        return True

    def modify_column(self, name: QName, node: exp.Expr) -> None:
        cd = node.this
        if not isinstance(cd, exp.ColumnDef):
            raise Unsupported("MODIFY without a column definition")
        old_name = (
            self.name(node.args["rename_from"])
            if node.args.get("rename_from") is not None
            else self.name(cd.this)
        )
        col = self.state.column(name, old_name)
        new, extra = self.column(cd)
        if self.dialect is Dialect.MYSQL:
            # MariaDB keeps a column-level CHECK inside the column definition: restating the
            # column without it removes it.
            for own in self.state.require_table(name).checks:
                if own.column is not None and self.state.same(own.column, col.name):
                    self.emit(ch.DropConstraint(name, own))
        if not self.state.same(col.name, new.name) or col.name != new.name:
            self.emit(ch.RenameColumn(name, col.name, new.name))
            col = self.state.column(name, new.name)
        if new != col:
            self.emit(ch.AlterColumn(name, col, new))
        self._move(name, new.name, cd.args.get("position"))
        taken = self._taken()
        for cc in extra:
            before = self.state.require_table(name)
            updated = self._add_inline(before, new.name, cc, taken)
            for con in _new_constraints(before, updated):
                self._emit_constraint(name, con)

    def _move(self, table_name: QName, column: str, position: object) -> None:
        """MODIFY/CHANGE ... FIRST | AFTER x moves the column; remember where it stood."""
        if not isinstance(position, exp.ColumnPosition):
            return
        first = str(position.args.get("position") or "").upper() == "FIRST"
        after = None if first or position.this is None else self.name(position.this)
        cols = [c.name for c in self.state.require_table(table_name).columns]
        index = next(i for i, c in enumerate(cols) if self.state.same(c, column))
        was_first = index == 0
        was_after = cols[index - 1] if index > 0 else None
        if (first and was_first) or (
            after is not None and was_after and self.state.same(after, was_after)
        ):
            return
        self.emit(ch.MoveColumn(table_name, column, after, first, was_after, was_first))


def _implicit_twins(table: Table, cols: tuple[str, ...]) -> list[Index]:
    """The indexes InnoDB made for a foreign key on exactly `cols`, when nothing else serves
    a key on them: a new key on those columns gets an index of its own instead."""
    key = [c.lower() for c in cols]
    twins: list[Index] = []
    for index in table.indexes:
        parts = [p.expression.lower() for p in index.parts if p.is_column]
        if parts[: len(key)] != key or long_unique(table, index):
            continue
        if not index.implicit or len(parts) != len(key) or len(parts) != len(index.parts):
            return []  # an index the user made, or a longer one, serves the key as it is
        twins.append(index)
    others = [
        tuple(c.lower() for c in u.columns) for u in table.uniques if not long_unique(table, u)
    ]
    if table.primary_key:
        others.append(tuple(c.lower() for c in table.primary_key.columns))
    if any(list(o[: len(key)]) == key for o in others):
        return []
    return twins


@lru_cache(maxsize=1024)
def _owner(owned_by: str) -> exp.Column | None:
    """A sequence's OWNED BY `table.column` as parsed (read only: shared between calls), or
    None when it names no table's column. Every DROP COLUMN looks at every sequence."""
    try:
        ref = sqlglot.parse_one(owned_by, read="postgres")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(ref, exp.Column) or ref.args.get("table") is None:
        return None
    return ref
