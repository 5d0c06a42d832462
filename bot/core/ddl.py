"""Translate one parsed DDL statement into changes, applying them as it goes.

Later actions of a statement see the effect of earlier ones (ALTER TABLE ... ADD COLUMN a,
ADD CONSTRAINT ... (a)), so every change is applied to the state the moment it is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from bot.core import changes as ch
from bot.core import naming
from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Constraint,
    Dialect,
    EnumType,
    ForeignKey,
    Index,
    IndexPart,
    Opaque,
    PrimaryKey,
    QName,
    Sequence,
    Table,
    Unique,
    View,
)
from bot.core.sqltext import ParsedStatement
from bot.core.state import State, StateError


class Unsupported(Exception):
    """A statement (or part of one) we recognise but cannot model; the message says why."""


_SERIAL_KINDS = {AutoKind.SERIAL, AutoKind.BIGSERIAL, AutoKind.SMALLSERIAL}
_SERIAL = {
    exp.DataType.Type.SERIAL: (AutoKind.SERIAL, "INT"),
    exp.DataType.Type.BIGSERIAL: (AutoKind.BIGSERIAL, "BIGINT"),
    exp.DataType.Type.SMALLSERIAL: (AutoKind.SMALLSERIAL, "SMALLINT"),
}
# Words that end a column's type and start its constraints (for SQLite's verbatim types).
_CONSTRAINT_WORDS = {
    "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE",
    "REFERENCES", "GENERATED", "AS", "AUTOINCREMENT", "AUTO_INCREMENT", "COMMENT", "ON",
}  # fmt: skip
_IGNORED_ACTIONS = re.compile(
    r"(?is)\s*(owner\s+to|set\s+\(|reset\s+\(|set\s+(logged|unlogged|tablespace|without)|"
    r"cluster\s+on|alter\s+(column\s+)?\S+\s+set\s+(statistics|storage|compression)|"
    r"validate\s+constraint|enable\s+(always\s+|replica\s+)?trigger|disable\s+trigger|"
    r"replica\s+identity|engine\s*=?|auto_increment\s*=|row_format\s*=|"
    r"(default\s+)?(charset|character\s+set)\s*=?|force\b|algorithm\s*=|lock\s*=|"
    r"alter\s+(column\s+)?\S+\s+set\s+\(|enable\s+keys|disable\s+keys)"
)


class Translator:
    """Turns one statement into changes against `state`."""

    def __init__(self, state: State, parsed: ParsedStatement) -> None:
        self.state = state
        self.p = parsed
        self.dialect = state.dialect
        self.applied: list[ch.Change] = []
        self.unmodelled: list[str] = []
        # Constraint names the author wrote (as opposed to ones we derived as the engine would).
        self.given_names: set[str] = set()

    # -- plumbing ------------------------------------------------------------------

    def emit(self, change: ch.Change) -> None:
        self.state.apply(change)
        self.applied.append(change)

    def translate(self) -> list[ch.Change]:
        tree = self.p.tree
        if isinstance(tree, exp.Create):
            self.create(tree)
        elif isinstance(tree, exp.Drop):
            self.drop(tree)
        elif isinstance(tree, exp.Alter):
            self.alter(tree)
        elif (
            isinstance(tree, exp.Command)
            or tree is None
            or isinstance(tree, (exp.Grant, exp.Revoke))
            or type(tree).__name__ in {"Grant", "Revoke"}
        ):
            self.command()
        else:
            raise Unsupported(f"{type(tree).__name__} statement is not modelled")
        return self.applied

    def name(self, node: exp.Expr | str | None) -> str:
        """An identifier as the engine stores it (PostgreSQL folds unquoted names)."""
        if node is None:
            raise Unsupported("missing name")
        if isinstance(node, str):
            return node.lower() if self.dialect is Dialect.POSTGRES else node
        if isinstance(node, (exp.Column, exp.Table)) and isinstance(node.this, exp.Identifier):
            return self.name(node.this)
        if isinstance(node, exp.Identifier):
            text = str(node.this)
            if self.dialect is Dialect.POSTGRES and not node.quoted:
                return text.lower()
            return text
        if isinstance(node, exp.Dot):
            return self.name(node.expression)
        if isinstance(node, exp.Literal) and node.is_string:
            return str(node.this)
        if isinstance(node, exp.Var):
            return self.name(str(node.this))
        raise Unsupported(f"cannot read a name from {node.sql(self.dialect.value)!r}")

    def qname(self, table: exp.Expr | None) -> QName:
        if isinstance(table, exp.Schema):
            table = table.this
        if not isinstance(table, exp.Table):
            raise Unsupported("expected a table name")
        name = self.name(table.this)
        db = table.args.get("db")
        schema = self.name(db) if db is not None else None
        # The default schema is spelled out in some migrations and not in others.
        if schema is not None and (self.dialect is not Dialect.POSTGRES or schema == "public"):
            schema = None
        return QName(name, schema)

    def raw(self, node: exp.Expr) -> str:
        return self.p.raw(node)

    def _taken(self) -> naming.Names:
        return naming.Names(self.state.names_in_use())

    # -- CREATE --------------------------------------------------------------------

    def create(self, tree: exp.Create) -> None:
        kind = str(tree.args.get("kind") or "").upper()
        props = tree.args.get("properties")
        temporary = props is not None and any(
            isinstance(p, exp.TemporaryProperty) for p in props.expressions
        )
        if temporary:
            return  # session-scoped: never part of the schema
        if kind == "TABLE":
            self.create_table(tree)
        elif kind == "INDEX":
            self.create_index(tree)
        elif kind == "VIEW":
            self.create_view(tree)
        elif kind == "TYPE":
            self.create_type(tree)
        elif kind == "SCHEMA" or kind == "DATABASE":
            table = tree.this
            name = (
                self.name(table.args.get("db") or table.this)
                if isinstance(table, exp.Table)
                else None
            )
            if name is None:
                raise Unsupported("CREATE SCHEMA without a name")
            if self.dialect is Dialect.MYSQL:
                raise Unsupported("CREATE DATABASE: other databases are outside this schema")
            if not any(self.state.same(n, name) for n in self.state.namespaces):
                self.emit(ch.CreateNamespace(name))
            elif not tree.args.get("exists"):
                raise StateError(f"schema {name} already exists")
        elif kind == "SEQUENCE":
            self.create_sequence(tree)
        else:
            self.command()

    def create_table(self, tree: exp.Create) -> None:
        target = tree.this
        name = self.qname(target)
        if self.state.table(name) is not None:
            if tree.args.get("exists"):
                return
            raise StateError(f"table {name} already exists")
        if tree.args.get("expression") is not None:
            raise Unsupported("CREATE TABLE ... AS SELECT: its columns come from a query")
        if not isinstance(target, exp.Schema):
            like = next(iter(tree.find_all(exp.LikeProperty)), None)
            if like is not None:
                source = self.state.require_table(self.qname(like.this))
                self.emit(ch.CreateTable(_copy_table(source, name)))
                return
            raise Unsupported("CREATE TABLE without a column list")
        table = Table(name)
        columns: list[Column] = []
        pending: list[exp.Expr] = []
        inline: list[tuple[str, exp.ColumnConstraint]] = []
        for element in target.expressions:
            if isinstance(element, exp.ColumnDef):
                col, extra = self.column(element)
                columns.append(col)
                inline.extend((col.name, c) for c in extra)
            else:
                pending.append(element)
        table = replace(table, columns=tuple(columns))
        comment = _property(tree, exp.SchemaCommentProperty)
        if comment is not None:
            table = replace(table, comment=self.name(comment))
        if self.dialect is Dialect.SQLITE:
            opts = re.search(
                r"(?is)\)\s*((?:without\s+rowid|strict)(?:\s*,\s*(?:without\s+rowid|strict))*)\s*$",
                self.p.text,
            )
            if opts:
                table = replace(table, options=" ".join(opts.group(1).split()).upper())
        # Build the table with its constraints in one CreateTable, naming them as the engine would.
        taken = self._taken()
        for colname, cc in inline:
            table = self._add_inline(table, colname, cc, taken)
        for element in pending:
            table = self._add_table_element(table, element, taken)
        if self.dialect is Dialect.POSTGRES or self.dialect is Dialect.MYSQL:
            table = _pk_not_null(table, self.state)
        if self.dialect is Dialect.MYSQL:
            table = self._mysql_fk_indexes(table)
        if re.search(r"(?is)\)\s*partition\s+by\b", self.p.text):
            # The table is modelled, its partitioning is not: say so rather than lose it.
            self.unmodelled.append(
                "PARTITION BY is not modelled: the partition key is not in the plan"
            )
        self.emit(ch.CreateTable(table))

    def column(self, cd: exp.ColumnDef) -> tuple[Column, list[exp.ColumnConstraint]]:
        """A column and the constraints written inline on it that become table constraints."""
        name = self.name(cd.this)
        dtype = cd.args.get("kind")
        auto: AutoKind | None = None
        mysql_serial = (
            self.dialect is Dialect.MYSQL
            and isinstance(dtype, exp.DataType)
            and dtype.this == exp.DataType.Type.SERIAL
        )
        if mysql_serial:
            # MySQL's SERIAL: BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE.
            type_text = "BIGINT UNSIGNED"
        elif isinstance(dtype, exp.DataType) and dtype.this in _SERIAL:
            auto, type_text = _SERIAL[dtype.this]
        elif dtype is None:
            type_text = ""
        elif self.dialect is Dialect.SQLITE:
            type_text = self._verbatim_type(cd)
        else:
            type_text = _type_sql(dtype, _type_key(dtype) or self._verbatim_type(cd), self.dialect)
        # Fields are collected and the Column built once: replace() per constraint is slow
        # on long histories (bench/replay.py).
        col: dict[str, Any] = {
            "name": name,
            "type": type_text,
            "auto": auto,
            "nullable": auto is None
            or auto is AutoKind.AUTOINCREMENT
            or self.dialect is not Dialect.POSTGRES,
        }
        extra: list[exp.ColumnConstraint] = []
        if mysql_serial:
            col.update(nullable=False, auto=AutoKind.AUTO_INCREMENT)
            extra.append(exp.ColumnConstraint(kind=exp.UniqueColumnConstraint()))
        constraints = cd.args.get("constraints") or []
        if not constraints:
            return Column(**col), extra
        for cc in constraints:
            kind = cc.args.get("kind")
            if isinstance(kind, exp.NotNullColumnConstraint):
                col.update(nullable=bool(kind.args.get("allow_null")))
            elif isinstance(kind, exp.DefaultColumnConstraint):
                value = kind.this
                col.update(
                    default=None
                    if _is_null(value) and self.dialect is not Dialect.SQLITE
                    else self.raw(value),
                )
            elif isinstance(kind, exp.AutoIncrementColumnConstraint):
                col.update(
                    auto=AutoKind.AUTOINCREMENT
                    if self.dialect is Dialect.SQLITE
                    else AutoKind.AUTO_INCREMENT,
                )
                if self.dialect is Dialect.MYSQL:
                    col.update(nullable=False)
            elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
                if kind.this is True:
                    col.update(auto=AutoKind.IDENTITY_ALWAYS, nullable=False)
                else:
                    col.update(auto=AutoKind.IDENTITY_BY_DEFAULT, nullable=False)
            elif isinstance(kind, exp.ComputedColumnConstraint):
                stored = self._generated_stored(cd, kind)
                col.update(generated=self.raw(_unparen(kind.this)), generated_stored=stored)
            elif isinstance(kind, exp.CollateColumnConstraint):
                col.update(collation=self.name(kind.this))
            elif isinstance(kind, exp.CommentColumnConstraint):
                col.update(comment=self.name(kind.this))
            elif isinstance(kind, exp.OnUpdateColumnConstraint):
                col.update(on_update=self.raw(kind.this))
            elif isinstance(kind, exp.CharacterSetColumnConstraint):
                col.update(type=f"{col['type']} CHARACTER SET {kind.this.sql(self.dialect.value)}")
            elif isinstance(
                kind,
                (
                    exp.PrimaryKeyColumnConstraint,
                    exp.UniqueColumnConstraint,
                    exp.Reference,
                    exp.CheckColumnConstraint,
                ),
            ):
                extra.append(cc)
            elif kind is None:
                continue
            else:
                raise Unsupported(
                    f"column {name}: {kind.sql(self.dialect.value)!r} is not modelled"
                )
        return Column(**col), extra

    def _verbatim_type(self, cd: exp.ColumnDef) -> str:
        """SQLite keeps the declared type as written; the catalog shows it verbatim."""
        span = self.p.token_range(cd.this)
        if span is None:
            dtype = cd.args.get("kind")
            return dtype.sql("sqlite") if isinstance(dtype, exp.Expr) else ""
        i = span[1] + 1
        toks = self.p.tokens
        j = i
        depth = 0
        while j < len(toks):
            t = toks[j]
            if depth == 0 and (
                t.token_type in {TokenType.COMMA, TokenType.R_PAREN}
                or (t.text.upper().split() or [""])[0] in _CONSTRAINT_WORDS
            ):
                break
            if t.token_type == TokenType.L_PAREN:
                depth += 1
            elif t.token_type == TokenType.R_PAREN:
                depth -= 1
            j += 1
        return self.p.slice(i, j - 1) if j > i else ""

    def _generated_stored(self, cd: exp.ColumnDef, kind: exp.ComputedColumnConstraint) -> bool:
        if kind.args.get("persisted") is True:
            return True
        words = self.p.raw(cd).upper().split()
        if "STORED" in words or "PERSISTENT" in words:
            return True
        if "VIRTUAL" in words:
            return False
        # PostgreSQL 18 defaults to VIRTUAL, MySQL to VIRTUAL, SQLite to VIRTUAL.
        return False

    def _add_inline(
        self, table: Table, colname: str, cc: exp.ColumnConstraint, taken: naming.Names
    ) -> Table:
        kind = cc.args.get("kind")
        given = self.name(cc.this) if cc.this is not None else None
        cols = (colname,)
        con: Constraint
        if isinstance(kind, exp.PrimaryKeyColumnConstraint):
            con = PrimaryKey(
                given or naming.constraint_name(self.dialect, table, "primary key", cols, taken),
                cols,
            )
            if table.primary_key is not None:
                raise StateError(f"table {table.name} has two primary keys")
            table = replace(table, primary_key=con)
            col = table.column(colname, self.dialect)
            if (
                self.dialect is Dialect.SQLITE
                and col is not None
                and col.auto is AutoKind.AUTOINCREMENT
            ):
                pass
        elif isinstance(kind, exp.UniqueColumnConstraint):
            con = Unique(
                given or naming.constraint_name(self.dialect, table, "unique", cols, taken), cols
            )
            table = replace(table, uniques=(*table.uniques, con))
        elif isinstance(kind, exp.Reference):
            con = self._foreign_key(table, cols, kind, given, taken)
            table = replace(table, foreign_keys=(*table.foreign_keys, con))
        elif isinstance(kind, exp.CheckColumnConstraint):
            expr = self.raw(_unparen(kind.this))
            con = Check(
                given
                or naming.constraint_name(
                    self.dialect, table, "check", cols, taken, column_level=True
                ),
                expr,
            )
            table = replace(table, checks=(*table.checks, con))
        else:
            return table
        if con.name:
            taken.add(con.name)
        return table

    def _foreign_key(
        self,
        table: Table,
        cols: tuple[str, ...],
        ref: exp.Reference,
        given: str | None,
        taken: naming.Names,
    ) -> ForeignKey:
        target = ref.this
        ref_table = self.qname(target)
        if isinstance(target, exp.Schema) and target.expressions:
            ref_cols = tuple(self.name(c) for c in target.expressions)
        else:
            # REFERENCES t without columns means t's primary key.
            if ref_table == table.name or self.state.table(ref_table) is None:
                pk = table.primary_key if ref_table == table.name else None
            else:
                pk = self.state.require_table(ref_table).primary_key
            if pk is None:
                raise Unsupported(
                    f"REFERENCES {ref_table} without columns, and its primary key is unknown"
                )
            ref_cols = pk.columns
        on_delete = on_update = deferrable = None
        for opt in ref.args.get("options") or []:
            text = " ".join(str(opt).split()).upper()
            if text.startswith("ON DELETE "):
                on_delete = text[len("ON DELETE ") :]
            elif text.startswith("ON UPDATE "):
                on_update = text[len("ON UPDATE ") :]
            elif "DEFERRABLE" in text or text.startswith("INITIALLY"):
                deferrable = f"{deferrable} {text}".strip() if deferrable else text
        for key in ("delete", "update"):
            val = ref.args.get(key) if key in ref.args else None
            if isinstance(val, str):
                if key == "delete":
                    on_delete = val.upper()
                else:
                    on_update = val.upper()
        if on_delete in {"NO ACTION"} and self.dialect is not Dialect.SQLITE:
            on_delete = None
        if on_update in {"NO ACTION"} and self.dialect is not Dialect.SQLITE:
            on_update = None
        if deferrable in {
            "NOT DEFERRABLE",
            "NOT DEFERRABLE INITIALLY IMMEDIATE",
            "INITIALLY IMMEDIATE",
        }:
            deferrable = None
        if given:
            self.given_names.add(given)
        name = given or naming.constraint_name(self.dialect, table, "foreign key", cols, taken)
        return ForeignKey(name, cols, ref_table, ref_cols, on_delete, on_update, deferrable)

    def _add_table_element(self, table: Table, element: exp.Expr, taken: naming.Names) -> Table:
        given: str | None = None
        if isinstance(element, exp.Constraint):
            given = self.name(element.this)
            inner = element.expressions
            if len(inner) != 1:
                raise Unsupported(f"constraint {given}: {element.sql(self.dialect.value)!r}")
            element = inner[0]
        if isinstance(element, exp.PrimaryKey):
            cols = tuple(self._index_column(e) for e in element.expressions)
            if table.primary_key is not None:
                raise StateError(f"table {table.name} has two primary keys")
            pk = PrimaryKey(
                given or naming.constraint_name(self.dialect, table, "primary key", cols, taken),
                cols,
            )
            table = replace(table, primary_key=pk)
            if pk.name:
                taken.add(pk.name)
            return table
        if isinstance(element, exp.UniqueColumnConstraint):
            schema = element.this
            if isinstance(schema, exp.Schema) and any(
                isinstance(e, exp.ColumnPrefix) for e in schema.expressions
            ):
                # A unique key over column prefixes has no constraint form: model the index.
                parts = tuple(self._index_part(e) for e in schema.expressions)
                idx_name = given or (self.name(schema.this) if schema.this is not None else None)
                idx_name = idx_name or naming.constraint_name(
                    self.dialect, table, "index", tuple(p.expression for p in parts), taken
                )
                assert idx_name is not None
                taken.add(idx_name)
                return replace(
                    table, indexes=(*table.indexes, Index(idx_name, table.name, parts, unique=True))
                )
            if isinstance(schema, exp.Schema):
                if schema.this is not None and given is None:
                    given = self.name(schema.this)
                cols = tuple(self._index_column(e) for e in schema.expressions)
            else:
                raise Unsupported("UNIQUE without columns")
            uq = Unique(
                given or naming.constraint_name(self.dialect, table, "unique", cols, taken),
                cols,
                nulls_not_distinct=bool(element.args.get("nulls")),
            )
            if uq.name:
                taken.add(uq.name)
            return replace(table, uniques=(*table.uniques, uq))
        if isinstance(element, exp.ForeignKey):
            cols = tuple(self.name(e) for e in element.expressions)
            ref = element.args.get("reference")
            if not isinstance(ref, exp.Reference):
                raise Unsupported("FOREIGN KEY without REFERENCES")
            fk = self._foreign_key(table, cols, ref, given, taken)
            fk = self._fk_actions(fk, element)
            if fk.name:
                taken.add(fk.name)
            return replace(table, foreign_keys=(*table.foreign_keys, fk))
        if isinstance(element, exp.CheckColumnConstraint):
            expr_node = _unparen(element.this)
            cols = _single_column(expr_node, self)
            ck = Check(
                given or naming.constraint_name(self.dialect, table, "check", cols, taken),
                self.raw(expr_node),
            )
            if ck.name:
                taken.add(ck.name)
            return replace(table, checks=(*table.checks, ck))
        if isinstance(element, exp.IndexColumnConstraint):
            idx = self._inline_index(table, element, taken)
            return replace(table, indexes=(*table.indexes, idx))
        raise Unsupported(f"table element {element.sql(self.dialect.value)!r} is not modelled")

    def _fk_actions(self, fk: ForeignKey, element: exp.ForeignKey) -> ForeignKey:
        for key in ("delete", "update"):
            val = element.args.get(key)
            if val:
                text = " ".join(str(val).split()).upper()
                if text == "NO ACTION" and self.dialect is not Dialect.SQLITE:
                    continue
                fk = replace(fk, on_delete=text) if key == "delete" else replace(fk, on_update=text)
        for opt in element.args.get("options") or []:
            text = " ".join(str(opt).split()).upper()
            if text.startswith("ON DELETE "):
                fk = replace(fk, on_delete=text[10:])
            elif text.startswith("ON UPDATE "):
                fk = replace(fk, on_update=text[10:])
        return fk

    def _inline_index(
        self, table: Table, element: exp.IndexColumnConstraint, taken: naming.Names
    ) -> Index:
        parts = tuple(self._index_part(e) for e in element.expressions)
        kind = element.args.get("kind")
        kind_text = str(kind).upper() if kind else None
        method = element.args.get("index_type")
        for opt in element.args.get("options") or []:
            method = opt.args.get("using") or method
        method_text = (
            str(method.name if isinstance(method, exp.Expr) else method).lower() if method else None
        )
        cols = tuple(p.expression for p in parts if p.is_column)
        name = (
            self.name(element.this)
            if element.this is not None
            else naming.constraint_name(self.dialect, table, "index", cols, taken)
        )
        if name is None:
            raise Unsupported("unnamed index")
        taken.add(name)
        return Index(
            name,
            table.name,
            parts,
            unique=kind_text == "UNIQUE",
            kind=kind_text if kind_text in {"FULLTEXT", "SPATIAL"} else None,
            method=method_text,
        )

    def _index_column(self, node: exp.Expr) -> str:
        if isinstance(node, exp.Ordered):
            node = node.this
        if isinstance(node, exp.ColumnPrefix):
            node = node.this
        return self.name(node)

    def _index_part(self, node: exp.Expr) -> IndexPart:
        desc = False
        nulls: str | None = None
        length: int | None = None
        opclass: str | None = None
        collation: str | None = None
        inner = node
        if isinstance(inner, exp.Ordered):
            desc = bool(inner.args.get("desc"))
            span = self.p.token_range(inner.this)
            if span is not None:
                words = [t.text.upper() for t in self.p.tokens[span[1] + 1 : span[1] + 4]]
                if "NULLS" in words[:3]:
                    k = words.index("NULLS")
                    if k + 1 < len(words):
                        nulls = words[k + 1]
            inner = inner.this
        if isinstance(inner, exp.Opclass):
            opclass = inner.expression.sql(self.dialect.value)
            inner = inner.this
        if isinstance(inner, exp.Collate):
            collation = self.name(inner.expression)
            inner = inner.this
        if isinstance(inner, exp.ColumnPrefix):
            length = int(inner.expression.this)
            inner = inner.this
        elif (
            self.dialect is Dialect.MYSQL
            and isinstance(inner, exp.Anonymous)
            and len(inner.expressions) == 1
            and isinstance(inner.expressions[0], exp.Literal)
            and not inner.expressions[0].is_string
        ):
            # `path(191)` in CREATE INDEX is a prefix length, not a call.
            length = int(inner.expressions[0].this)
            inner = exp.column(str(inner.this), quoted=False)
        if isinstance(inner, (exp.Column, exp.Identifier)) and not isinstance(inner, exp.Paren):
            return IndexPart(self.name(inner), True, desc, nulls, length, opclass, collation)
        return IndexPart(self.raw(_unparen(inner)), False, desc, nulls, length, opclass, collation)

    def _mysql_fk_indexes(self, table: Table) -> Table:
        """InnoDB creates an index for a foreign key when no index starts with its columns."""
        for fk in table.foreign_keys:
            if _has_index_prefix(table, fk.columns, self.state):
                continue
            name = fk.name if fk.name in self.given_names else None
            if name is None:
                name = naming.constraint_name(
                    self.dialect, table, "index", fk.columns, naming.Names()
                )
            assert name is not None
            table = replace(
                table,
                indexes=(
                    *table.indexes,
                    Index(name, table.name, tuple(IndexPart(c) for c in fk.columns)),
                ),
            )
        return table

    def create_index(self, tree: exp.Create) -> None:
        index = tree.this
        if not isinstance(index, exp.Index):
            raise Unsupported("CREATE INDEX without an index")
        tname = self.qname(index.args.get("table"))
        view = self.state.views.get(self.state.key(tname))
        if self.state.table(tname) is None and view is not None and view.materialized:
            self._matview_index(tname, index)
            return
        table = self.state.require_table(tname)
        params = index.args.get("params")
        if not isinstance(params, exp.IndexParameters):
            raise Unsupported("CREATE INDEX without columns")
        parts = tuple(self._index_part(c) for c in params.args.get("columns") or [])
        if index.this is not None:
            name = self.name(index.this)
        else:
            cols = tuple(p.expression if p.is_column else _expr_label(p.expression) for p in parts)
            name = naming.constraint_name(self.dialect, table, "index", cols, self._taken()) or ""
        schema = tname.schema
        existing = (
            self.state.find_index(name, schema)
            if self.dialect is not Dialect.MYSQL
            else next((i for i in table.indexes if self.state.same(i.name, name)), None)
        )
        if existing is not None:
            if tree.args.get("exists"):
                return
            raise StateError(f"index {name} already exists")
        using = params.args.get("using")
        where = params.args.get("where")
        include = params.args.get("include") or []
        kind = None
        kind_node = index.args.get("kind") or tree.args.get("kind_")
        text_head = self.p.text[:60].upper()
        for word in ("FULLTEXT", "SPATIAL"):
            if re.match(rf"\s*CREATE\s+{word}\b", text_head):
                kind = word
        del kind_node
        method = None
        if using is not None:
            method = (using.name if isinstance(using, exp.Expr) else str(using)).lower()
            if method == "btree" and self.dialect is Dialect.POSTGRES:
                method = None  # the default: the catalog can't tell them apart
        self.emit(
            ch.CreateIndex(
                Index(
                    name,
                    tname,
                    parts,
                    unique=bool(tree.args.get("unique")),
                    where=self.raw(where.this) if isinstance(where, exp.Where) else None,
                    method=method,
                    include=tuple(self.name(i) for i in include),
                    kind=kind,
                )
            )
        )

    def _matview_index(self, view: QName, index: exp.Index) -> None:
        """An index on a materialized view is kept verbatim and goes with its view."""
        if index.this is None:
            raise Unsupported("unnamed index on a materialized view")
        name = self.name(index.this)
        if ("index", name) in self.state.opaque:
            raise StateError(f"index {name} already exists")
        drop = f"DROP INDEX {_quote_q(QName(name, view.schema), self.dialect)}"
        self.emit(ch.CreateOpaque(Opaque("index", name, self.p.text, drop, view)))

    def create_view(self, tree: exp.Create) -> None:
        target = tree.this
        name = self.qname(target)
        columns: tuple[str, ...] = ()
        if isinstance(target, exp.Schema):
            columns = tuple(self.name(c) for c in target.expressions)
        materialized = _property(tree, exp.MaterializedProperty) is not None or bool(
            re.match(r"(?is)\s*create\s+(or\s+replace\s+)?materialized\b", self.p.text)
        )
        definition = self._view_body()
        view = View(name, definition, materialized, columns)
        existing = self.state.views.get(self.state.key(name))
        if existing is not None:
            if tree.args.get("replace"):
                self.emit(ch.ReplaceView(existing, view))
                return
            if tree.args.get("exists"):
                return
            raise StateError(f"view {name} already exists")
        if self.state.table(name) is not None:
            raise StateError(f"{name} already exists as a table")
        self.emit(ch.CreateView(view))

    def _view_body(self) -> str:
        depth = 0
        for i, tok in enumerate(self.p.tokens):
            if tok.token_type == TokenType.L_PAREN:
                depth += 1
            elif tok.token_type == TokenType.R_PAREN:
                depth -= 1
            elif depth == 0 and tok.token_type == TokenType.ALIAS:
                return self.p.rest_after(i)
        raise Unsupported("view without AS")

    def create_type(self, tree: exp.Create) -> None:
        name = self.qname(tree.this)
        body = tree.args.get("expression")
        if isinstance(body, exp.DataType) and body.this == exp.DataType.Type.ENUM:
            values = tuple(str(v.this) for v in body.expressions)
            if self.state.key(name) in self.state.enums:
                raise StateError(f"type {name} already exists")
            self.emit(ch.CreateEnum(EnumType(name, values)))
            return
        self.command()

    def create_sequence(self, tree: exp.Create) -> None:
        name = self.qname(tree.this)
        if self.state.key(name) in self.state.sequences:
            if tree.args.get("exists"):
                return
            raise StateError(f"sequence {name} already exists")
        m = re.match(
            r"(?is)\s*create\s+(?:temp(?:orary)?\s+|unlogged\s+)?sequence\s+(?:if\s+not\s+exists\s+)?(?:\"[^\"]+\"|[\w$.`\"]+)\s*(.*)$",
            self.p.text,
        )
        definition = " ".join(m.group(1).split()) if m else ""
        self.emit(ch.CreateSequence(Sequence(name, definition)))

    # -- DROP ----------------------------------------------------------------------

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
                if cascade:
                    raise Unsupported(
                        f"DROP SCHEMA {schema_name} CASCADE: drops every object in it"
                    )
                if not any(self.state.same(n, schema_name) for n in self.state.namespaces):
                    if exists:
                        continue
                    raise StateError(f"schema {schema_name} does not exist")
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

    def _drop_columns_of_type(self, type_name: str) -> None:
        """DROP TYPE ... CASCADE drops every column of that type (or an array of it)."""
        for table in list(self.state.tables.values()):
            for col in table.columns:
                base = col.type.removesuffix("[]").strip('"')
                if self.state.same(base, type_name):
                    self.drop_column(self.state.require_table(table.name), col)

    def drop_table(self, name: QName, exists: bool, cascade: bool) -> None:
        table = self.state.table(name)
        if table is None:
            if exists:
                return
            raise StateError(f"table {name} does not exist")
        for obj in list(self.state.opaque.values()):
            if obj.table is not None and self.state.key(obj.table) == self.state.key(name):
                self.emit(ch.DropOpaque(obj))
        if self.dialect is not Dialect.SQLITE:
            for other, fk in self.state.referencing(name):
                if self.state.key(other.name) != self.state.key(name):
                    self.emit(ch.DropConstraint(other.name, fk))
        if cascade and self.dialect is Dialect.POSTGRES:
            for view in list(self.state.views.values()):
                if _mentions(view.definition, name.name):
                    self.emit(ch.DropView(view))
        self.emit(ch.DropTable(self.state.require_table(name)))

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
        self.emit(ch.DropIndex(idx))

    # -- ALTER ---------------------------------------------------------------------

    def alter(self, tree: exp.Alter) -> None:
        kind = str(tree.args.get("kind") or "").upper()
        if kind != "TABLE":
            self.command()
            return
        name = self.qname(tree.this)
        if self.state.table(name) is None:
            if tree.args.get("exists"):
                return
            raise StateError(f"table {name} does not exist")
        actions = tree.args.get("actions") or []
        # sqlglot reads `RENAME c TO d` (COLUMN omitted) as a table rename with leftovers in
        # `options`; a parse with leftovers is not trusted, the text is read action by action.
        if (
            not actions
            or tree.args.get("options")
            or re.search(r"(?i)\badd\s+constraint\s+\S+\s+exclude\b", self.p.text)
        ):
            self.alter_table_text(name, self._alter_actions_text())
            return
        for action in actions:
            name = self.alter_action(name, action)

    def _alter_actions_text(self) -> str:
        m = re.match(
            r"(?is)\s*alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?((?:[`\"][^`\"]+[`\"]|[\w$]+)(?:\s*\.\s*(?:[`\"][^`\"]+[`\"]|[\w$]+))?)\s*(.*)$",
            self.p.text,
        )
        if not m:
            raise Unsupported("cannot read ALTER TABLE")
        return m.group(2)

    def alter_table_text(self, name: QName, actions: str) -> None:
        """Actions sqlglot could not parse together: one at a time, with our own fallbacks."""
        for action in _split_top_level(actions):
            if not action.strip():
                continue
            if _IGNORED_ACTIONS.match(action):
                continue
            if self._alter_fallback(name, action):
                continue
            sub = ParsedStatement(
                f"ALTER TABLE {_quote_q(name, self.dialect)} {action}", self.dialect
            )
            if not isinstance(sub.tree, exp.Alter) or not sub.tree.args.get("actions"):
                self.unmodelled.append(f"ALTER TABLE action not modelled: {action.strip()[:120]}")
                continue
            inner = Translator(self.state, sub)
            for act in sub.tree.args["actions"]:
                name = inner.alter_action(name, act)
            self.applied.extend(inner.applied)
            self.unmodelled.extend(inner.unmodelled)

    def _alter_fallback(self, name: QName, action: str) -> bool:
        """ALTER TABLE actions sqlglot does not parse, recognised by shape."""
        a = " ".join(action.split())
        m = (
            re.match(r"(?i)add\s+(check)\b(.*)$", a)
            if self.dialect is Dialect.MYSQL
            else re.match(r"(?i)add\s+(check|unique|primary\s+key|foreign\s+key)\b(.*)$", a)
        )
        if m:
            # sqlglot needs a name here; parse with a placeholder and name it as PostgreSQL would.
            sub = ParsedStatement(
                f"ALTER TABLE {_quote_q(name, self.dialect)} ADD CONSTRAINT rp__unnamed {m.group(1)}{m.group(2)}",
                self.dialect,
            )
            if isinstance(sub.tree, exp.Alter) and sub.tree.args.get("actions"):
                inner = Translator(self.state, sub)
                inner._unnamed = True
                inner.alter_action(name, sub.tree.args["actions"][0])
                self.applied.extend(inner.applied)
                return True
            return False
        m = re.match(
            r"(?i)alter\s+(?:column\s+)?(\S+)\s+add\s+generated\s+(always|by\s+default)\s+as\s+identity\b",
            a,
        )
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            auto = (
                AutoKind.IDENTITY_ALWAYS
                if m.group(2).lower() == "always"
                else AutoKind.IDENTITY_BY_DEFAULT
            )
            self.emit(ch.AlterColumn(name, col, replace(col, auto=auto, nullable=False)))
            return True
        m = re.match(r"(?i)alter\s+(?:column\s+)?(\S+)\s+drop\s+identity\b", a)
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            self.emit(ch.AlterColumn(name, col, replace(col, auto=None)))
            return True
        m = re.match(r"(?i)alter\s+(?:column\s+)?(\S+)\s+set\s+expression\s+as\s+\((.*)\)$", a)
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            self.emit(ch.AlterColumn(name, col, replace(col, generated=m.group(2).strip())))
            return True
        m = re.match(r"(?i)alter\s+(?:column\s+)?(\S+)\s+drop\s+expression\b", a)
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            self.emit(ch.AlterColumn(name, col, replace(col, generated=None)))
            return True
        m = re.match(r"(?i)rename\s+(?:column\s+)?(?!to\b|constraint\b)(\S+)\s+to\s+(\S+)$", a)
        # MySQL spells a column rename only with COLUMN; `RENAME x TO y` there is a table rename.
        if m and (self.dialect is not Dialect.MYSQL or a.lower().startswith("rename column")):
            old, new = self.name(_ident_text(m.group(1))), self.name(_ident_text(m.group(2)))
            self.state.column(name, old)
            self.emit(ch.RenameColumn(name, old, new))
            return True
        m = re.match(
            r"(?i)alter\s+(?:column\s+)?(\S+)\s+set\s+generated\s+(always|by\s+default)$", a
        )
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            if col.auto not in {AutoKind.IDENTITY_ALWAYS, AutoKind.IDENTITY_BY_DEFAULT}:
                raise StateError(f"column {name}.{col.name} is not an identity column")
            auto = (
                AutoKind.IDENTITY_ALWAYS
                if m.group(2).lower() == "always"
                else AutoKind.IDENTITY_BY_DEFAULT
            )
            self.emit(ch.AlterColumn(name, col, replace(col, auto=auto)))
            return True
        m = re.match(r"(?i)set\s+schema\s+(\S+)$", a)
        if m and self.dialect is Dialect.POSTGRES:
            schema: str | None = self.name(_ident_text(m.group(1)))
            if schema == "public":
                schema = None
            self.emit(ch.RenameTable(name, QName(name.name, schema)))
            return True
        m = re.match(r"(?is)add\s+constraint\s+(\S+)\s+(exclude\b.*)$", a)
        if m and self.dialect is Dialect.POSTGRES:
            # EXCLUDE constraints are kept verbatim: a down drops or restores them as written.
            con_name = self.name(_ident_text(m.group(1)))
            table_sql = _quote_q(name, self.dialect)
            self.put_opaque(
                Opaque(
                    "constraint",
                    f"{con_name} on {name}",
                    f"ALTER TABLE {table_sql} ADD CONSTRAINT {_quote_name(con_name, self.dialect)} {m.group(2)}",
                    f"ALTER TABLE {table_sql} DROP CONSTRAINT {_quote_name(con_name, self.dialect)}",
                    name,
                ),
                replaceable=False,
            )
            return True
        m = re.match(
            r"(?i)add\s+constraint\s+(\S+)\s+(unique|primary\s+key)\s+using\s+index\s+(\S+)"
            r"(?:\s+(?:deferrable|not\s+deferrable|initially\s+\w+))*$",
            a,
        )
        if m and self.dialect is Dialect.POSTGRES:
            # The index becomes the constraint's (and takes its name).
            idx = self.state.find_index(self.name(_ident_text(m.group(3))), name.schema)
            if idx is None or not all(p.is_column for p in idx.parts):
                raise StateError(f"index {m.group(3)} does not exist or is not on plain columns")
            cols = tuple(p.expression for p in idx.parts)
            con_name = self.name(_ident_text(m.group(1)))
            con: Constraint = (
                PrimaryKey(con_name, cols)
                if m.group(2).lower().startswith("primary")
                else Unique(con_name, cols)
            )
            self.emit(ch.DropIndex(idx))
            self._emit_constraint(name, con)
            return True
        m = re.match(r"(?i)rename\s+constraint\s+(\S+)\s+to\s+(\S+)$", a)
        if m:
            old, new = self.name(_ident_text(m.group(1))), self.name(_ident_text(m.group(2)))
            found = self.state.find_constraint(name, old)
            if found is None:
                raise StateError(f"constraint {old} does not exist on {name}")
            if self.dialect is Dialect.POSTGRES:
                # A rename keeps the index and whatever depends on it (foreign keys).
                self.emit(ch.RenameConstraint(name, old, new))
            else:
                self.emit(ch.DropConstraint(name, found))
                self.emit(ch.AddConstraint(name, replace(found, name=new)))
            return True
        m = re.match(r"(?i)(enable|disable|force|no\s+force)\s+row\s+level\s+security$", a)
        if m:
            verb = " ".join(m.group(1).upper().split())
            ident = f"{verb.lower()} on {name}"
            obj = Opaque(
                "row level security",
                ident,
                f"ALTER TABLE {_quote_q(name, self.dialect)} {verb} ROW LEVEL SECURITY",
                f"ALTER TABLE {_quote_q(name, self.dialect)} {_undo_rls(verb)} ROW LEVEL SECURITY",
                name,
            )
            if (obj.kind, obj.identity) not in self.state.opaque:
                self.emit(ch.CreateOpaque(obj))
            return True
        m = re.match(r"(?i)comment\s*=?\s*'((?:[^']|'')*)'$", a)
        if m and self.dialect is Dialect.MYSQL:
            table = self.state.require_table(name)
            self.emit(
                ch.SetTableComment(name, table.comment, m.group(1).replace("''", "'") or None)
            )
            return True
        m = re.match(r"(?i)add\s+(?:column\s+)?\((.*)\)$", a)
        if m and self.dialect is Dialect.MYSQL:
            for coldef in _split_top_level(m.group(1)):
                self.alter_table_text(name, f"ADD COLUMN {coldef}")
            return True
        return False

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
                self.add_constraint(name, con)
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
            if _IGNORED_ACTIONS.match(text):
                return name
            self.unmodelled.append(f"ALTER TABLE action not modelled: {text[:120]}")
        return name

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
        self.emit(ch.AddColumn(name, col, after, first))
        taken = self._taken()
        for cc in extra:
            before = self.state.require_table(name)
            updated = self._add_inline(before, col.name, cc, taken)
            for con in _new_constraints(before, updated):
                self._emit_constraint(name, con)

    def _emit_constraint(self, name: QName, con: Constraint) -> None:
        if isinstance(con, ForeignKey) and self.dialect is Dialect.MYSQL:
            table = self.state.require_table(name)
            if not _has_index_prefix(table, con.columns, self.state):
                idx_name = con.name if con.name in self.given_names else None
                idx_name = idx_name or naming.constraint_name(
                    self.dialect, table, "index", con.columns, naming.Names()
                )
                assert idx_name is not None
                self.emit(
                    ch.CreateIndex(Index(idx_name, name, tuple(IndexPart(c) for c in con.columns)))
                )
        if isinstance(con, PrimaryKey) and self.dialect is not Dialect.SQLITE:
            # Making a column part of the primary key makes it NOT NULL.
            for colname in con.columns:
                col = self.state.column(name, colname)
                if col.nullable:
                    self.emit(ch.AlterColumn(name, col, replace(col, nullable=False)))
        self.emit(ch.AddConstraint(name, con))

    def add_constraint(self, name: QName, node: exp.Expr) -> None:
        table = self.state.require_table(name)
        if isinstance(node, exp.IndexColumnConstraint):
            idx = self._inline_index(table, node, self._taken())
            self.emit(ch.CreateIndex(idx))
            return
        taken = self._taken()
        if self._unnamed and isinstance(node, exp.Constraint):
            node = node.expressions[0]
        updated = self._add_table_element(table, node, taken)
        for con in _new_constraints(table, updated):
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
                        if _mentions(view.definition, name.name) and _mentions(
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

    def drop_column(self, table: Table, col: Column) -> None:
        """Drop a column and, first, what the engine drops or shrinks along with it."""
        name = table.name
        same = self.state.same
        if self.dialect is Dialect.POSTGRES:
            for idx in table.indexes:
                if (
                    any(
                        (p.is_column and same(p.expression, col.name))
                        or (not p.is_column and _mentions(p.expression, col.name))
                        for p in idx.parts
                    )
                    or (idx.where and _mentions(idx.where, col.name))
                    or any(same(c, col.name) for c in idx.include)
                ):
                    self.emit(ch.DropIndex(idx))
            for con in table.constraints():
                uses = (
                    _mentions(con.expression, col.name)
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
                        self.emit(ch.CreateIndex(replace(idx, parts=rest)))
            for con in table.constraints():
                if isinstance(con, Check):
                    if same(con.name or "", col.name):
                        self.emit(ch.DropConstraint(name, con))
                    continue
                if any(same(c, col.name) for c in con.columns):
                    self.emit(ch.DropConstraint(name, con))
                    rest_cols = tuple(c for c in con.columns if not same(c, col.name))
                    if rest_cols and not isinstance(con, ForeignKey):
                        self.emit(ch.AddConstraint(name, replace(con, columns=rest_cols)))
        current = self.state.require_table(name)
        after_col = None
        first = False
        for i, c in enumerate(current.columns):
            if same(c.name, col.name):
                first = i == 0
                after_col = current.columns[i - 1].name if i > 0 else None
        self.emit(ch.DropColumn(name, col, after_col, first))

    def alter_column(self, name: QName, node: exp.AlterColumn) -> None:
        colname = self.name(node.this)
        col = self.state.column(name, colname)
        new = col
        dtype = node.args.get("dtype")
        if isinstance(dtype, exp.DataType):
            if dtype.this in _SERIAL:
                raise Unsupported("changing a column to serial is not valid SQL")
            new = replace(new, type=dtype.sql(self.dialect.value))
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
                Sequence(QName(seq, name.schema), f"AS {seq_type}", f"{name.name}.{col.name}")
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
            # MariaDB keeps a column-level CHECK inside the column definition, named after the
            # column: restating the column without it removes it.
            own = self.state.find_constraint(name, col.name)
            if isinstance(own, Check):
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

    # -- everything sqlglot hands us as text -----------------------------------------

    def command(self) -> None:
        text = self.p.text
        flat = " ".join(text.split())
        for pattern, handler in _COMMANDS:
            m = pattern.match(flat)
            if m:
                handler(self, m, text)
                return
        raise Unsupported(_what(flat))

    def _drop_opaque(self, kind: str, ident: str, exists: bool, table: QName | None = None) -> None:
        key = self._find_opaque(kind, ident, table)
        if key is None:
            if exists:
                return
            raise StateError(f"{kind} {ident} does not exist")
        self.emit(ch.DropOpaque(self.state.opaque[key]))

    def _find_opaque(
        self, kind: str, ident: str, table: QName | None = None
    ) -> tuple[str, str] | None:
        if (kind, ident) in self.state.opaque:
            return (kind, ident)
        # DROP FUNCTION f without arguments: the only overload of that name.
        base = ident.split("(")[0]
        found = [
            k
            for k, o in self.state.opaque.items()
            if o.kind == kind
            and o.identity.split("(")[0].split(" on ")[0] == base
            and (
                table is None or o.table is None or self.state.key(o.table) == self.state.key(table)
            )
        ]
        return found[0] if len(found) == 1 else None

    def put_opaque(self, obj: Opaque, replaceable: bool) -> None:
        key = (obj.kind, obj.identity)
        existing = self.state.opaque.get(key)
        if existing is None:
            self.emit(ch.CreateOpaque(obj))
        elif replaceable:
            if existing.definition != obj.definition:
                self.emit(ch.ReplaceOpaque(existing, obj))
        else:
            raise StateError(f"{obj.kind} {obj.identity} already exists")


# -- command handlers (regex on whitespace-folded text) ---------------------------------

_NAME = r"((?:[`\"][^`\"]+[`\"]|[\w$]+)(?:\.(?:[`\"][^`\"]+[`\"]|[\w$]+))?)"


def _qn(t: Translator, text: str) -> QName:
    parts = _split_dotted(text)
    if len(parts) == 2:
        schema = t.name(_ident_text(parts[0]))
        name = QName(t.name(_ident_text(parts[1])), schema)
        if t.dialect is not Dialect.POSTGRES or schema == "public":
            name = QName(name.name)
        return name
    return QName(t.name(_ident_text(parts[0])))


def _split_dotted(text: str) -> list[str]:
    out, cur, quote = [], "", ""
    for c in text:
        if quote:
            cur += c
            if c == quote:
                quote = ""
        elif c in '`"':
            quote = c
            cur += c
        elif c == ".":
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return out


def _ident_text(text: str) -> exp.Identifier:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '`"':
        return exp.Identifier(this=text[1:-1], quoted=True)
    return exp.Identifier(this=text, quoted=False)


def _function(t: Translator, m: re.Match[str], text: str) -> None:
    kind = m.group(2).lower()
    name = _qn(t, m.group(3))
    args = _function_args(text, t.dialect) if t.dialect is Dialect.POSTGRES else ""
    ident = f"{name}({args})" if t.dialect is Dialect.POSTGRES else str(name)
    drop = f"DROP {kind.upper()} {_quote_q(name, t.dialect)}" + (
        f"({args})" if t.dialect is Dialect.POSTGRES else ""
    )
    t.put_opaque(Opaque(kind, ident, text, drop), replaceable=bool(m.group(1)))


def _function_args(text: str, dialect: Dialect) -> str:
    """The argument types of a function signature, as PostgreSQL identifies overloads."""
    start = text.find("(")
    if start < 0:
        return ""
    depth, i = 0, start
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                break
    types = []
    for arg in _split_top_level(text[start + 1 : i]):
        words = re.split(r"(?i)\s+(?:default\b|=)", arg.strip(), maxsplit=1)[0].split()
        if not words:
            continue
        if words[0].lower() == "out":
            continue  # OUT arguments are not part of the identity
        if words[0].lower() in {"in", "inout", "variadic"}:
            words = words[1:]
        if len(words) > 1 and not _starts_type(words):
            words = words[1:]
        types.append(" ".join(words).lower())
    return ", ".join(types)


_MULTIWORD_TYPES = (
    "double precision",
    "character varying",
    "timestamp with",
    "timestamp without",
    "time with",
    "time without",
    "bit varying",
)


def _starts_type(words: list[str]) -> bool:
    head = " ".join(words[:2]).lower()
    return any(head.startswith(t) for t in _MULTIWORD_TYPES)


def _trigger(t: Translator, m: re.Match[str], text: str) -> None:
    name_text = m.group(2)
    on = re.search(r"(?is)\bon\s+" + _NAME, " ".join(text.split())[m.end(2) :])
    if not on:
        raise Unsupported("CREATE TRIGGER without ON table")
    table = _qn(t, on.group(1))
    name = t.name(_ident_text(name_text))
    if t.dialect is Dialect.POSTGRES:
        ident = f"{name} on {table}"
        drop = f"DROP TRIGGER {_quote_name(name, t.dialect)} ON {_quote_q(table, t.dialect)}"
    else:
        ident = name
        drop = f"DROP TRIGGER {_quote_name(name, t.dialect)}"
    t.put_opaque(Opaque("trigger", ident, text, drop, table), replaceable=bool(m.group(1)))


def _simple_opaque(kind: str, drop_word: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        name = _qn(t, m.group(2))
        exists = bool(m.group(1))
        obj = Opaque(kind, str(name), text, f"DROP {drop_word} {_quote_q(name, t.dialect)}")
        if (kind, obj.identity) in t.state.opaque and exists:
            return
        t.put_opaque(obj, replaceable=False)

    return handler


def _scoped_opaque(kind: str, drop_word: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        name = t.name(_ident_text(m.group(2)))
        table = _qn(t, m.group(3))
        obj = Opaque(
            kind,
            f"{name} on {table}",
            text,
            f"DROP {drop_word} {_quote_name(name, t.dialect)} ON {_quote_q(table, t.dialect)}",
            table,
        )
        t.put_opaque(obj, replaceable=bool(m.group(1)))

    return handler


def _drop_function(t: Translator, m: re.Match[str], text: str) -> None:
    exists = bool(m.group(2))
    kind = m.group(1).lower()
    for part in _split_top_level(m.group(3)):
        part = re.sub(r"(?i)\s+(cascade|restrict)\s*$", "", part.strip())
        nm = re.match(_NAME + r"\s*(\(.*\))?$", part)
        if not nm:
            raise Unsupported(f"cannot read DROP {kind.upper()} {part}")
        name = _qn(t, nm.group(1))
        if t.dialect is Dialect.POSTGRES and nm.group(2) is not None:
            ident = f"{name}({_function_args(nm.group(2), t.dialect)})"
        else:
            ident = str(name)
        if re.search(r"(?i)\bcascade\s*$", text):
            # The triggers that call it go with it.
            calls = re.compile(
                rf"(?i)\bexecute\s+(function|procedure)\s+{re.escape(name.name)}\s*\("
            )
            for obj in list(t.state.opaque.values()):
                if obj.kind == "trigger" and calls.search(obj.definition):
                    t.emit(ch.DropOpaque(obj))
        t._drop_opaque(kind, ident, exists)


def _drop_trigger(t: Translator, m: re.Match[str], text: str) -> None:
    exists = bool(m.group(1))
    name = t.name(_ident_text(m.group(2).split(".")[-1]))
    table = _qn(t, m.group(3)) if m.group(3) else None
    ident = f"{name} on {table}" if table is not None and t.dialect is Dialect.POSTGRES else name
    t._drop_opaque("trigger", ident, exists, table)


def _drop_scoped(kind: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        name = t.name(_ident_text(m.group(2)))
        table = _qn(t, m.group(3))
        t._drop_opaque(kind, f"{name} on {table}", bool(m.group(1)), table)

    return handler


def _drop_simple(kind: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        for part in _split_top_level(re.sub(r"(?i)\s+(cascade|restrict)\s*$", "", m.group(2))):
            t._drop_opaque(kind, str(_qn(t, part.strip())), bool(m.group(1)))

    return handler


def _alter_type(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(1))
    rest = m.group(2)
    enum = t.state.enums.get(t.state.key(name))
    if enum is None:
        if re.match(r"(?i)owner\s+to\b", rest):
            return
        raise Unsupported(f"ALTER TYPE {name}: not an enum this history created")
    add = re.match(
        r"(?i)add\s+value\s+(if\s+not\s+exists\s+)?'((?:[^']|'')*)'(?:\s+(before|after)\s+'((?:[^']|'')*)')?$",
        rest,
    )
    if add:
        value = add.group(2).replace("''", "'")
        if value in enum.values:
            if add.group(1):
                return
            raise StateError(f"enum {name} already has value {value!r}")
        values = list(enum.values)
        if add.group(3):
            anchor = add.group(4).replace("''", "'")
            if anchor not in values:
                raise StateError(f"enum {name} has no value {anchor!r}")
            pos = values.index(anchor) + (1 if add.group(3).lower() == "after" else 0)
            values.insert(pos, value)
        else:
            values.append(value)
        t.emit(ch.AlterEnum(enum, replace(enum, values=tuple(values))))
        return
    ren = re.match(r"(?i)rename\s+value\s+'((?:[^']|'')*)'\s+to\s+'((?:[^']|'')*)'$", rest)
    if ren:
        old, new = ren.group(1).replace("''", "'"), ren.group(2).replace("''", "'")
        if old not in enum.values:
            raise StateError(f"enum {name} has no value {old!r}")
        t.emit(
            ch.AlterEnum(
                enum, replace(enum, values=tuple(new if v == old else v for v in enum.values))
            )
        )
        return
    rename = re.match(r"(?i)rename\s+to\s+" + _NAME + "$", rest)
    if rename:
        t.emit(ch.RenameEnum(name, QName(t.name(_ident_text(rename.group(1))), name.schema)))
        return
    if re.match(r"(?i)owner\s+to\b", rest):
        return
    raise Unsupported(f"ALTER TYPE {name} {rest[:60]} is not modelled")


def _alter_sequence(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(2))
    seq = t.state.sequences.get(t.state.key(name))
    rest = m.group(3).strip()
    if seq is None:
        if m.group(1):
            return
        # Sequences owned by serial/identity columns live inside the column in our model.
        if re.match(r"(?i)(owned\s+by|owner\s+to)\b", rest):
            return
        raise Unsupported(f"ALTER SEQUENCE {name}: sequence not created by this history")
    if re.match(r"(?i)owned\s+by\b", rest):
        t.emit(ch.AlterSequence(seq, replace(seq, owned_by=rest[9:].strip())))
        return
    if re.match(r"(?i)(owner\s+to|rename\s+to|set\s+schema)\b", rest):
        if re.match(r"(?i)owner\s+to\b", rest):
            return
        raise Unsupported(f"ALTER SEQUENCE {name} {rest[:40]} is not modelled")
    t.emit(
        ch.AlterSequence(seq, replace(seq, definition=merge_sequence_options(seq.definition, rest)))
    )


_SEQ_OPTION = re.compile(
    r"(?i)\b(as\s+\w+|increment\s+(?:by\s+)?-?\d+|no\s*minvalue|minvalue\s+-?\d+|no\s*maxvalue|"
    r"maxvalue\s+-?\d+|start\s+(?:with\s+)?-?\d+|restart(?:\s+(?:with\s+)?-?\d+)?|no\s*cache|"
    r"cache\s+\d+|no\s*cycle|cycle)\b"
)


def merge_sequence_options(definition: str, change: str) -> str:
    """Sequence options after ALTER SEQUENCE: a restated option replaces the earlier one.

    RESTART moves the current value only; it is not part of the definition.
    """
    merged: dict[str, str] = {}
    for text in (definition, change):
        for m in _SEQ_OPTION.finditer(text):
            clause = " ".join(m.group(1).split())
            word = clause.lower().replace("no ", "no").split()[0]
            key = word[2:] if word.startswith("no") and word != "no" else word
            if key != "restart":
                merged[key] = clause
    return " ".join(merged.values())


def _alter_index(t: Translator, m: re.Match[str], text: str) -> None:
    name = t.name(_ident_text(_split_dotted(m.group(2))[-1]))
    rest = m.group(3)
    idx = t.state.find_index(name)
    ren = re.match(r"(?i)rename\s+to\s+" + _NAME + "$", rest)
    if idx is None:
        # PostgreSQL: the index behind a primary key or unique constraint carries its name,
        # and renaming the index renames the constraint.
        owner = next(
            (
                (table.name, con)
                for table in t.state.tables.values()
                for con in (table.primary_key, *table.uniques)
                if con is not None and con.name is not None and t.state.same(con.name, name)
            ),
            None,
        )
        if owner is not None and ren and t.dialect is Dialect.POSTGRES:
            t.emit(ch.RenameConstraint(owner[0], name, t.name(_ident_text(ren.group(1)))))
            return
        if m.group(1):
            return
        raise StateError(f"index {name} does not exist")
    if ren:
        t.emit(ch.RenameIndex(idx.table, idx.name, t.name(_ident_text(ren.group(1)))))
        return
    if re.match(r"(?i)(set|reset|owner|alter\s+column\s+\S+\s+set\s+statistics)\b", rest):
        return
    raise Unsupported(f"ALTER INDEX {rest[:60]} is not modelled")


def _rename_tables(t: Translator, m: re.Match[str], text: str) -> None:
    for pair in _split_top_level(m.group(1)):
        pm = re.match(r"\s*" + _NAME + r"\s+to\s+" + _NAME + r"\s*$", pair, re.I)
        if not pm:
            raise Unsupported(f"cannot read RENAME TABLE {pair}")
        t.emit(ch.RenameTable(_qn(t, pm.group(1)), _qn(t, pm.group(2))))


def _alter_view(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(2))
    rest = m.group(3)
    view = t.state.views.get(t.state.key(name))
    if view is None:
        if m.group(1):
            return
        raise StateError(f"view {name} does not exist")
    ren = re.match(r"(?i)rename\s+to\s+" + _NAME + "$", rest)
    if ren:
        new = replace(view, name=QName(t.name(_ident_text(ren.group(1))), name.schema))
        t.emit(ch.DropView(view))
        t.emit(ch.CreateView(new))
        return
    if re.match(r"(?i)(owner\s+to|set\s*\(|reset\s*\()", rest):
        return
    raise Unsupported(f"ALTER VIEW {rest[:60]} is not modelled")


def _alter_table_cmd(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(2))
    if t.state.table(name) is None:
        if m.group(1):
            return
        raise StateError(f"table {name} does not exist")
    t.alter_table_text(name, t._alter_actions_text())


def _grant(t: Translator, m: re.Match[str], text: str) -> None:
    flat = " ".join(text.split())
    g = re.match(r"(?i)grant\s+(.+?)\s+on\s+(.+?)\s+to\s+(.+?)(\s+with\s+grant\s+option)?$", flat)
    if not g:
        raise Unsupported("GRANT of roles is not modelled")
    drop = f"REVOKE {g.group(1)} ON {g.group(2)} FROM {g.group(3)}"
    t.put_opaque(Opaque("grant", flat, text, drop), replaceable=True)


def _revoke(t: Translator, m: re.Match[str], text: str) -> None:
    flat = " ".join(text.split())
    for _key, obj in list(t.state.opaque.items()):
        if obj.kind == "grant" and " ".join(obj.drop.split()).lower() == flat.lower():
            t.emit(ch.DropOpaque(obj))
            return
    raise Unsupported("REVOKE of a privilege not granted by these migrations")


_VIEW_CMD = re.compile(
    r"(?is)\s*(create(?:\s+or\s+replace)?|alter)\s+((?:(?:algorithm\s*=\s*\w+|definer\s*=\s*\S+|"
    r"sql\s+security\s+\w+)\s+)*)(materialized\s+)?view\s+(if\s+not\s+exists\s+)?"
    + _NAME
    + r"\s*(\([^)]*\))?\s+as\s+(.*?)(\s+with\s+(?:(?:cascaded|local)\s+)?check\s+option)?\s*$"
)


def _view(t: Translator, m: re.Match[str], text: str) -> None:
    vm = _VIEW_CMD.match(text)
    if not vm:
        raise Unsupported("cannot read this view definition")
    verb = " ".join(vm.group(1).lower().split())
    # DEFINER names an account of one server: not part of the schema.
    options = " ".join(
        o for o in re.findall(r"(?i)algorithm\s*=\s*\w+|sql\s+security\s+\w+", vm.group(2) or "")
    )
    options = " ".join(options.upper().replace(" = ", "=").split())
    if vm.group(8):
        options = f"{options} {' '.join(vm.group(8).upper().split())}".strip()
    name = _qn(t, vm.group(5))
    columns = (
        tuple(t.name(_ident_text(c)) for c in _split_top_level(vm.group(6)[1:-1]))
        if vm.group(6)
        else ()
    )
    view = View(name, vm.group(7).strip(), bool(vm.group(3)), columns, options or None)
    existing = t.state.views.get(t.state.key(name))
    if existing is None:
        if verb == "alter":
            raise StateError(f"view {name} does not exist")
        t.emit(ch.CreateView(view))
    elif verb == "create" and not vm.group(4):
        raise StateError(f"view {name} already exists")
    elif verb != "create":
        t.emit(ch.ReplaceView(existing, view))


def _comment(t: Translator, m: re.Match[str], text: str) -> None:
    kind, target, value_text = m.group(1).lower(), m.group(2), m.group(3)
    value = None if value_text.upper() == "NULL" else value_text[1:-1].replace("''", "'")
    if kind == "table":
        tname = _qn(t, target)
        table = t.state.require_table(tname)
        if table.comment != value:
            t.emit(ch.SetTableComment(tname, table.comment, value))
        return
    if kind == "column":
        parts = _split_dotted(target)
        if len(parts) < 2:
            raise Unsupported("COMMENT ON COLUMN needs table.column")
        tname = _qn(t, ".".join(parts[:-1]))
        col = t.state.column(tname, t.name(_ident_text(parts[-1])))
        if col.comment != value:
            t.emit(ch.AlterColumn(tname, col, replace(col, comment=value)))
        return
    # Comments on other objects are kept verbatim, keyed by what they are on.
    ident = f"{kind} {' '.join(target.split()).lower()}"
    existing = t.state.opaque.get(("comment", ident))
    if value is None:
        if existing is not None:
            t.emit(ch.DropOpaque(existing))
        return
    obj = Opaque("comment", ident, text, f"COMMENT ON {m.group(1).upper()} {target} IS NULL")
    t.put_opaque(obj, replaceable=True)


def _ignore(t: Translator, m: re.Match[str], text: str) -> None:
    return None


Handler = Callable[[Translator, re.Match[str], str], None]

_COMMANDS: list[tuple[re.Pattern[str], Handler]] = [
    (
        re.compile(
            r"(?is)(create(\s+or\s+replace)?|alter)\s+((algorithm|definer|sql\s+security)\b.*?\s+)?(materialized\s+)?view\b"
        ),
        _view,
    ),
    (
        re.compile(
            r"(?is)create\s+(or\s+replace\s+)?(?:definer\s*=\s*\S+\s+)?(function|procedure)\s+"
            + _NAME
        ),
        _function,
    ),
    (
        re.compile(
            r"(?is)create\s+(or\s+replace\s+)?(?:definer\s*=\s*\S+\s+)?(?:constraint\s+)?(?:temp(?:orary)?\s+)?trigger\s+(?:if\s+not\s+exists\s+)?"
            + _NAME
        ),
        _trigger,
    ),
    (
        re.compile(r"(?is)create\s+extension\s+(if\s+not\s+exists\s+)?" + _NAME),
        _simple_opaque("extension", "EXTENSION"),
    ),
    (re.compile(r"(?is)create\s+domain\s+()" + _NAME), _simple_opaque("domain", "DOMAIN")),
    (re.compile(r"(?is)create\s+type\s+()" + _NAME), _simple_opaque("type", "TYPE")),
    (
        re.compile(
            r"(?is)create\s+(?:definer\s*=\s*\S+\s+)?event\s+(if\s+not\s+exists\s+)?" + _NAME
        ),
        _simple_opaque("event", "EVENT"),
    ),
    (
        re.compile(r"(?is)create\s+()policy\s+" + _NAME + r"\s+on\s+" + _NAME),
        _scoped_opaque("policy", "POLICY"),
    ),
    (
        re.compile(
            r"(?is)create\s+(or\s+replace\s+)?rule\s+" + _NAME + r"\s+as\s+on\s+\w+\s+to\s+" + _NAME
        ),
        _scoped_opaque("rule", "RULE"),
    ),
    (re.compile(r"(?is)drop\s+(function|procedure)\s+(if\s+exists\s+)?(.+)$"), _drop_function),
    (
        re.compile(
            r"(?is)drop\s+trigger\s+(if\s+exists\s+)?"
            + _NAME
            + r"(?:\s+on\s+"
            + _NAME
            + r")?(?:\s+(?:cascade|restrict))?$"
        ),
        _drop_trigger,
    ),
    (re.compile(r"(?is)drop\s+extension\s+(if\s+exists\s+)?(.+)$"), _drop_simple("extension")),
    (re.compile(r"(?is)drop\s+domain\s+(if\s+exists\s+)?(.+)$"), _drop_simple("domain")),
    (re.compile(r"(?is)drop\s+event\s+(if\s+exists\s+)?(.+)$"), _drop_simple("event")),
    (
        re.compile(r"(?is)drop\s+policy\s+(if\s+exists\s+)?" + _NAME + r"\s+on\s+" + _NAME),
        _drop_scoped("policy"),
    ),
    (
        re.compile(r"(?is)drop\s+rule\s+(if\s+exists\s+)?" + _NAME + r"\s+on\s+" + _NAME),
        _drop_scoped("rule"),
    ),
    (re.compile(r"(?is)alter\s+type\s+" + _NAME + r"\s+(.+)$"), _alter_type),
    (
        re.compile(r"(?is)alter\s+sequence\s+(if\s+exists\s+)?" + _NAME + r"\s+(.+)$"),
        _alter_sequence,
    ),
    (re.compile(r"(?is)alter\s+index\s+(if\s+exists\s+)?" + _NAME + r"\s+(.+)$"), _alter_index),
    (
        re.compile(
            r"(?is)alter\s+(?:materialized\s+)?view\s+(if\s+exists\s+)?" + _NAME + r"\s+(.+)$"
        ),
        _alter_view,
    ),
    (
        re.compile(r"(?is)alter\s+table\s+(if\s+exists\s+)?(?:only\s+)?" + _NAME + r"\s+.+$"),
        _alter_table_cmd,
    ),
    (re.compile(r"(?is)rename\s+tables?\s+(.+)$"), _rename_tables),
    (re.compile(r"(?is)grant\s+.+$"), _grant),
    (re.compile(r"(?is)revoke\s+.+$"), _revoke),
    (
        re.compile(
            r"(?is)comment\s+on\s+(table|column|index|view|materialized\s+view|type|sequence|function|procedure|trigger|schema|extension|constraint|domain|policy)\s+(.+?)\s+is\s+('(?:[^']|'')*'|null)\s*$"
        ),
        _comment,
    ),
    (
        re.compile(
            r"(?is)alter\s+(function|procedure|schema|extension|domain|database|role|user|default\s+privileges|publication|subscription)\b.*\bowner\s+to\b"
        ),
        _ignore,
    ),
    (re.compile(r"(?is)(create|alter|drop)\s+(role|user)\b"), _ignore),
]


def _what(flat: str) -> str:
    words = flat.split()[:3]
    return f"{' '.join(words).upper()} ... is not modelled"


# -- helpers ----------------------------------------------------------------------

_TYPE_SQL: dict[tuple[str, str], str] = {}


def _type_key(dtype: exp.DataType) -> str | None:
    """A cheap memo key for the common types (a name and literal parameters), else None."""
    params = []
    for p in dtype.expressions:
        lit = p.this if isinstance(p, exp.DataTypeParam) else None
        if not isinstance(lit, exp.Literal) or dtype.args.get("values") or dtype.args.get("kind"):
            return None
        params.append(str(lit.this))
    if any(v for k, v in dtype.args.items() if k not in {"this", "expressions", "nested"}):
        return None
    return f"{dtype.this.value}({','.join(params)})"


def _type_sql(dtype: exp.DataType, written: str, dialect: Dialect) -> str:
    """A type in sqlglot's canonical spelling, memoised by how it was written (hot in replay)."""
    key = (dialect.value, written)
    found = _TYPE_SQL.get(key) if written else None
    if found is None:
        found = dtype.sql(dialect.value)
        if written and len(_TYPE_SQL) < 10_000:
            _TYPE_SQL[key] = found
    return found


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_null(node: exp.Expr) -> bool:
    return isinstance(node, exp.Null)


