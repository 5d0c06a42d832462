"""The scratch SQLite engine."""

from __future__ import annotations

from bot.engines import start_sqlite
from bot.engines.sqlite import parse_create_table


def test_builtins_of_newer_sqlite_behave_as_sqlite_documents() -> None:
    """if() (3.48), unhex() (3.41), concat()/concat_ws() (3.44), whatever this SQLite is."""
    db = start_sqlite().new_database()
    (row,) = db.query(
        "SELECT if(1, 'a', 'b'), if(0, 'a'), if(0, 'a', '2', 'b', 'c'), if('x', 1, 2),"
        " hex(unhex('41a2')), unhex('zz'), hex(unhex('41-42', '-')),"
        " concat('a', NULL, 1), concat_ws('-', 'a', NULL, 'b'), concat_ws(NULL, 'a')"
    )
    assert row == ("a", None, "b", 2, "41A2", None, "4142", "a1", "a-b", None)


def test_a_check_reads_the_same_after_sqlite_requotes_its_strings() -> None:
    """SQLite reads "Value" as a string where no column has that name, and its ALTER TABLE
    DROP COLUMN rewrites such strings in every table to 'Value'. The catalog holds one check
    either way, so a down with a DROP COLUMN elsewhere still proves (fuzz_cli seed 6058)."""
    db = start_sqlite().new_database()
    db.execute(
        [
            'CREATE TABLE p1 (id INTEGER PRIMARY KEY, d BOOLEAN CHECK ("Value" IS NOT NULL),'
            ' CONSTRAINT named CHECK ("d" IN (0, 1)))',
            "CREATE TABLE p3 (id INTEGER PRIMARY KEY, d INTEGER)",
        ]
    )
    (before,) = db.query("SELECT sql FROM sqlite_schema WHERE name = 'p1'")
    catalog = db.catalog()
    db.execute(["ALTER TABLE p3 DROP COLUMN d"])
    (after,) = db.query("SELECT sql FROM sqlite_schema WHERE name = 'p1'")
    assert "'Value'" in after[0] and '"Value"' in before[0]  # SQLite did rewrite it
    assert db.catalog().diff(catalog) == ["table p3: missing column d"]
    # a column named in double quotes stays a column: only names no column has are strings
    column = parse_create_table("CREATE TABLE p4 (d TEXT CHECK (\"d\" <> 'd'))").checks
    string = parse_create_table("CREATE TABLE p5 (e TEXT CHECK (\"d\" <> 'd'))").checks
    assert list(column) == ["d <> 'd'"] and list(string) == ["'d' <> 'd'"]
