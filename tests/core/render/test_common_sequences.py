"""Sequence and foreign-key SQL shared by the PostgreSQL and MariaDB renderers, exact; the
MariaDB statements also run on MariaDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
MAX_VALUE = "SELECT max_value FROM pg_sequences WHERE sequencename = 'ticket'"


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


@pytest.mark.parametrize(
    ("made", "faster", "altered"),
    [
        ("INCREMENT = 2 ENGINE=InnoDB", "INCREMENT = 5 ENGINE=InnoDB", "INCREMENT = 5"),
        (
            "INCREMENT BY 2 COMMENT='ticket numbers'",
            "INCREMENT BY 5 COMMENT='ticket numbers'",
            "INCREMENT BY 5",
        ),
    ],
)
def test_mariadb_spellings_and_table_options_alter_only_what_alter_sequence_takes(
    engine_db: Callable[[str], ScratchDatabase], made: str, faster: str, altered: str
) -> None:
    """`INCREMENT = n` is an option like `INCREMENT BY n`; ENGINE and COMMENT are CREATE
    SEQUENCE table options, which ALTER SEQUENCE refuses (a syntax error on MariaDB)."""
    before, after = Sequence(TICKET.name, made), Sequence(TICKET.name, faster)
    created = sql(MY, [ch.CreateSequence(before)], schema(MY))
    assert created == [f"CREATE SEQUENCE ticket {made}"]
    assert sql(MY, [ch.AlterSequence(before, after)], schema(MY, before)) == [
        f"ALTER SEQUENCE ticket {altered}"
    ]
    db = engine_db("mysql")
    db.execute([*created, f"ALTER SEQUENCE ticket {altered}"])
    assert db.query("SELECT NEXTVAL(ticket), NEXTVAL(ticket)") == [(1, 6)]


def test_a_definition_that_now_names_the_engine_alters_only_the_options(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """A schema diff back to a sequence created with ENGINE=InnoDB (MariaDB's default) from
    one created without it: ALTER SEQUENCE takes no ENGINE, and the engine is the same."""
    edited = Sequence(TICKET.name, "START WITH 5")
    original = Sequence(TICKET.name, "START WITH 1 ENGINE=InnoDB")
    altered = sql(MY, [ch.AlterSequence(edited, original)], schema(MY, edited))
    assert altered == ["ALTER SEQUENCE ticket START WITH 1"]
    db = engine_db("mysql")
    db.execute([f"CREATE SEQUENCE ticket {edited.definition}", *altered])
    made = engine_db("mysql")
    made.execute([f"CREATE SEQUENCE ticket {original.definition}"])
    assert db.catalog().diff(made.catalog()) == []


def test_options_the_parser_does_not_know_are_restated_as_written(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """A schema-qualified `AS` type is not in the option parser: the down states `after`'s
    options whole and puts back the default of each option only `before` set."""
    capped = Sequence(TICKET.name, "AS pg_catalog.int4 MAXVALUE 100")
    uncapped = Sequence(TICKET.name, "AS pg_catalog.int4")
    altered = sql(PG, [ch.AlterSequence(capped, uncapped)], schema(PG, capped))
    assert altered == ["ALTER SEQUENCE ticket AS pg_catalog.int4 NO MAXVALUE"]
    db = engine_db("postgres")
    db.execute([f"CREATE SEQUENCE ticket {capped.definition}", *altered])
    assert db.query(MAX_VALUE) == [(2147483647,)]


def test_an_option_the_parser_does_not_know_goes_back_to_its_default(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """Back to a sequence with no options: only the default of what `before` set is stated."""
    small = Sequence(TICKET.name, "AS pg_catalog.int4")
    plain = Sequence(TICKET.name, "")
    altered = sql(PG, [ch.AlterSequence(small, plain)], schema(PG, small))
    assert altered == ["ALTER SEQUENCE ticket AS bigint"]
    db = engine_db("postgres")
    db.execute([f"CREATE SEQUENCE ticket {small.definition}", *altered])
    assert db.query(MAX_VALUE) == [(9223372036854775807,)]


def test_a_mariadb_sequence_gets_its_comment_back_through_alter_table(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """ALTER SEQUENCE refuses COMMENT, but a MariaDB sequence is a table: ALTER TABLE sets it,
    and an empty one removes it."""
    noted = Sequence(TICKET.name, "START WITH 5 COMMENT='old numbers'")
    renoted = Sequence(TICKET.name, "START WITH 5 COMMENT='ticket numbers'")
    plain = Sequence(TICKET.name, "START WITH 5")
    for before, after, altered in [
        (noted, renoted, ["ALTER TABLE ticket COMMENT='ticket numbers'"]),
        (noted, plain, ["ALTER TABLE ticket COMMENT=''"]),
    ]:
        assert sql(MY, [ch.AlterSequence(before, after)], schema(MY, before)) == altered
        db = engine_db("mysql")
        db.execute([f"CREATE SEQUENCE ticket {before.definition}", *altered])
        made = engine_db("mysql")
        made.execute([f"CREATE SEQUENCE ticket {after.definition}"])
        assert db.catalog().diff(made.catalog()) == []
