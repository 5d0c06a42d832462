"""CREATE INDEX, VIEW, TYPE and SEQUENCE."""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from bot.core import changes as ch
from bot.core import naming
from bot.core.model import (
    Dialect,
    EnumType,
    Index,
    Opaque,
    QName,
    Sequence,
    View,
)
from bot.core.state import StateError
from bot.core.translate.base import Unsupported
from bot.core.translate.common import _expr_label, _property, _quote_q
from bot.core.translate.tables import TableStatements


class ObjectStatements(TableStatements):
    """Indexes, views, enum types and sequences."""

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
        self.emit_index(
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
