"""The exact PostgreSQL script for tables and columns: what CREATE TABLE writes after the table
(partitions, clustering, statistics, retyped serials), storage parameters, renames across
schemas, every ALTER COLUMN wave, and a column re-created when its generation changes.

Each script is compared as text; the first ones also run on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.core import changes as ch
from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Dialect,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Schema,
    Sequence,
    Table,
    Unique,
    qkey,
)
from bot.core.render.postgres import render
from bot.core.render.postgres.tables import storage_options
from bot.engines import ScratchDatabase

PG = Dialect.POSTGRES
T = QName("t")


def sql(changes: list[ch.Change], *tables: Table, namespaces: tuple[str, ...] = ()) -> list[str]:
    before = Schema(PG, namespaces=namespaces, tables={qkey(t.name, PG): t for t in tables})
    return [s.sql for s in render(changes, before)]


def altered(before: Column, after: Column, *others: Column) -> list[str]:
    """The script of one ALTER COLUMN on table t holding `before` (and `others`)."""
    return sql([ch.AlterColumn(T, before, after)], Table(T, (before, *others)))


# -- CREATE TABLE ------------------------------------------------------------------------------


def test_create_table_writes_what_cannot_be_said_inline_after_it(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    name = QName("Big", "app")
    table = Table(
        name,
        (
            Column("id", "BIGINT", nullable=False, auto=AutoKind.SERIAL),
            Column("note", "TEXT", statistics=500),
        ),
        indexes=(Index("Big_note", name, (IndexPart("note"),)),),
        unlogged=True,
        clustered_on="Big_note",
    )
    written = sql([ch.CreateTable(table)], namespaces=("app",))
    assert written == [
        'CREATE UNLOGGED TABLE app."Big" (\n  id serial,\n  note text\n)',
        'ALTER TABLE app."Big" ALTER COLUMN id TYPE bigint',
        'ALTER TABLE app."Big" ALTER COLUMN note SET STATISTICS 500',
        'CREATE INDEX "Big_note" ON app."Big" (note)',
        'ALTER TABLE app."Big" CLUSTER ON "Big_note"',
    ]
    db = engine_db("postgres")
    db.execute(["CREATE SCHEMA app", *written])
    assert db.catalog().names("tables") == ["app.Big"]


def test_a_partition_is_created_with_its_comment() -> None:
    parent = Table(QName("m", "app"), (Column("k", "INT"),), partition_by="LIST (k)")
    part = Table(
        QName("P1", "app"),
        parent.columns,
        partition_of=parent.name,
        partition_bound="FOR VALUES IN (1)",
        comment="first",
    )
    assert sql([ch.CreateTable(part)], parent, namespaces=("app",)) == [
        'CREATE TABLE app."P1" PARTITION OF app.m FOR VALUES IN (1)',
        "COMMENT ON TABLE app.\"P1\" IS 'first'",
    ]


def test_generated_and_identity_columns_added() -> None:
    base = Table(T, (Column("a", "INT"),))
    virtual = Column("v", "INT", generated="a * 3", generated_stored=False)
    ident = Column("n", "INT", nullable=False, auto=AutoKind.IDENTITY_ALWAYS)
    assert sql([ch.AddColumn(T, virtual), ch.AddColumn(T, ident)], base) == [
        "ALTER TABLE t ADD COLUMN v integer GENERATED ALWAYS AS (a * 3) VIRTUAL",
        "ALTER TABLE t ADD COLUMN n integer GENERATED ALWAYS AS IDENTITY",
    ]


# -- table options and renames -----------------------------------------------------------------


def test_storage_parameters_set_only_when_they_change() -> None:
    before = "WITH (fillfactor=70, autovacuum_enabled=false, toast_tuple_target=128)"
    after = "WITH (fillfactor=70, autovacuum_enabled=true, parallel_workers=2)"
    table = Table(T, (Column("a", "INT"),), options=before)
    assert sql([ch.SetTableOptions(T, before, after)], table) == [
        "ALTER TABLE t RESET (toast_tuple_target)",
        "ALTER TABLE t SET (autovacuum_enabled=true, parallel_workers=2)",
    ]
    flag = "WITH (autovacuum_enabled)"
    assert sql([ch.SetTableOptions(T, None, flag)], replace(table, options=None)) == [
        "ALTER TABLE t SET (autovacuum_enabled)"
    ]


def test_storage_options_text_keeps_flags_without_a_value() -> None:
    assert storage_options({"fillfactor": "70", "flag": ""}) == "WITH (fillfactor=70, flag)"
    assert storage_options({}) is None


def test_a_table_renamed_into_another_schema_moves_under_its_new_name() -> None:
    table = Table(QName("a", "app"), (Column("x", "INT"),))
    assert sql(
        [ch.RenameTable(table.name, QName("b", "other"))], table, namespaces=("app", "other")
    ) == ["ALTER TABLE app.a RENAME TO b", "ALTER TABLE app.b SET SCHEMA other"]


# -- ALTER COLUMN ------------------------------------------------------------------------------

SERIAL = Column("id", "INT", nullable=False, auto=AutoKind.SERIAL)


def test_serial_made_plain_drops_its_sequence() -> None:
    assert altered(SERIAL, replace(SERIAL, auto=None)) == [
        "ALTER TABLE t ALTER COLUMN id DROP DEFAULT",
        "DROP SEQUENCE t_id_seq",
    ]


def test_serial_made_plain_with_a_default_of_its_own() -> None:
    assert altered(SERIAL, replace(SERIAL, auto=None, default="0")) == [
        "ALTER TABLE t ALTER COLUMN id DROP DEFAULT",
        "DROP SEQUENCE t_id_seq",
        "ALTER TABLE t ALTER COLUMN id SET DEFAULT 0",
    ]


def test_serial_made_bigserial_widens_its_sequence() -> None:
    big = replace(SERIAL, type="BIGINT", auto=AutoKind.BIGSERIAL)
    assert altered(SERIAL, big) == [
        "ALTER TABLE t ALTER COLUMN id TYPE bigint",
        "ALTER SEQUENCE t_id_seq AS bigint",
    ]


def test_dropping_identity_keeps_not_null_even_if_the_model_says_nullable() -> None:
    """An identity column is NOT NULL by itself; the plain column after it is NOT NULL too."""
    ident = Column("id", "INT", nullable=True, auto=AutoKind.IDENTITY_ALWAYS)
    assert altered(ident, replace(ident, nullable=False, auto=None)) == [
        "ALTER TABLE t ALTER COLUMN id DROP IDENTITY"
    ]


def test_identity_added_to_a_column_with_a_default() -> None:
    plain = Column("n", "INT", default="0")
    ident = replace(plain, default=None, auto=AutoKind.IDENTITY_BY_DEFAULT)
    assert altered(plain, ident) == [
        "ALTER TABLE t ALTER COLUMN n SET NOT NULL, ALTER COLUMN n DROP DEFAULT",
        "ALTER TABLE t ALTER COLUMN n ADD GENERATED BY DEFAULT AS IDENTITY",
        "SELECT setval(pg_get_serial_sequence('t', 'n'), coalesce(max(n), 0) + 1, false) FROM t",
    ]


def test_stored_generated_column_made_plain_in_place() -> None:
    gen = Column("b", "INT", generated="a * 2")
    assert altered(gen, replace(gen, generated=None), Column("a", "INT")) == [
        "ALTER TABLE t ALTER COLUMN b DROP EXPRESSION"
    ]


def test_type_change_that_cannot_cast_drops_the_default_once() -> None:
    c = Column("c", "INT", default="0")
    assert altered(c, replace(c, type="TEXT", default=None)) == [
        "ALTER TABLE t ALTER COLUMN c DROP DEFAULT, ALTER COLUMN c TYPE text USING c::text"
    ]


def test_widening_a_type_and_dropping_its_default() -> None:
    c = Column("c", "INT", default="0")
    assert altered(c, replace(c, type="BIGINT", default=None)) == [
        "ALTER TABLE t ALTER COLUMN c TYPE bigint, ALTER COLUMN c DROP DEFAULT"
    ]


def test_a_string_default_keeps_the_type_it_was_set_under() -> None:
    """PostgreSQL shows `'STD'` set on varchar as `'STD'::varchar` after a change to text;
    going back to varchar(20), that default already is the one wanted."""
    c = Column("code", "TEXT", default="'STD'::varchar")
    assert altered(c, replace(c, type="VARCHAR(20)", default="'STD'")) == [
        "ALTER TABLE t ALTER COLUMN code TYPE varchar(20)"
    ]
    text = Column("code", "VARCHAR(20)", default="'STD'::text")
    assert altered(text, replace(text, type="TEXT", default="'STD'")) == [
        "ALTER TABLE t ALTER COLUMN code TYPE text"
    ]


def test_spellings_of_one_type_are_no_change() -> None:
    at = Column("at", "TIMESTAMPTZ")
    assert altered(at, replace(at, type="timestamp  with time zone")) == []


def test_statistics_target_changed_and_reset() -> None:
    c = Column("c", "INT", statistics=500)
    assert altered(c, replace(c, statistics=200)) == [
        "ALTER TABLE t ALTER COLUMN c SET STATISTICS 200"
    ]
    assert altered(c, replace(c, statistics=None)) == [
        "ALTER TABLE t ALTER COLUMN c SET STATISTICS -1"
    ]


def test_serial_made_text_where_its_sequence_stays_casts_once() -> None:
    """DROP DEFAULT leaves the sequence (the pair is kept); the cast is the plain one."""
    table = Table(T, (SERIAL,))
    plain = replace(SERIAL, auto=None, type="TEXT")
    seq = Sequence(QName("t_id_seq"), "AS integer", owned_by="t.id")
    assert sql([ch.AlterColumn(T, SERIAL, plain), ch.CreateSequence(seq)], table) == [
        "ALTER TABLE t ALTER COLUMN id DROP DEFAULT",
        "ALTER TABLE t ALTER COLUMN id TYPE text USING id::text",
    ]


# -- a column re-created -------------------------------------------------------------------------


def test_plain_column_made_generated_is_recreated_with_what_uses_it(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """The new column is added nullable and made NOT NULL once it has its name; keys, checks
    and indexes on it come back; those on other columns are left alone."""
    before = Column("b", "INT", nullable=False)
    after = replace(before, generated="a * 2", comment="twice a")
    table = Table(
        T,
        (Column("a", "INT", nullable=False), before),
        primary_key=PrimaryKey("t_pk", ("a",)),
        uniques=(Unique("t_b_key", ("b",)),),
        checks=(Check("t_b_pos", "b > 0"), Check("t_a_pos", "a > 0")),
        indexes=(
            Index("t_b_plus", T, (IndexPart("b + 1", is_column=False),)),
            Index("t_a_where", T, (IndexPart("a"),), where="b > 5"),
            Index("t_a", T, (IndexPart("a"),)),
        ),
    )
    written = sql([ch.AlterColumn(T, before, after)], table)
    assert written == [
        "-- t.b: PostgreSQL cannot change this column's generation in place; it is re-created"
        " (values recomputed, the column moves to the end)\n"
        "ALTER TABLE t ADD COLUMN b__new integer GENERATED ALWAYS AS (a * 2) STORED",
        "ALTER TABLE t DROP COLUMN b",
        "ALTER TABLE t RENAME COLUMN b__new TO b",
        "ALTER TABLE t ALTER COLUMN b SET NOT NULL",
        "ALTER TABLE t ADD CONSTRAINT t_b_key UNIQUE (b)",
        "ALTER TABLE t ADD CONSTRAINT t_b_pos CHECK (b > 0)",
        "CREATE INDEX t_b_plus ON t ((b + 1))",
        "CREATE INDEX t_a_where ON t (a) WHERE b > 5",
        "COMMENT ON COLUMN t.b IS 'twice a'",
    ]
    db = engine_db("postgres")
    db.execute(
        [
            "CREATE TABLE t (a int NOT NULL CONSTRAINT t_pk PRIMARY KEY,"
            " b int NOT NULL CONSTRAINT t_b_key UNIQUE CONSTRAINT t_b_pos CHECK (b > 0),"
            " CONSTRAINT t_a_pos CHECK (a > 0))",
            "CREATE INDEX t_b_plus ON t ((b + 1))",
            "CREATE INDEX t_a_where ON t (a) WHERE b > 5",
            "CREATE INDEX t_a ON t (a)",
            "INSERT INTO t VALUES (1, 2), (3, 6)",
            *written,
        ]
    )
    assert db.rows("t") == [(1, 2), (3, 6)]
    record = db.catalog().get("tables", "public.t")
    assert record is not None and sorted(record["indexes"]) == [
        "t_a",
        "t_a_where",
        "t_b_key",
        "t_b_plus",
        "t_pk",
    ]


def test_generated_column_made_plain_and_renamed_is_copied_under_the_new_name() -> None:
    before = Column("b", "INT", generated="a * 2", generated_stored=False)
    after = Column("c", "INT", nullable=False)
    table = Table(
        T,
        (Column("a", "INT"), before),
        indexes=(Index("t_b", T, (IndexPart("b"),)),),
    )
    assert sql([ch.AlterColumn(T, before, after)], table) == [
        "ALTER TABLE t RENAME COLUMN b TO c",
        "-- t.c: PostgreSQL cannot change this column's generation in place; it is re-created"
        " (values copied, the column moves to the end)\n"
        "ALTER TABLE t ADD COLUMN c__new integer",
        "UPDATE t SET c__new = c",
        "ALTER TABLE t DROP COLUMN c",
        "ALTER TABLE t RENAME COLUMN c__new TO c",
        "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
        "CREATE INDEX t_b ON t (c)",
    ]


def test_stored_made_virtual_is_recreated() -> None:
    before = Column("b", "INT", generated="a * 2")
    after = replace(before, generated_stored=False)
    written = altered(before, after, Column("a", "INT"))
    assert written[0].endswith(
        "ALTER TABLE t ADD COLUMN b__new integer GENERATED ALWAYS AS (a * 2) VIRTUAL"
    )


def test_a_mixed_case_column_to_recreate_needs_quotes() -> None:
    before = Column("Total", "INT")
    after = replace(before, generated="1", generated_stored=True)
    table = Table(T, (before,), checks=(Check("c1", '"Total" > 0'), Check("c2", "total > 0")))
    written = sql([ch.AlterColumn(T, before, after)], table)
    assert written[1:] == [
        'ALTER TABLE t DROP COLUMN "Total"',
        'ALTER TABLE t RENAME COLUMN "Total__new" TO "Total"',
        'ALTER TABLE t ADD CONSTRAINT c1 CHECK ("Total" > 0)',
    ]


# -- a CHECK dropped before its column goes --------------------------------------------------


def check_then_column(check: str, column: str, *columns: str) -> list[str]:
    names = (column, *columns) if column not in columns else columns
    table = Table(T, tuple(Column(n, "INT") for n in names), checks=(Check("k", check),))
    return sql(
        [ch.DropConstraint(T, table.checks[0]), ch.DropColumn(T, Column(column, "INT"))], table
    )


def test_a_check_on_a_column_dropped_later_goes_with_it() -> None:
    assert check_then_column('"say""hi" > 0', 'say"hi') == ['ALTER TABLE t DROP COLUMN "say""hi"']
    assert check_then_column('"a#b" > 0', "a#b") == ['ALTER TABLE t DROP COLUMN "a#b"']


def test_a_check_that_only_names_the_column_in_a_string_or_folded_is_dropped_itself() -> None:
    assert check_then_column("note <> 'toy'", "toy", "note") == [
        "ALTER TABLE t DROP CONSTRAINT k",
        "ALTER TABLE t DROP COLUMN toy",
    ]
    # unquoted Toy is PostgreSQL's toy, not the column "Toy"
    assert check_then_column("Toy > 0", "Toy", "toy") == [
        "ALTER TABLE t DROP CONSTRAINT k",
        'ALTER TABLE t DROP COLUMN "Toy"',
    ]
