"""Sequence and foreign-key SQL shared by the PostgreSQL and MariaDB renderers, exact; the
MariaDB statements also run on MariaDB."""

from __future__ import annotations

from collections.abc import Callable

from bot.core import changes as ch
from bot.core.model import (
    Column,
    Dialect,
    ForeignKey,
    PrimaryKey,
    QName,
    Schema,
    Sequence,
    Table,
    qkey,
)
from bot.core.render import mysql, postgres
from bot.engines import ScratchDatabase

PG, MY = Dialect.POSTGRES, Dialect.MYSQL
TICKET = Sequence(QName("ticket"), "START WITH 1 INCREMENT BY 2")


def schema(dialect: Dialect, *sequences: Sequence, tables: tuple[Table, ...] = ()) -> Schema:
    return Schema(
        dialect,
        tables={qkey(t.name, dialect): t for t in tables},
        sequences={qkey(s.name, dialect): s for s in sequences},
    )


def sql(dialect: Dialect, changes: list[ch.Change], before: Schema) -> list[str]:
    render = postgres.render if dialect is PG else mysql.render
    return [r.sql for r in render(changes, before)]


def test_a_renamed_sequence_is_renamed_as_each_dialect_says() -> None:
    renamed = Sequence(QName("tickets"), TICKET.definition)
    change = ch.AlterSequence(TICKET, renamed)
    assert sql(PG, [change], schema(PG, TICKET)) == ["ALTER SEQUENCE ticket RENAME TO tickets"]
    assert sql(MY, [change], schema(MY, TICKET)) == ["RENAME TABLE ticket TO tickets"]


def test_a_restart_only_moves_the_value_and_is_not_put_back() -> None:
    restarted = Sequence(TICKET.name, f"{TICKET.definition} RESTART WITH 5")
    assert sql(PG, [ch.AlterSequence(TICKET, restarted)], schema(PG, TICKET)) == []


def test_an_owner_written_in_lower_case_is_not_given_twice() -> None:
    plain = Sequence(TICKET.name, "as integer")
    owned = Sequence(TICKET.name, "as integer owned by t.id", owned_by="t.id")
    assert sql(PG, [ch.AlterSequence(plain, owned)], schema(PG, plain)) == [
        "ALTER SEQUENCE ticket owned by t.id"
    ]


def test_a_mariadb_sequence_with_an_engine_alters_only_what_alter_sequence_takes(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """ENGINE= is a CREATE SEQUENCE table option: ALTER SEQUENCE refuses it."""
    made = Sequence(TICKET.name, "START WITH 1 INCREMENT BY 2 ENGINE=InnoDB")
    faster = Sequence(TICKET.name, "START WITH 1 INCREMENT BY 5 ENGINE=InnoDB")
    created = sql(MY, [ch.CreateSequence(made)], schema(MY))
    assert created == ["CREATE SEQUENCE ticket START WITH 1 INCREMENT BY 2 ENGINE=InnoDB"]
    altered = sql(MY, [ch.AlterSequence(made, faster)], schema(MY, made))
    assert altered == ["ALTER SEQUENCE ticket INCREMENT BY 5"]
    db = engine_db("mysql")
    db.execute([*created, *altered])
    assert db.query("SELECT NEXTVAL(ticket), NEXTVAL(ticket)") == [(1, 6)]


def test_a_deferrable_foreign_key_is_deferrable_on_postgresql_only() -> None:
    parent = Table(QName("p"), (Column("id", "INT", nullable=False),), PrimaryKey(None, ("id",)))
    child = Table(QName("c"), (Column("pid", "INT"),))
    fk = ForeignKey(
        "c_p", ("pid",), parent.name, ("id",), deferrable="DEFERRABLE INITIALLY DEFERRED"
    )
    add = [ch.AddConstraint(child.name, fk)]
    body = "ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id)"
    assert sql(PG, add, schema(PG, tables=(parent, child))) == [
        f"{body} DEFERRABLE INITIALLY DEFERRED"
    ]
    assert sql(MY, add, schema(MY, tables=(parent, child))) == [body]
