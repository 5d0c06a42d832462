"""Names and string literals with the characters that end them: doubled, never cut short."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.model import Dialect
from bot.core.render.names import ident, literal
from bot.engines import ScratchDatabase, ScratchServer


@pytest.mark.parametrize(
    ("dialect", "name", "quoted"),
    [
        (Dialect.POSTGRES, 'say "hi"', '"say ""hi"""'),
        (Dialect.SQLITE, 'say "hi"', '"say ""hi"""'),
        (Dialect.MYSQL, "say `hi`", "`say ``hi```"),
        (Dialect.MYSQL, 'say "hi"', '`say "hi"`'),
    ],
)
def test_a_quote_inside_a_name_is_doubled(dialect: Dialect, name: str, quoted: str) -> None:
    assert ident(name, dialect) == quoted


@pytest.mark.parametrize(
    ("dialect", "text"),
    [
        (Dialect.MYSQL, r"'C:\\tmp'"),  # MySQL reads a backslash as an escape
        (Dialect.POSTGRES, r"'C:\tmp'"),  # standard_conforming_strings: as written
        (Dialect.SQLITE, r"'C:\tmp'"),
    ],
)
def test_a_backslash_is_escaped_only_where_it_escapes(dialect: Dialect, text: str) -> None:
    assert literal(r"C:\tmp", dialect) == text


def test_odd_names_and_literals_load_on_sqlite_as_written(sqlite_server: ScratchServer) -> None:
    db = sqlite_server.new_database()
    name = 'say "hi"'
    value = "it's C:\\tmp"
    db.execute(
        [
            f"CREATE TABLE {ident(name, Dialect.SQLITE)} (v TEXT)",
            f"INSERT INTO {ident(name, Dialect.SQLITE)} VALUES ({literal(value, Dialect.SQLITE)})",
        ]
    )
    assert db.catalog().names("tables") == [name]
    assert db.query(f"SELECT v FROM {ident(name, Dialect.SQLITE)}") == [(value,)]


def test_odd_names_and_literals_load_on_mariadb_as_written(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    db = engine_db("mysql")
    name = "say `hi`"
    value = "it's C:\\tmp"
    db.execute(
        [
            f"CREATE TABLE {ident(name, Dialect.MYSQL)} (v TEXT)",
            f"INSERT INTO {ident(name, Dialect.MYSQL)} VALUES ({literal(value, Dialect.MYSQL)})",
        ]
    )
    assert db.catalog().names("tables") == [name]
    assert db.query(f"SELECT v FROM {ident(name, Dialect.MYSQL)}") == [(value,)]
