"""The exact PostgreSQL script for changes a later DROP makes unnecessary, for serial columns
whose sequence stays, and for the session setting SQL-bodied functions need.

Names are mixed case where a lookup could fold them: PostgreSQL compares them exactly.
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
    ForeignKey,
    Index,
    IndexPart,
    Opaque,
    QName,
    Schema,
    Sequence,
    Table,
    Unique,
    View,
    qkey,
)
from bot.core.render.postgres import render
from bot.engines import ScratchDatabase

PG = Dialect.POSTGRES
KIDS = QName("Kids")
KIDS_TABLE = Table(
    KIDS,
    (
        Column("Id", "INT", nullable=False),
        Column("Toy", "TEXT"),
        Column("age", "INT"),
    ),
    checks=(Check("kids_age", "age > 0"),),
    uniques=(Unique("kids_age_key", ("age",)),),
    indexes=(
        Index("kids_toy", KIDS, (IndexPart("Toy"),)),
        Index("kids_age_idx", KIDS, (IndexPart("age"),)),
        Index("kids_age_u", KIDS, (IndexPart("age"),), unique=True),
    ),
)
TOY = KIDS_TABLE.columns[1]
PARENT = Table(QName("Parent"), (Column("id", "INT", nullable=False),))
FK = ForeignKey("kids_parent", ("Id",), PARENT.name, ("id",))


def schema(*tables: Table, sequences: tuple[Sequence, ...] = ()) -> Schema:
    return Schema(
        PG,
        tables={qkey(t.name, PG): t for t in tables},
        sequences={qkey(s.name, PG): s for s in sequences},
    )


def sql(changes: list[ch.Change], before: Schema) -> list[str]:
    return [s.sql for s in render(changes, before)]


def commented(column: Column, text: str) -> ch.AlterColumn:
    return ch.AlterColumn(KIDS, column, replace(column, comment=text))


# -- what a later DROP COLUMN makes unnecessary ------------------------------------------------


def test_index_on_a_column_dropped_later_goes_with_it_across_harmless_drops() -> None:
    """A CHECK, a non-unique index or a comment in between can't hold the column: skip."""
    for between in (
        ch.DropConstraint(KIDS, KIDS_TABLE.checks[0]),
        ch.DropIndex(KIDS_TABLE.indexes[1]),
        ch.SetTableComment(KIDS, None, "kids"),
    ):
        written = sql(
            [ch.DropIndex(KIDS_TABLE.indexes[0]), between, ch.DropColumn(KIDS, TOY)],
            schema(KIDS_TABLE),
        )
        assert written[0] != "DROP INDEX kids_toy", between
        assert written[-1] == 'ALTER TABLE "Kids" DROP COLUMN "Toy"'
        assert len(written) == 2


def test_index_stays_when_a_unique_key_is_dropped_in_between() -> None:
    """Another unique key going first could be what a constraint depends on: keep order."""
    written = sql(
        [
            ch.DropIndex(KIDS_TABLE.indexes[0]),
            ch.DropIndex(KIDS_TABLE.indexes[2]),
            ch.DropColumn(KIDS, TOY),
        ],
        schema(KIDS_TABLE),
    )
    assert written == [
        "DROP INDEX kids_toy",
        "DROP INDEX kids_age_u",
        'ALTER TABLE "Kids" DROP COLUMN "Toy"',
    ]


def test_changes_to_a_column_dropped_later_are_not_written() -> None:
    written = sql(
        [
            commented(TOY, "a toy"),
            ch.AlterColumn(KIDS, TOY, replace(TOY, type="VARCHAR(10)")),
            ch.DropColumn(KIDS, TOY),
        ],
        schema(KIDS_TABLE),
    )
    assert written == ['ALTER TABLE "Kids" DROP COLUMN "Toy"']


def test_a_comment_of_a_column_dropped_later_goes_even_past_a_unique_key_drop() -> None:
    written = sql(
        [
            commented(TOY, "a toy"),
            ch.DropConstraint(KIDS, KIDS_TABLE.uniques[0]),
            ch.DropColumn(KIDS, TOY),
        ],
        schema(KIDS_TABLE),
    )
    assert written == [
        'ALTER TABLE "Kids" DROP CONSTRAINT kids_age_key',
        'ALTER TABLE "Kids" DROP COLUMN "Toy"',
    ]


def test_a_column_renamed_into_the_dropped_name_is_renamed_first() -> None:
    """Renaming `age` to `Toy2` and dropping `Toy2`: the DROP needs the rename before it."""
    age = KIDS_TABLE.columns[2]
    table = replace(KIDS_TABLE, checks=(), uniques=(), indexes=())
    written = sql(
        [
            ch.AlterColumn(KIDS, age, replace(age, name="Toy2")),
            ch.DropColumn(KIDS, replace(age, name="Toy2")),
        ],
        schema(table),
    )
    assert written == [
        'ALTER TABLE "Kids" RENAME COLUMN age TO "Toy2"',
        'ALTER TABLE "Kids" DROP COLUMN "Toy2"',
    ]


