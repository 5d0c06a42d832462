"""Translate one parsed DDL statement into changes, applying them as it goes.

Later actions of a statement see the effect of earlier ones (ALTER TABLE ... ADD COLUMN a,
ADD CONSTRAINT ... (a)), so every change is applied to the state the moment it is made.
Each statement family lives in its own module; the classes stack so later families can use
the pieces of earlier ones (ALTER TABLE ADD COLUMN reuses CREATE TABLE's column reader).
"""

from __future__ import annotations

import re

from sqlglot import exp

from bot.core import changes as ch
from bot.core.model import (
    Dialect,
)
from bot.core.state import StateError
from bot.core.translate.base import Unsupported
from bot.core.translate.drop import DropStatements

_VIRTUAL = re.compile(r"(?is)\s*create\s+virtual\s+table\b")


class Translator(DropStatements):
    """Turns one statement into changes against `state`."""

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

    def create(self, tree: exp.Create) -> None:
        kind = str(tree.args.get("kind") or "").upper()
        props = tree.args.get("properties")
        temporary = props is not None and any(
            isinstance(p, exp.TemporaryProperty) for p in props.expressions
        )
        if temporary:
            return  # session-scoped: never part of the schema
        if kind == "TABLE":
            if self.dialect is Dialect.SQLITE and _VIRTUAL.match(self.p.text):
                self.command()  # a module's table: kept verbatim
            else:
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
