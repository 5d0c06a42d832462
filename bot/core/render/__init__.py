"""Render changes to each dialect's DDL, deliberately (not via sqlglot transpiling).

Each dialect module exposes `render(changes, before) -> list[Rendered]`: it walks the changes
with a working `State` that starts at `before`, so every change is rendered knowing the schema
it applies to (SQLite's table rebuild and MySQL's full MODIFY need the whole table).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.changes import Change, change_kind, change_object
from bot.core.model import Dialect, Schema


@dataclass(frozen=True)
class Rendered:
    """One SQL statement (no trailing semicolon) and the change it implements."""

    sql: str
    change: str  # change kind, e.g. "drop_column"
    object: str  # e.g. "users.email"

    @classmethod
    def of(cls, sql: str, change: Change) -> Rendered:
        return cls(sql, change_kind(change), change_object(change))


def render(changes: list[Change], before: Schema) -> list[Rendered]:
    """The statements that take a database at `before` through `changes`."""
    if before.dialect is Dialect.POSTGRES:
        from bot.core.render import postgres

        return postgres.render(changes, before)
    if before.dialect is Dialect.MYSQL:
        from bot.core.render import mysql

        return mysql.render(changes, before)
    from bot.core.render import sqlite

    return sqlite.render(changes, before)


def to_script(statements: list[Rendered]) -> str:
    """A runnable script: statements terminated with `;`, one blank line between them."""
    return "".join(f"{s.sql};\n" for s in statements)
