"""Shared plumbing of the statement translator: state, emitted changes, names as stored."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp

from bot.core import changes as ch
from bot.core import naming
from bot.core.model import (
    AutoKind,
    Column,
    Dialect,
    QName,
    Sequence,
)
from bot.core.naming import IDENTITIES, SERIAL_SEQUENCE_TYPE, nextval, owner_text
from bot.core.sqltext import ParsedStatement
from bot.core.state import State


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
# ALTER TABLE actions with no effect on the schema a down restores (ownership, how the server
# runs the statement, counters, maintenance switches).
_IGNORED_ACTIONS = re.compile(
    r"(?is)\s*(owner\s+to|auto_increment\s*=|force\b|algorithm\s*=|"
    r"lock\s*=|enable\s+keys|disable\s+keys)"
)
# ALTER TABLE actions that change how a table stores or behaves, which the model does not hold:
# reported, never dropped without a word (the down would leave them in place).
_UNMODELLED_OPTIONS = re.compile(
    r"(?is)\s*(set\s+\(|reset\s+\(|set\s+(logged|unlogged|tablespace|without)|"
    r"cluster\s+on|alter\s+(column\s+)?\S+\s+(set|reset)\s+(statistics|storage|compression|\()|"
    r"enable\s+(always\s+|replica\s+)?(trigger|rule)|disable\s+(trigger|rule)|"
    r"(no\s+)?force\s+row\s+level|replica\s+identity|engine\s*=?|row_format\s*=|"
    r"(default\s+)?(charset|character\s+set)\s*=?|convert\s+to\b)"
)


class TranslatorBase:
    """What every statement family needs: the state, the statement, emitting changes, names."""

    def __init__(self, state: State, parsed: ParsedStatement) -> None:
        self.state = state
        self.p = parsed
        self.dialect = state.dialect
        self.applied: list[ch.Change] = []
        self.unmodelled: list[str] = []
        # Constraint names the author wrote (as opposed to ones we derived as the engine would).
        self.given_names: set[str] = set()
        self.given_keys: set[str] = set()  # primary and unique keys named as written
        # MySQL, in declaration order: the foreign keys' columns and the keys named for the
        # author; InnoDB names the index it makes for a key where the key is declared.
        self.key_order: list[tuple[str, ...] | str] = []
        # MySQL ALTER TABLE adding a key: InnoDB drops the foreign-key indexes it supersedes
        # before naming it, so it may take one's name (set while such a key is read)
        self.superseding = False

    # -- plumbing ------------------------------------------------------------------

    def emit(self, change: ch.Change) -> None:
        self.state.apply(change)
        self.applied.append(change)

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

    def _own_sequences(
        self, table: QName, columns: tuple[Column, ...]
    ) -> tuple[tuple[Column, ...], list[Sequence]]:
        """`columns` as PostgreSQL makes them when a serial or identity column's sequence name
        `<table>_<column>_seq` is held by another relation (a renamed table's sequence keeps
        its name): the server picks `..._seq1`, `..._seq2`... A serial is then spelled out (a
        default reading that sequence, returned to be created before the table and owned by
        the column after); an identity column names its sequence."""
        if self.dialect is not Dialect.POSTGRES:
            return columns, []
        made: list[Sequence] = []
        out = list(columns)
        for i, col in enumerate(columns):
            kind = SERIAL_SEQUENCE_TYPE.get(col.auto) if col.auto else None
            if kind is None and (col.auto not in IDENTITIES or col.sequence is not None):
                continue
            implied = naming.serial_sequence(table.name, col.name)
            if not self.state.relation_taken(QName(implied, table.schema)):
                continue
            taken = _RelationNames(self.state, table.schema, {s.name.name for s in made})
            name = naming.sequence_name(table.name, col.name, taken)
            if kind is None:
                out[i] = replace(col, sequence=name)
                continue
            seq = Sequence(QName(name, table.schema), f"AS {kind}")
            out[i] = replace(col, auto=None, default=nextval(seq.name), nullable=False)
            made.append(seq)
        return tuple(out), made

    def _own_after(
        self, table: QName, sequences: list[Sequence], columns: tuple[Column, ...]
    ) -> None:
        """Each sequence `_own_sequences` made, OWNED BY the column that reads it."""
        for seq in sequences:
            col = next(c for c in columns if c.default == nextval(seq.name))
            self.emit(ch.AlterSequence(seq, replace(seq, owned_by=owner_text(table, col.name))))


class _RelationNames:
    """Relation names in use in one schema, as a container of names (for naming's loops)."""

    def __init__(self, state: State, schema: str | None, added: set[str]) -> None:
        self.state, self.schema, self.added = state, schema, added

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            name in self.added or self.state.relation_taken(QName(name, self.schema))
        )
