"""sqlite-table-rebuild, word for word: the rule asks the SQLite renderer, so it fires exactly
when the shipped down copies the table."""

from __future__ import annotations

from bot.core.changes import AddConstraint, CreateTable
from bot.core.model import Check, Column, Dialect, QName, Schema, Table
from bot.core.risk.analyse import assess
from tests.core.risk.helpers import rollback, said

RULE = "sqlite-table-rebuild"
USERS = "CREATE TABLE users (id int PRIMARY KEY, email text);"
REBUILT = (
    "users is re-created and every row copied; the database is locked for writes until it's done"
)


def test_a_rebuild_is_reported_on_its_change() -> None:
    down, assessment = rollback(
        "sqlite", USERS, "ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0);"
    )
    found = [(f.level.value, f.object, f.message) for f in assessment.findings() if f.rule == RULE]
    assert found == [("warning", "users.c", REBUILT)]
    # the shipped down does copy the rows
    assert any(s.sql.startswith("INSERT INTO") for s in down.statements)


def test_what_alter_table_does_in_place_is_no_rebuild() -> None:
    in_place = [
        "ALTER TABLE users ADD COLUMN bio text;",
        "ALTER TABLE users RENAME TO people;",
        "ALTER TABLE users RENAME COLUMN email TO mail;",
    ]
    for migration in in_place:
        assert said("sqlite", USERS, migration, RULE) == [], migration
    # a NOT NULL column with a default is added back in place too
    history = "CREATE TABLE users (id int PRIMARY KEY, email text, bio text NOT NULL DEFAULT '');"
    assert said("sqlite", history, "ALTER TABLE users DROP COLUMN bio;", RULE) == []


def test_only_sqlite_and_only_tables_that_hold_rows() -> None:
    assert said("postgres", USERS, "ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0);", RULE) == []
    table = Table(QName("users"), (Column("id", "INT"),))
    check = AddConstraint(QName("users"), Check("c", "id > 0"))
    assert [
        f.rule for f in assess([CreateTable(table), check], Schema(Dialect.SQLITE)).findings()
    ] == []


def test_a_change_the_renderer_refuses_is_not_called_a_rebuild() -> None:
    # the rebuild's scratch name is taken: the renderer refuses the change (and says why)
    users = Table(QName("users"), (Column("id", "INT"),))
    scratch = Table(QName("_rp_new_users"), (Column("id", "INT"),))
    check = AddConstraint(QName("users"), Check("c", "id > 0"))
    for tables, rebuilt in [
        ({("", "users"): users, ("", "_rp_new_users"): scratch}, []),
        ({("", "users"): users}, [RULE]),
    ]:
        found = assess([check], Schema(Dialect.SQLITE, (), tables)).findings()
        assert [f.rule for f in found if f.rule == RULE] == rebuilt
