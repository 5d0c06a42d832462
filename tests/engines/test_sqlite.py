"""The scratch SQLite engine."""

from __future__ import annotations

from bot.engines import start_sqlite


def test_builtins_of_newer_sqlite_behave_as_sqlite_documents() -> None:
    """if() (3.48), unhex() (3.41), concat()/concat_ws() (3.44), whatever this SQLite is."""
    db = start_sqlite().new_database()
    (row,) = db.query(
        "SELECT if(1, 'a', 'b'), if(0, 'a'), if(0, 'a', '2', 'b', 'c'), if('x', 1, 2),"
        " hex(unhex('41a2')), unhex('zz'), hex(unhex('41-42', '-')),"
        " concat('a', NULL, 1), concat_ws('-', 'a', NULL, 'b'), concat_ws(NULL, 'a')"
    )
    assert row == ("a", None, "b", 2, "41A2", None, "4142", "a1", "a-b", None)
