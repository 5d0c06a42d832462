"""Compatibility rules, word for word: what the newer app, still running during the rollout,
finds renamed, dropped or required by the rolled-back schema."""

from __future__ import annotations

from bot.core.changes import AddColumn, AlterColumn, CreateTable
from bot.core.model import Column, Dialect, QName, Schema, Table
from bot.core.risk.analyse import assess
from tests.core.risk.helpers import said

USERS = "CREATE TABLE users (id int PRIMARY KEY, email varchar(50), name text);"
NEWER_FAILS = "inserts from the newer app, which doesn't set it, fail until it's replaced"


def test_renames() -> None:
    rule = "rename-breaks-newer-app"
    column = "ALTER TABLE users RENAME COLUMN name TO full_name;"
    assert said("postgres", USERS, column, rule) == [
        (
            "warning",
            "users.full_name",
            "renaming users.full_name to name breaks queries of the newer app that still use "
            "the old name",
        )
    ]
    assert said("mysql", USERS, "ALTER TABLE users RENAME TO people;", rule) == [
        (
            "warning",
            "people",
            "renaming table people to users breaks queries of the newer app that still use the "
            "old name",
        )
    ]


def test_drops() -> None:
    rule = "drop-breaks-newer-app"
    assert said("sqlite", USERS, "ALTER TABLE users ADD COLUMN bio text;", rule) == [
        ("warning", "users.bio", "queries of the newer app that use users.bio fail once it's gone")
    ]
    assert said("mysql", USERS, "CREATE TABLE audit (id int);", rule) == [
        ("warning", "audit", "queries of the newer app that use table audit fail once it's gone")
    ]
    assert said("postgres", USERS, "CREATE VIEW emails AS SELECT email FROM users;", rule) == [
        ("warning", "emails", "queries of the newer app that use view emails fail once it's gone")
    ]
    assert said("postgres", USERS, "CREATE INDEX users_email ON users (email);", rule) == []


def test_a_required_column_added_back() -> None:
    rule = "required-column-breaks-newer-app"
    history = "CREATE TABLE users (id int PRIMARY KEY, legacy int NOT NULL);"
    assert said("mysql", history, "ALTER TABLE users DROP COLUMN legacy;", rule) == [
        (
            "warning",
            "users.legacy",
            f"users.legacy becomes NOT NULL without a default: {NEWER_FAILS}",
        )
    ]
    defaulted = "CREATE TABLE users (id int PRIMARY KEY, legacy int NOT NULL DEFAULT 0);"
    assert said("mysql", defaulted, "ALTER TABLE users DROP COLUMN legacy;", rule) == []
    nullable = "CREATE TABLE users (id int PRIMARY KEY, legacy int);"
    assert said("mysql", nullable, "ALTER TABLE users DROP COLUMN legacy;", rule) == []


def test_a_column_made_required_again() -> None:
    rule = "required-column-breaks-newer-app"
    history = "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
    migration = (
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL, ALTER COLUMN email SET DEFAULT 'x';"
    )
    assert said("postgres", history, migration, rule) == [
        ("warning", "users.email", f"users.email becomes NOT NULL without a default: {NEWER_FAILS}")
    ]
    # NOT NULL again, but with its default back: the newer app's inserts get the default
    defaulted = "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL DEFAULT 'x');"
    migration = (
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL, ALTER COLUMN email DROP DEFAULT;"
    )
    assert said("postgres", defaulted, migration, rule) == []
    # already NOT NULL in the newer schema: the newer app sets it
    assert (
        said("postgres", history, "ALTER TABLE users ALTER COLUMN email TYPE varchar(9);", rule)
        == []
    )


def test_a_table_the_down_creates_is_never_written_by_the_newer_app() -> None:
    t = QName("t")
    table = Table(t, (Column("id", "INT"), Column("v", "INT")))
    changes = [
        CreateTable(table),
        AddColumn(t, Column("n", "INT", nullable=False)),
        AlterColumn(t, Column("v", "INT"), Column("v", "INT", nullable=False)),
    ]
    found = assess(changes, Schema(Dialect.MYSQL)).findings()
    assert [f for f in found if f.rule == "required-column-breaks-newer-app"] == []
