"""Catalog comparison and SQL text normalization, without any engine."""

from __future__ import annotations

from typing import Any

from bot.engines.catalog import Catalog, normalize_sql
from bot.engines.sqlite import parse_create_table


def _users(**email: object) -> dict[str, Any]:
    column = {"type": "text", "nullable": True, "default": None} | email
    return {
        "tables": {
            "public.users": {
                "columns": {
                    "id": {"type": "integer", "nullable": False, "default": None},
                    "email": column,
                },
                "column_order": ["id", "email"],
                "indexes": {},
            }
        }
    }


def test_diff_names_object_column_and_attribute() -> None:
    actual = Catalog.build("postgres", _users(nullable=True))
    expected = Catalog.build("postgres", _users(nullable=False))

    assert actual.diff(expected) == ["table public.users: column email: nullable True != False"]


def test_diff_reports_extra_and_missing_members_relative_to_other() -> None:
    base = _users()
    grown = _users()
    grown["tables"]["public.users"]["indexes"] = {"users_email_idx": {"definition": "..."}}
    grown["views"] = {"public.v": {"definition": "SELECT 1"}}

    after = Catalog.build("postgres", grown)
    before = Catalog.build("postgres", base)

    assert after.diff(before) == [
        "table public.users: extra index users_email_idx",
        "extra view public.v",
    ]
    assert before.diff(after) == [
        "table public.users: missing index users_email_idx",
        "missing view public.v",
    ]


def test_column_order_is_compared_only_when_asked() -> None:
    moved = _users()
    moved["tables"]["public.users"]["column_order"] = ["email", "id"]
    a, b = Catalog.build("postgres", moved), Catalog.build("postgres", _users())

    assert a != b
    assert a.diff(b) == []
    assert a.diff(b, column_order=True) == [
        "table public.users: column_order ['email', 'id'] != ['id', 'email']"
    ]


def test_catalog_is_hashable_and_survives_json_round_trip() -> None:
    catalog = Catalog.build("sqlite", _users())

    assert Catalog.from_json(catalog.to_json()) == catalog
    assert len({catalog, Catalog.build("sqlite", _users())}) == 1
    assert catalog.get("tables", "public.users") is not None
    assert catalog.names("tables") == ["public.users"]


def test_catalogs_of_different_dialects_never_compare_equal() -> None:
    assert Catalog.build("sqlite", {}).diff(Catalog.build("mysql", {})) == [
        "dialect 'sqlite' != 'mysql'"
    ]


def test_normalize_sql_ignores_layout_and_comments_but_not_literals() -> None:
    messy = "SELECT  id,\n  name -- who\nFROM t WHERE name = 'a  b' /* c */ ;"
    tidy = "SELECT id, name FROM t WHERE name = 'a  b'"

    assert normalize_sql(messy, dialect="postgres") == tidy
    assert normalize_sql("x = 'a b'", dialect="postgres") != normalize_sql(
        "x = 'a  b'", dialect="postgres"
    )


def test_normalize_sql_keeps_dialect_quoting_whole() -> None:
    assert normalize_sql("SELECT [a  b] FROM t", dialect="sqlite") == "SELECT [a  b] FROM t"
    assert normalize_sql("SELECT 'it\\'s  x'", dialect="mysql") == "SELECT 'it\\'s  x'"
    assert normalize_sql("AS $f$ a  -- b $f$", dialect="postgres") == "AS $f$ a  -- b $f$"
    assert normalize_sql("SELECT x::text", dialect="postgres") == "SELECT x::text"


def test_sqlite_checks_are_found_at_column_and_table_level() -> None:
    parsed = parse_create_table(
        "CREATE TABLE t (\n"
        "  a INT CHECK(a>0) DEFAULT (abs(-1)),\n"
        "  b TEXT COLLATE NOCASE CONSTRAINT b_short CHECK (length(b) < 10),\n"
        "  c TEXT GENERATED ALWAYS AS (upper(b)) STORED,\n"
        "  d TEXT DEFAULT 'check(x)',\n"
        "  CONSTRAINT pair CHECK ((a, b) IS NOT NULL),\n"
        "  CHECK (a < 100)\n"
        ") WITHOUT ROWID, STRICT"
    )

    assert parsed.checks == {
        "a > 0": None,
        "length(b) < 10": "b_short",
        "(a, b) is not null": "pair",
        "a < 100": None,
    }
    assert parsed.collations == {"b": "nocase"}
    assert parsed.generated == {"c": "upper(b)"}
    assert parsed.without_rowid and parsed.strict and not parsed.autoincrement


def test_sqlite_the_same_check_twice_is_two_checks_in_any_order() -> None:
    """SQLite keeps a CHECK written twice; the catalog keeps both names, whatever the order
    (fuzz_cli seed 6476: a down that left one copy too many compared equal)."""
    twice = "CREATE TABLE t (f INT CHECK (f > 0), CONSTRAINT ch31 CHECK (f > 0))"
    swapped = "CREATE TABLE t (f INT, CONSTRAINT ch31 CHECK (f > 0), CHECK (f > 0))"
    thrice = "CREATE TABLE t (f INT CHECK (f > 0), CONSTRAINT ch31 CHECK (f > 0), CHECK (f>0))"
    assert parse_create_table(twice).checks == {"f > 0": "(unnamed), ch31"}
    assert parse_create_table(swapped).checks == parse_create_table(twice).checks
    assert parse_create_table(thrice).checks == {"f > 0": "(unnamed), (unnamed), ch31"}