def test_a_comment_follows_its_column_through_a_rename_to_the_drop() -> None:
    """Commenting `Toy`, renaming it and dropping it: the comment is moot."""
    renamed = sql(
        [
            commented(TOY, "a toy"),
            ch.RenameColumn(KIDS, "Toy", "Ball"),
            ch.DropColumn(KIDS, replace(TOY, name="Ball")),
        ],
        schema(KIDS_TABLE),
    )
    assert renamed == [
        'ALTER TABLE "Kids" RENAME COLUMN "Toy" TO "Ball"',
        'ALTER TABLE "Kids" DROP COLUMN "Ball"',
    ]


def test_a_comment_on_a_column_whose_name_is_reused_is_kept() -> None:
    """`Toy` renamed away, a new `Toy` added and dropped: the old column's comment stays."""
    written = sql(
        [
            commented(TOY, "a toy"),
            ch.RenameColumn(KIDS, "Toy", "Ball"),
            ch.AddColumn(KIDS, TOY),
            ch.DropColumn(KIDS, TOY),
        ],
        schema(KIDS_TABLE),
    )
    assert written == [
        'COMMENT ON COLUMN "Kids"."Toy" IS \'a toy\'',
        'ALTER TABLE "Kids" RENAME COLUMN "Toy" TO "Ball"',
        'ALTER TABLE "Kids" ADD COLUMN "Toy" text',
        'ALTER TABLE "Kids" DROP COLUMN "Toy"',
    ]


# -- what a later DROP TABLE makes unnecessary ------------------------------------------------


def test_a_table_comment_goes_with_the_table_dropped_under_its_new_name() -> None:
    written = sql(
        [
            ch.SetTableComment(KIDS, None, "kids"),
            ch.RenameTable(KIDS, QName("Young")),
            ch.DropTable(replace(KIDS_TABLE, name=QName("Young"))),
        ],
        schema(KIDS_TABLE),
    )
    assert written == ['ALTER TABLE "Kids" RENAME TO "Young"', 'DROP TABLE "Young"']


