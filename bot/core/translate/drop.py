"""DROP TABLE, INDEX, VIEW, TYPE, SEQUENCE, SCHEMA."""

from __future__ import annotations

import re

from sqlglot import exp

from bot.core import changes as ch
from bot.core.model import (
    Dialect,
    QName,
)
from bot.core.renaming import mentions
from bot.core.state import StateError
from bot.core.translate.alter_table import AlterTable
from bot.core.translate.base import Unsupported


class DropStatements(AlterTable):
    """DROP statements and what they take along (CASCADE, the engine's own drops)."""

    def drop(self, tree: exp.Drop) -> None:
        kind = str(tree.args.get("kind") or "").upper()
        exists = bool(tree.args.get("exists"))
        cascade = bool(tree.args.get("cascade"))
        targets = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
        if kind == "TABLE":
            for t in targets:
                self.drop_table(self.qname(t), exists, cascade)
        elif kind == "VIEW":
            for t in targets:
                name = self.qname(t)
                view = self.state.views.get(self.state.key(name))
                if view is None:
                    if exists:
                        continue
                    raise StateError(f"view {name} does not exist")
                if cascade and self.dialect is Dialect.POSTGRES:
                    self.drop_dependent_views(name)
                for obj in list(self.state.opaque.values()):
                    if obj.table is not None and self.state.key(obj.table) == self.state.key(name):
                        self.emit(ch.DropOpaque(obj))
                self.emit(ch.DropView(view))
        elif kind == "INDEX":
            for t in targets:
                self.drop_index(t, tree, exists)
        elif kind == "TYPE":
            for t in targets:
                name = self.qname(t)
                if cascade:
                    self._drop_columns_of_type(name.name)
                enum = self.state.enums.get(self.state.key(name))
                if enum is not None:
                    self.emit(ch.DropEnum(enum))
                else:
                    self._drop_opaque("type", name.name, exists)
        elif kind in {"SCHEMA", "DATABASE"}:
            if self.dialect is Dialect.MYSQL:
                raise Unsupported("DROP DATABASE: other databases are outside this schema")
            for t in targets:
                node = t.args.get("db") or t.this if isinstance(t, exp.Table) else t
                schema_name = self.name(node)
                if not any(self.state.same(n, schema_name) for n in self.state.namespaces):
                    if exists:
                        continue
                    raise StateError(f"schema {schema_name} does not exist")
                if cascade:
                    self.drop_schema_contents(schema_name)
                self.emit(ch.DropNamespace(schema_name))
        elif kind == "SEQUENCE":
            for t in targets:
                name = self.qname(t)
                seq = self.state.sequences.get(self.state.key(name))
                if seq is None:
                    if exists:
                        continue
                    raise StateError(f"sequence {name} does not exist")
                self.emit(ch.DropSequence(seq))
        else:
            self.command()

    def drop_schema_contents(self, schema: str) -> None:
        """DROP SCHEMA ... CASCADE: its views, tables (with what reads or references them),
        sequences, enum types (with the columns elsewhere of that type) and routines. An object
        kept as text that only mentions the schema may depend on it in ways not read here."""
        if self.dialect is not Dialect.POSTGRES:
            raise Unsupported(f"DROP SCHEMA {schema} CASCADE: drops every object in it")
        same = self.state.same

        def inside(name: QName) -> bool:
            return name.schema is not None and same(name.schema, schema)

        for view in list(self.state.views.values()):
            if inside(view.name) and self.state.key(view.name) in self.state.views:
                self.drop_dependent_views(view.name)
                for obj in list(self.state.opaque.values()):
                    if obj.table is not None and self.state.key(obj.table) == self.state.key(
                        view.name
                    ):
                        self.emit(ch.DropOpaque(obj))
                self.emit(ch.DropView(view))
        for table in list(self.state.tables.values()):
            if inside(table.name) and self.state.table(table.name) is not None:
                self.drop_table(table.name, exists=False, cascade=True)
        for seq in list(self.state.sequences.values()):
            if inside(seq.name) and self.state.key(seq.name) in self.state.sequences:
                self.emit(ch.DropSequence(seq))
        for enum in list(self.state.enums.values()):
            if inside(enum.name):
                self._drop_columns_of_type(f"{schema}.{enum.name.name}")
                self.emit(ch.DropEnum(enum))
        mention = re.compile(rf'(?i)(?<![\w$])"?{re.escape(schema)}"?\s*\.')
        for obj in list(self.state.opaque.values()):
            scoped = obj.table is not None and inside(obj.table)
            if scoped or re.match(rf"(?i){re.escape(schema)}\.", obj.identity):
                self.emit(ch.DropOpaque(obj))
            elif mention.search(obj.definition):
                self.unmodelled.append(
                    f"DROP SCHEMA {schema} CASCADE: whether it drops {obj.kind} {obj.identity} "
                    "is not known"
                )

    def _drop_columns_of_type(self, type_name: str) -> None:
        """DROP TYPE ... CASCADE drops every column of that type (or an array of it)."""
        for table in list(self.state.tables.values()):
            for col in table.columns:
                base = col.type.removesuffix("[]").strip('"')
                if self.state.same(base, type_name):
                    self.drop_column(self.state.require_table(table.name), col)

    def drop_dependent_views(self, name: QName) -> None:
        """CASCADE: the views and materialized views reading `name`, theirs first."""
        for view in list(self.state.views.values()):
            if self.state.key(view.name) == self.state.key(name):
                continue
            if self.state.key(view.name) in self.state.views and mentions(
                view.definition, name.name
            ):
                self.drop_dependent_views(view.name)
                for obj in list(self.state.opaque.values()):
                    if obj.table is not None and self.state.key(obj.table) == self.state.key(
                        view.name
                    ):
                        self.emit(ch.DropOpaque(obj))
                self.emit(ch.DropView(view))

    def drop_table(self, name: QName, exists: bool, cascade: bool) -> None:
        table = self.state.table(name)
        if table is None and self._find_opaque("virtual table", str(name), None) is not None:
            self._drop_opaque("virtual table", str(name), exists)
            return
        if table is None:
            if exists:
                return
            raise StateError(f"table {name} does not exist")
        for child in list(self.state.tables.values()):
            # A partitioned table's partitions go with it.
            if child.partition_of is not None and self.state.key(child.partition_of) == (
                self.state.key(name)
            ):
                self.drop_table(child.name, exists=True, cascade=cascade)
        for obj in list(self.state.opaque.values()):
            if obj.table is not None and self.state.key(obj.table) == self.state.key(name):
                self.emit(ch.DropOpaque(obj))
        if self.dialect is not Dialect.SQLITE:
            for other, fk in self.state.referencing(name):
                if self.state.key(other.name) != self.state.key(name):
                    self.emit(ch.DropConstraint(other.name, fk))
        if cascade and self.dialect is Dialect.POSTGRES:
            self.drop_dependent_views(name)
        owned = self.untie_owned_sequences(name, None)
        self.emit(ch.DropTable(self.state.require_table(name)))
        for seq in owned:
            self.emit(ch.DropSequence(seq))

    def drop_index(self, target: exp.Expr, tree: exp.Drop, exists: bool) -> None:
        name = self.name(target)
        on = tree.args.get("cluster")
        if isinstance(on, exp.OnProperty):
            table = self.state.require_table(self.qname(on.this))
            idx = next((i for i in table.indexes if self.state.same(i.name, name)), None)
            if idx is None:
                uq = next(
                    (u for u in table.uniques if u.name and self.state.same(u.name, name)), None
                )
                if uq is not None:
                    self.emit(ch.DropConstraint(table.name, uq))
                    return
        else:
            schema = self.qname(target).schema if isinstance(target, exp.Table) else None
            idx = self.state.find_index(name, schema)
        if idx is None and ("index", name) in self.state.opaque:
            self.emit(ch.DropOpaque(self.state.opaque[("index", name)]))
            return
        if idx is None:
            if exists:
                return
            raise StateError(f"index {name} does not exist")
        if idx.unique and tree.args.get("cascade") and all(p.is_column for p in idx.parts):
            self.drop_keys_referencing(idx.table, tuple(p.expression for p in idx.parts))
        self.emit(ch.DropIndex(idx))
