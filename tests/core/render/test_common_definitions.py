"""View, constraint, sequence and routine SQL shared by the PostgreSQL and MariaDB renderers,
exact: options where each dialect wants them, CREATE SEQUENCE as written when the engines
take it so, and a routine replaced in place."""

from __future__ import annotations

import pytest

from bot.core import changes as ch
from bot.core.model import (
    Check,
    Column,
    Dialect,
    Opaque,
    PrimaryKey,
    QName,
    Schema,
    Sequence,
    Table,
    View,
    qkey,
)
from bot.core.render import mysql, postgres

PG, MY = Dialect.POSTGRES, Dialect.MYSQL
T = Table(
    QName("t"), (Column("id", "INT", nullable=False), Column("x", "INT")), PrimaryKey(None, ("id",))
)


def sql(
    dialect: Dialect, changes: list[ch.Change], *opaque: Opaque, seqs: tuple[Sequence, ...] = ()
) -> list[str]:
    before = Schema(
        dialect,
        tables={qkey(T.name, dialect): T},
        sequences={qkey(s.name, dialect): s for s in seqs},
        opaque={(o.kind, o.identity): o for o in opaque},
    )
    render = postgres.render if dialect is PG else mysql.render
    return [r.sql for r in render(changes, before)]


def test_a_view_with_columns_options_and_check_option_puts_each_in_its_place() -> None:
    view = View(
        QName("v"),
        "SELECT id FROM t",
        columns=("a",),
        options="WITH (security_barrier=true) WITH LOCAL CHECK OPTION",
    )
    assert sql(PG, [ch.CreateView(view)]) == [
        "CREATE VIEW v (a) WITH (security_barrier=true) AS SELECT id FROM t WITH LOCAL CHECK OPTION"
    ]


def test_an_unnamed_constraint_is_added_without_a_name() -> None:
    assert sql(PG, [ch.AddConstraint(T.name, Check(None, "x > 0"))]) == [
        "ALTER TABLE t ADD CHECK (x > 0)"
    ]


def test_an_owner_in_the_definition_in_lower_case_is_not_given_twice() -> None:
    seq = Sequence(QName("s"), "as integer  owned by t.id", owned_by="t.id")
    assert sql(PG, [ch.CreateSequence(seq)]) == ["CREATE SEQUENCE s as integer  owned by t.id"]


@pytest.mark.parametrize(
    ("dialect", "definition", "created"),
    [
        pytest.param(
            PG,
            "start with 1  increment by 2  minvalue 1  maxvalue 9  cache 5  cycle",
            "start with 1  increment by 2  minvalue 1  maxvalue 9  cache 5  cycle",
            id="each option once: as written",
        ),
        pytest.param(
            MY,
            "increment by 2  nominvalue  nomaxvalue  nocache  nocycle",
            "increment by 2  nominvalue  nomaxvalue  nocache  nocycle",
            id="MariaDB's one-word negations: as written",
        ),
        pytest.param(PG, "START WITH 1 RESTART WITH 5", "START WITH 1", id="no RESTART"),
        pytest.param(MY, "increment by 2 increment by 3", "increment by 3", id="the last repeat"),
    ],
)
def test_create_sequence_keeps_the_definition_unless_the_engines_refuse_it(
    dialect: Dialect, definition: str, created: str
) -> None:
    assert sql(dialect, [ch.CreateSequence(Sequence(QName("s"), definition))]) == [
        f"CREATE SEQUENCE s {created}"
    ]


def test_an_option_only_the_new_definition_has_is_altered() -> None:
    old, new = Sequence(QName("s"), "START WITH 1"), Sequence(QName("s"), "START WITH 1 CACHE 5")
    assert sql(PG, [ch.AlterSequence(old, new)], seqs=(old,)) == ["ALTER SEQUENCE s CACHE 5"]


def function(identity: str, definition: str) -> Opaque:
    return Opaque("function", identity, definition, f"DROP FUNCTION {identity}")


def test_a_function_replaced_in_lower_case_create_or_replace_is_not_dropped() -> None:
    old = function("f()", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$")
    new = function(
        "f()", "create or replace function f() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$"
    )
    assert sql(PG, [ch.ReplaceOpaque(old, new)], old) == [
        "SET check_function_bodies = false",
        new.definition,
    ]


def test_only_the_head_of_a_replaced_function_becomes_create_or_replace() -> None:
    body = "EXECUTE 'CREATE FUNCTION g() RETURNS int LANGUAGE sql AS ''SELECT {}'''"
    head = "FUNCTION mk() RETURNS void LANGUAGE plpgsql AS $$ BEGIN {}; END $$"
    old = function("mk()", "CREATE " + head.format(body.format(1)))
    new = function("mk()", "CREATE " + head.format(body.format(2)))
    assert sql(PG, [ch.ReplaceOpaque(old, new)], old) == [
        "SET check_function_bodies = false",
        "CREATE OR REPLACE " + head.format(body.format(2)),
    ]