def test_a_foreign_key_goes_before_the_table_it_references_even_if_its_table_goes_later(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """Between the key's drop and its table's, the referenced table goes: the key must go first.
    Its index and comments need not be written (nothing in between needs them gone, and the
    table's drop takes them). The script runs on PostgreSQL."""
    kids = replace(KIDS_TABLE, foreign_keys=(FK,))
    toy_with_comment = replace(TOY, comment="old")
    kids = replace(kids, columns=(kids.columns[0], toy_with_comment, kids.columns[2]))
    written = sql(
        [
            ch.DropConstraint(KIDS, FK),
            ch.DropIndex(KIDS_TABLE.indexes[0]),
            commented(toy_with_comment, "new"),
            ch.DropTable(PARENT),
            ch.DropTable(kids),
        ],
        schema(PARENT, kids),
    )
    assert written == [
        'ALTER TABLE "Kids" DROP CONSTRAINT kids_parent',
        'DROP TABLE "Parent"',
        'DROP TABLE "Kids"',
    ]
    db = engine_db("postgres")
    db.execute(
        [
            'CREATE TABLE "Parent" (id int PRIMARY KEY)',
            'CREATE TABLE "Kids" ("Id" int NOT NULL CONSTRAINT kids_parent REFERENCES "Parent",'
            ' "Toy" text, age int)',
            'CREATE INDEX kids_toy ON "Kids" ("Toy")',
            'COMMENT ON COLUMN "Kids"."Toy" IS \'old\'',
        ]
    )
    db.execute(written)
    assert db.catalog().names("tables") == []


def test_a_type_change_before_another_table_goes_is_not_written() -> None:
    """Only removals lie between it and its table's drop: the change (which could fail on the
    table's rows) has no effect anything needs."""
    written = sql(
        [
            ch.AlterColumn(KIDS, TOY, replace(TOY, type="VARCHAR(10)")),
            ch.DropTable(PARENT),
            ch.DropTable(KIDS_TABLE),
        ],
        schema(PARENT, KIDS_TABLE),
    )
    assert written == ['DROP TABLE "Parent"', 'DROP TABLE "Kids"']


def test_a_type_change_a_view_in_between_reads_is_still_written() -> None:
    view = View(QName("toys"), 'SELECT "Toy" FROM "Kids"')
    written = sql(
        [
            ch.AlterColumn(KIDS, TOY, replace(TOY, type="VARCHAR(10)")),
            ch.CreateView(view),
            ch.DropView(view),
            ch.DropTable(KIDS_TABLE),
        ],
        schema(KIDS_TABLE),
    )
    assert written[0] == 'ALTER TABLE "Kids" ALTER COLUMN "Toy" TYPE varchar(10)'
    assert written[-1] == 'DROP TABLE "Kids"'


def test_a_foreign_key_column_is_dropped_before_the_table_it_references() -> None:
    """DROP TABLE of the referenced table needs the key gone, and a column may carry one."""
    kids = replace(KIDS_TABLE, foreign_keys=(FK,))
    written = sql(
        [
            ch.DropColumn(KIDS, kids.columns[0]),
            ch.DropTable(PARENT),
            ch.DropTable(replace(KIDS_TABLE, columns=KIDS_TABLE.columns[1:])),
        ],
        schema(PARENT, kids),
    )
    assert written == [
        'ALTER TABLE "Kids" DROP COLUMN "Id"',
        'DROP TABLE "Parent"',
        'DROP TABLE "Kids"',
    ]


# -- steps of one column merged ----------------------------------------------------------------


def test_steps_of_one_column_of_a_mixed_case_table_are_one_alter() -> None:
    longer = replace(TOY, type="VARCHAR(10)")
    written = sql(
        [
            ch.AlterColumn(KIDS, TOY, longer),
            ch.AlterColumn(KIDS, longer, replace(longer, nullable=False)),
        ],
        schema(KIDS_TABLE),
    )
    assert written == [
        'ALTER TABLE "Kids" ALTER COLUMN "Toy" TYPE varchar(10), ALTER COLUMN "Toy" SET NOT NULL'
    ]


# -- a serial column's sequence kept ---------------------------------------------------------

SERIALS = Table(
    QName("Orders"),
    (Column("Id", "INT", nullable=False, auto=AutoKind.SERIAL), Column("b", "INT")),
)
SERIAL = SERIALS.columns[0]
PLAIN = replace(SERIAL, auto=None)
SEQ = Sequence(QName("Orders_Id_seq"), "AS integer", owned_by='"Orders"."Id"')


def test_a_kept_serial_sequence_is_found_after_other_changes_and_in_mixed_case() -> None:
    """DROP DEFAULT leaves the sequence: after an unrelated change, only the default goes."""
    written = sql(
        [
            ch.AddColumn(SERIALS.name, Column("c", "INT")),
            ch.AlterColumn(SERIALS.name, SERIAL, PLAIN),
            ch.CreateSequence(SEQ),
        ],
        schema(SERIALS),
    )
    assert written == [
        'ALTER TABLE "Orders" ADD COLUMN c integer',
        'ALTER TABLE "Orders" ALTER COLUMN "Id" DROP DEFAULT',
    ]


def test_a_sequence_of_another_name_is_created_not_taken_for_the_serials() -> None:
    other = replace(SEQ, name=QName("ids"))
    written = sql(
        [ch.AlterColumn(SERIALS.name, SERIAL, PLAIN), ch.CreateSequence(other)],
        schema(SERIALS),
    )
    assert written[-1] == 'CREATE SEQUENCE ids AS integer OWNED BY "Orders"."Id"'
    assert 'ALTER TABLE "Orders" ALTER COLUMN "Id" DROP DEFAULT' in written[0]


# -- statements ----------------------------------------------------------------------------


def test_schema_created_with_its_name_quoted() -> None:
    assert sql([ch.CreateNamespace("App")], Schema(PG)) == ['CREATE SCHEMA "App"']


def test_a_serial_added_after_it_was_retyped_gets_its_own_type() -> None:
    column = Column("n", "BIGINT", nullable=False, auto=AutoKind.SERIAL)
    written = sql([ch.AddColumn(KIDS, column)], schema(KIDS_TABLE))
    assert written == [
        'ALTER TABLE "Kids" ADD COLUMN n serial',
        'ALTER TABLE "Kids" ALTER COLUMN n TYPE bigint',
    ]


def test_sql_bodied_procedure_relaxes_body_checks_first() -> None:
    """A LANGUAGE sql procedure may name tables made later in the script."""
    proc = Opaque(
        "procedure",
        "tidy()",
        'CREATE PROCEDURE tidy() LANGUAGE sql AS $$ DELETE FROM "Kids" $$',
        "DROP PROCEDURE tidy()",
    )
    written = sql([ch.CreateOpaque(proc), ch.CreateTable(KIDS_TABLE)], Schema(PG))
    assert written[:2] == ["SET check_function_bodies = false", proc.definition]