def _property(tree: exp.Create, kind: type[exp.Expr]) -> exp.Expr | None:
    props = tree.args.get("properties")
    if props is None:
        return None
    for p in props.expressions:
        if isinstance(p, kind):
            return p.this if p.this is not None else p
    return None


def _single_column(node: exp.Expr, t: Translator) -> tuple[str, ...]:
    names = {
        t.name(c.this) for c in node.find_all(exp.Column) if isinstance(c.this, exp.Identifier)
    }
    return tuple(names) if len(names) == 1 else ()


def _expr_label(expression: str) -> str:
    m = re.match(r"\s*([A-Za-z_]\w*)", expression)
    return m.group(1).lower() if m else "expr"


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?i)(?<![\w$]){re.escape(name)}(?![\w$])", text) is not None


def _has_index_prefix(table: Table, cols: tuple[str, ...], state: State) -> bool:
    keys = [tuple(c.lower() for c in cols)]
    candidates: list[tuple[str, ...]] = [
        tuple(p.expression.lower() for p in i.parts if p.is_column) for i in table.indexes
    ]
    candidates += [tuple(c.lower() for c in u.columns) for u in table.uniques]
    if table.primary_key:
        candidates.append(tuple(c.lower() for c in table.primary_key.columns))
    return any(c[: len(keys[0])] == keys[0] for c in candidates)


def _pk_not_null(table: Table, state: State) -> Table:
    if table.primary_key is None:
        return table
    pk = {c.lower() for c in table.primary_key.columns}
    return replace(
        table,
        columns=tuple(
            replace(c, nullable=False) if c.name.lower() in pk else c for c in table.columns
        ),
    )


def _new_constraints(before: Table, after: Table) -> list[Constraint]:
    old = set(before.constraints())
    return [c for c in after.constraints() if c not in old]


def _copy_table(source: Table, name: QName) -> Table:
    # CREATE TABLE ... LIKE copies columns and indexes, not foreign keys.
    return replace(
        source,
        name=name,
        foreign_keys=(),
        indexes=tuple(replace(i, table=name) for i in source.indexes),
        comment=None,
    )


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _quote_name(name: str, dialect: Dialect) -> str:
    from bot.core.render.names import ident

    return ident(name, dialect)


def _quote_q(name: QName, dialect: Dialect) -> str:
    from bot.core.render.names import qname

    return qname(name, dialect)


def _undo_rls(verb: str) -> str:
    return {"ENABLE": "DISABLE", "DISABLE": "ENABLE", "FORCE": "NO FORCE", "NO FORCE": "FORCE"}[
        verb
    ]
