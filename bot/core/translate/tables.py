"""CREATE TABLE: columns, inline and table constraints, the engines' implicit indexes."""

from __future__ import annotations

import re
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
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Table,
    Unique,
)
from bot.core.state import StateError
from bot.core.translate.base import _CONSTRAINT_WORDS, _SERIAL, Unsupported
from bot.core.translate.commands import OpaqueStatements, _ident_text
from bot.core.translate.common import (
    _copy_table,
    _has_index_prefix,
    _is_null,
    _pk_not_null,
    _property,
    _single_column,
    _type_key,
    _type_sql,
    _unparen,
    long_unique,
    query_columns,
    superseded_fk_indexes,
)

_BOOLEAN_DEFAULT = re.compile(r"(?i)\bdefault\s+(true|false)\b")


class TableStatements(OpaqueStatements):
    """CREATE TABLE and the column and constraint pieces ALTER TABLE reuses."""

    def create_table(self, tree: exp.Create) -> None:
        target = tree.this
        name = self.qname(target)
        if self.state.table(name) is not None:
            if tree.args.get("exists"):
                return
            raise StateError(f"table {name} already exists")
        if tree.args.get("expression") is not None:
            queried = (
                query_columns(_unparen(tree.args["expression"]), self.state)
                if self.dialect is Dialect.POSTGRES and not isinstance(target, exp.Schema)
                else None
            )
            if queried is None:
                raise Unsupported("CREATE TABLE ... AS SELECT: its columns come from a query")
            self.emit(ch.CreateTable(Table(name, tuple(queried))))
            return
        if not isinstance(target, exp.Schema):
            parent_node = _property(tree, exp.PartitionedOfProperty)
            if parent_node is not None:
                self._create_partition(name, self.qname(parent_node))
                return
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
        table = replace(table, columns=tuple(_named_sequences(name, columns)))
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
        else:
            table = self._storage_options(tree, table)
        # Build the table with its constraints in one CreateTable, naming them as the engine would.
        taken = self._taken()
        for colname, cc in inline:
            table = self._add_inline(table, colname, cc, taken)
        for element in pending:
            table = self._add_table_element(table, element, taken)
        if self.dialect is Dialect.POSTGRES and not _DEFERRED_OR_COVERING.search(self.p.text):
            table = _merged_keys(table, self.given_keys)
        if self.dialect is Dialect.POSTGRES or self.dialect is Dialect.MYSQL:
            table = _pk_not_null(table, self.state)
        if self.dialect is Dialect.MYSQL:
            table = self._mysql_fk_indexes(table)
        key = re.search(r"(?is)\)\s*partition\s+by\s+(.+?)\s*(?:\bwith\s*\(.*\)\s*)?$", self.p.text)
        if key and self.dialect is Dialect.POSTGRES:
            table = replace(table, partition_by=" ".join(key.group(1).split()))
        elif key:
            # The table is modelled, its partitioning is not: say so rather than lose it.
            self.unmodelled.append(
                "PARTITION BY is not modelled: the partition key is not in the plan"
            )
        columns_owned, sequences = self._own_sequences(name, table.columns)
        for seq in sequences:
            self.emit(ch.CreateSequence(seq))
        table = replace(table, columns=columns_owned)
        self.emit(ch.CreateTable(table))
        self._own_after(name, sequences, table.columns)

    def _create_partition(self, name: QName, parent_name: QName) -> None:
        """CREATE TABLE ... PARTITION OF parent FOR VALUES ... | DEFAULT (PostgreSQL)."""
        m = re.match(
            r"(?is)\s*create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?\S+\s+partition\s+of\s+"
            r"((?:\"[^\"]+\"|[\w$]+)(?:\s*\.\s*(?:\"[^\"]+\"|[\w$]+))?)\s+"
            r"(for\s+values\s+.+?|default)(\s+partition\s+by\s+.+?)?\s*$",
            self.p.text,
        )
        if self.dialect is not Dialect.POSTGRES or m is None:
            raise Unsupported("CREATE TABLE ... PARTITION OF with its own columns or options")
        parent = self.state.require_table(parent_name)
        if parent.partition_by is None:
            raise StateError(f"table {parent.name} is not partitioned")
        sub = m.group(3)
        table = Table(
            name,
            partition_of=parent.name,
            partition_bound=" ".join(m.group(2).split()),
            partition_by=" ".join(sub.split()[2:]) if sub else None,
        )
        self.emit(ch.CreateTable(table))

    def _storage_options(self, tree: exp.Create, table: Table) -> Table:
        """Storage options kept verbatim so a re-created table stores rows the same way;
        UNLOGGED, which the renderer cannot place, is reported."""
        props = tree.args.get("properties")
        kept: list[str] = []
        for prop in props.expressions if props is not None else []:
            if isinstance(prop, exp.UnloggedProperty):
                table = replace(table, unlogged=True)
            elif isinstance(prop, (exp.EngineProperty, exp.RowFormatProperty)):
                text = prop.sql(self.dialect.value)
                if text.replace(" ", "").upper() != "ENGINE=INNODB":
                    kept.append(text)
            elif isinstance(prop, (exp.CharacterSetProperty, exp.CollateProperty)) and (
                self.dialect is Dialect.MYSQL
            ):
                # the table's default collation is every column's that names none
                kept.append(prop.sql(self.dialect.value))
            elif type(prop) is exp.Property and self.dialect is Dialect.POSTGRES:
                kept.append(prop.sql(self.dialect.value))
        if self.dialect is Dialect.POSTGRES:
            return replace(table, options=f"WITH ({', '.join(kept)})") if kept else table
        return replace(table, options=" ".join(kept)) if kept else table

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
                if isinstance(value, exp.Collate) and self.dialect is Dialect.SQLITE:
                    # `DEFAULT 'x' COLLATE NOCASE`: the COLLATE is the column's, not the value's
                    col.update(collation=self.name(value.expression))
                    value = value.this
                col.update(
                    default=None
                    if _is_null(value) and self.dialect is not Dialect.SQLITE
                    else self._default_text(cd, value),
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
                col.update(sequence=self._identity_sequence(cd))
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
            elif isinstance(kind, exp.BinaryColumnConstraint) and self.dialect is Dialect.MYSQL:
                # the charset's binary collation, whichever charset the column ends up with
                col.update(type=f"{col['type']} BINARY")
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

    def _default_text(self, cd: exp.ColumnDef, value: exp.Expr) -> str:
        """A default as written. SQLite's catalog keeps its text, so `false` must not come
        back as FALSE; sqlglot gives TRUE/FALSE no position, so it is found after the name."""
        span = self.p.token_range(cd.this)
        if self.dialect is Dialect.SQLITE and isinstance(value, exp.Boolean) and span:
            found = _BOOLEAN_DEFAULT.search(self.p.text, self.p.tokens[span[0]].start)
            if found and found.group(1).lower() == str(value.this).lower():
                return found.group(1)
        return self.raw(value)

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
            if given:
                self.given_keys.add(given)
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
            if not given and con.name:
                self.key_order.append(con.name)
            elif given:
                self.given_keys.add(given)
            table = replace(table, uniques=(*table.uniques, con))
        elif isinstance(kind, exp.Reference):
            con = self._foreign_key(table, cols, kind, given, taken)
            table = replace(table, foreign_keys=(*table.foreign_keys, con))
        elif isinstance(kind, exp.CheckColumnConstraint):
            expr = self._check_text(kind.this)
            con = Check(
                given
                or naming.constraint_name(
                    self.dialect, table, "check", cols, taken, column_level=True
                ),
                expr,
                colname if self.dialect is Dialect.MYSQL and not given else None,
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
        elif self.dialect is Dialect.SQLITE:
            # SQLite keeps the key as written and resolves the primary key on use
            ref_cols = ()
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
        # PostgreSQL's catalog can't tell NO ACTION from no action; SQLite and MariaDB keep it
        if on_delete in {"NO ACTION"} and self.dialect is Dialect.POSTGRES:
            on_delete = None
        if on_update in {"NO ACTION"} and self.dialect is Dialect.POSTGRES:
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
        self.key_order.append(tuple(c.lower() for c in cols))
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
            if given:
                self.given_keys.add(given)
            return table
        if isinstance(element, exp.UniqueColumnConstraint):
            schema = element.this
            if isinstance(schema, exp.Schema) and any(
                isinstance(e, exp.ColumnPrefix)
                or (
                    self.dialect is Dialect.MYSQL
                    and isinstance(e, exp.Ordered)
                    and bool(e.args.get("desc"))
                )
                for e in schema.expressions
            ):
                # A unique key over column prefixes or descending parts (MariaDB keeps the
                # order) has no constraint form: model the index.
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
                collations = tuple(self._unique_collation(e) for e in schema.expressions)
            else:
                raise Unsupported("UNIQUE without columns")
            uq = Unique(
                given
                or naming.constraint_name(
                    self.dialect,
                    table,
                    "unique",
                    cols,
                    taken,
                    serves=cols if self.superseding else None,
                ),
                cols,
                nulls_not_distinct=bool(element.args.get("nulls")),
                collations=collations if any(collations) else (),
            )
            if uq.name:
                taken.add(uq.name)
                if not given:
                    self.key_order.append(uq.name)
                else:
                    self.given_keys.add(given)
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
                self._check_text(element.this),
            )
            if ck.name:
                taken.add(ck.name)
            return replace(table, checks=(*table.checks, ck))
        if isinstance(element, exp.IndexColumnConstraint):
            idx = self._inline_index(table, element, taken)
            return replace(table, indexes=(*table.indexes, idx))
        raise Unsupported(f"table element {element.sql(self.dialect.value)!r} is not modelled")

    def _check_text(self, node: exp.Expr) -> str:
        """A CHECK's expression; SQLite keeps the table's text, so its extra parentheses stay."""
        return self.raw(node if self.dialect is Dialect.SQLITE else _unparen(node))

    def _fk_actions(self, fk: ForeignKey, element: exp.ForeignKey) -> ForeignKey:
        for key in ("delete", "update"):
            val = element.args.get(key)
            if val:
                text = " ".join(str(val).split()).upper()
                if text == "NO ACTION" and self.dialect is Dialect.POSTGRES:
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
        serves: list[str] = []  # the leading plain columns: what a foreign key can use
        for part in parts:
            if not part.is_column or part.length:
                break
            serves.append(part.expression)
        name = (
            self.name(element.this)
            if element.this is not None
            else naming.constraint_name(
                self.dialect,
                table,
                "index",
                cols,
                taken,
                serves=tuple(serves) if self.superseding and kind_text is None else None,
            )
        )
        if name is None:
            raise Unsupported("unnamed index")
        taken.add(name)
        if element.this is None:
            self.key_order.append(name)
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
        if isinstance(node, exp.ColumnDef) and self._unique_collation(node) is not None:
            node = node.this  # SQLite's `col COLLATE x` inside UNIQUE (...) reads as a ColumnDef
        return self.name(node)

    def _unique_collation(self, node: exp.Expr) -> str | None:
        """The collation written after a column of a UNIQUE list (SQLite), or None."""
        if not isinstance(node, exp.ColumnDef) or node.args.get("kind") is not None:
            return None
        kinds = [c.args.get("kind") for c in node.args.get("constraints") or []]
        if len(kinds) != 1 or not isinstance(kinds[0], exp.CollateColumnConstraint):
            return None
        return self.name(kinds[0].this)

    def _index_part(self, node: exp.Expr) -> IndexPart:
        desc = False
        nulls: str | None = None
        length: int | None = None
        opclass: str | None = None
        collation: str | None = None
        inner = node
        asc = False
        if isinstance(inner, exp.Ordered):
            desc = bool(inner.args.get("desc"))
            # sqlglot gives False for a written ASC, None for none
            asc = self.dialect is Dialect.SQLITE and inner.args.get("desc") is False
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
            func = inner.this  # a quoted name comes as an Identifier, a bare one as text
            inner = (
                exp.column(func.copy())
                if isinstance(func, exp.Identifier)
                else exp.column(str(func), quoted=False)
            )
        if isinstance(inner, (exp.Column, exp.Identifier)) and not isinstance(inner, exp.Paren):
            return IndexPart(self.name(inner), True, desc, nulls, length, opclass, collation, asc)
        bare = _unparen(inner)
        # SQLite keeps the index's text as written: `((b + 1))` and `(b + 1)` are different
        # catalogs there, so the author's parentheses stay (a parenthesised column aside)
        keep = self.dialect is Dialect.SQLITE and not isinstance(bare, (exp.Column, exp.Identifier))
        return IndexPart(
            self.raw(inner if keep else bare), False, desc, nulls, length, opclass, collation, asc
        )

    def _identity_sequence(self, cd: exp.Expr) -> str | None:
        """The `(SEQUENCE NAME x)` written after the column's AS IDENTITY (blanked for the
        parser, which can't read it): the first AS IDENTITY from where the column starts."""
        found = self.p.token_range(cd)
        if found is None or self.dialect is not Dialect.POSTGRES:
            return None
        text = self.p.text[self.p.tokens[found[0]].start :]
        m = re.search(r"(?i)\bas\s+identity\b(\s*\(\s*sequence\s+name\s+([^\s()]+)\s*\))?", text)
        return self.name(_ident_text(m.group(2))) if m and m.group(2) else None

    def _mysql_fk_indexes(self, table: Table) -> Table:
        """InnoDB creates an index for a foreign key when no index starts with its columns.
        Two keys of one CREATE TABLE on the same columns share one index, named after the
        later key (MariaDB keeps the later of two equal generated indexes)."""
        made: dict[tuple[str, ...], Index] = {}
        for fk in table.foreign_keys:
            cols = tuple(c.lower() for c in fk.columns)  # MySQL column names ignore case
            if cols in made:
                table = replace(table, indexes=tuple(i for i in table.indexes if i != made[cols]))
            elif _has_index_prefix(table, fk.columns, self.state):
                continue
            gone = superseded_fk_indexes(table, fk.columns)
            table = replace(table, indexes=tuple(i for i in table.indexes if i not in gone))
            name = fk.name if fk.name in self.given_names else None
            if name is None:
                name = naming.constraint_name(
                    self.dialect, table, "index", fk.columns, naming.Names()
                )
            assert name is not None
            made[cols] = Index(
                name, table.name, tuple(IndexPart(c) for c in fk.columns), implicit=True
            )
            table = replace(table, indexes=(*table.indexes, made[cols]))
            if fk.name not in self.given_names:
                table = self._name_in_order(table, fk.columns, name)
                made[cols] = next(  # as it may have been renamed
                    i
                    for i in reversed(table.indexes)
                    if i.implicit and tuple(p.expression.lower() for p in i.parts) == cols
                )
        return table

    def _name_in_order(self, table: Table, cols: tuple[str, ...], made: str) -> Table:
        """InnoDB names the index it makes for a foreign key where the key is declared: a key
        named after the same column and declared later takes the next name (`c`, `c_2`; seen
        on MariaDB 10.11 with a hashed unique key that can't serve the foreign key)."""
        family = re.compile(rf"(?i){re.escape(cols[0])}(_\d+)?")
        fk = tuple(c.lower() for c in cols)
        declared = [
            e for e in self.key_order if e == fk or (isinstance(e, str) and family.fullmatch(e))
        ]
        if fk not in declared:
            return table
        at = declared.index(fk)
        order = [e for e in [*declared[:at], made, *declared[at + 1 :]] if isinstance(e, str)]
        names = sorted(order, key=lambda n: _suffix(family, n))
        renamed = dict(zip(order, names, strict=True))
        if all(old == new for old, new in renamed.items()):
            return table
        uniques = tuple(
            replace(u, name=renamed.get(u.name, u.name)) if u.name else u for u in table.uniques
        )
        indexes = tuple(
            replace(i, name=renamed[made])
            if i.implicit and i.name == made
            else replace(i, name=renamed.get(i.name, i.name))
            for i in table.indexes
        )
        return replace(table, uniques=uniques, indexes=indexes)

    def emit_index(self, index: Index) -> None:
        """CREATE INDEX; on MySQL an index that can serve a foreign key replaces the one
        InnoDB made for it, which InnoDB then drops."""
        self.take_implicit_name(index.table, index.name)
        self.emit(ch.CreateIndex(index))
        if self.dialect is not Dialect.MYSQL or index.kind is not None:
            return
        if long_unique(self.state.require_table(index.table), index):
            return  # kept as a hash: it serves no foreign key
        serves: list[str] = []  # the leading plain columns: what a key can use
        for part in index.parts:
            if not part.is_column or part.length:
                break
            serves.append(part.expression.lower())
        self.supersede_implicit(index.table, serves, index.name)

    def take_implicit_name(self, table: QName, name: str | None) -> None:
        """MySQL: a new key named as an index InnoDB made for a foreign key, which the key
        supersedes (naming.constraint_name freed the name): InnoDB drops that one first."""
        if self.dialect is not Dialect.MYSQL or not name:
            return
        for old in self.state.require_table(table).indexes:
            if old.implicit and self.state.same(old.name, name):
                self.emit(ch.DropIndex(old))

    def supersede_implicit(self, table: QName, serves: list[str], name: str | None) -> None:
        """MySQL: drop the indexes InnoDB made for foreign keys that a new index or key on
        these leading columns can serve instead (InnoDB drops them itself)."""
        for old in self.state.require_table(table).indexes:
            cols = [p.expression.lower() for p in old.parts]
            if old.implicit and old.name != name and serves[: len(cols)] == cols:
                self.emit(ch.DropIndex(old))


def _suffix(family: re.Pattern[str], name: str) -> int:
    """1 for `c`, n for `c_n`: the order MariaDB hands out a column's key names in."""
    m = family.fullmatch(name)
    return int(m.group(1)[1:]) if m and m.group(1) else 1


def _named_sequences(table: QName, columns: list[Column]) -> list[Column]:
    """Identity columns whose written sequence name is the one PostgreSQL would choose keep
    none: the name then follows the table and column."""
    return [
        replace(c, sequence=None)
        if c.sequence and c.sequence == naming.serial_sequence(table.name, c.name)
        else c
        for c in columns
    ]


# keys PostgreSQL tells apart by more than their columns, which the model does not hold
_DEFERRED_OR_COVERING = re.compile(r"(?i)\b(?:deferrable|initially|include)\b")


def _merged_keys(table: Table, given: set[str]) -> Table:
    """The table as PostgreSQL's CREATE TABLE makes it: one key per column list.

    The primary key comes first; a later key over the same columns (and NULLS NOT DISTINCT
    alike) is merged into the one before, which takes its written name if it had none.
    """
    keys: list[PrimaryKey | Unique] = [table.primary_key] if table.primary_key else []
    keys += table.uniques
    kept: list[PrimaryKey | Unique] = []
    for key in keys:
        same = next((k for k, prior in enumerate(kept) if _same_key(prior, key)), None)
        if same is None:
            kept.append(key)
        elif key.name in given and kept[same].name not in given:
            kept[same] = replace(kept[same], name=key.name)
    if len(kept) == len(keys):
        return table
    pk = kept[0] if isinstance(kept[0], PrimaryKey) else None
    return replace(table, primary_key=pk, uniques=tuple(k for k in kept if isinstance(k, Unique)))


def _same_key(a: PrimaryKey | Unique, b: PrimaryKey | Unique) -> bool:
    return a.columns == b.columns and (isinstance(a, Unique) and a.nulls_not_distinct) == (
        isinstance(b, Unique) and b.nulls_not_distinct
    )
