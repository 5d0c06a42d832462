"""The exact PostgreSQL script for enum changes: values added in place at their target
position, values renamed, and a re-created type that every column using it (in any array depth,
under any spelling of its name) follows.

Each script is compared as text; the first ones also run on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core import changes as ch
from bot.core.model import Column, Dialect, EnumType, QName, Schema, Table, qkey
from bot.core.render.postgres import render
from bot.engines import ScratchDatabase

PG = Dialect.POSTGRES
MOOD = EnumType(QName("mood"), ("sad", "happy"))


def sql(changes: list[ch.Change], enums: tuple[EnumType, ...], *tables: Table) -> list[str]:
    before = Schema(
        PG,
        namespaces=tuple(sorted({e.name.schema for e in enums if e.name.schema})),
        tables={qkey(t.name, PG): t for t in tables},
        enums={qkey(e.name, PG): e for e in enums},
    )
    return [s.sql for s in render(changes, before)]


def enum_labels(db: ScratchDatabase, name: str) -> list[str]:
    rows = db.query(
        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
        f" WHERE t.typname = '{name}' ORDER BY e.enumsortorder"
    )
    return [r[0] for r in rows]


def test_values_added_around_kept_ones_land_in_the_target_order(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    """First before the old first, next ones after their left neighbour, even a new one."""
    target = ("angry", "sad", "ok", "meh", "happy", "ecstatic")
    written = sql([ch.AlterEnum(MOOD, EnumType(MOOD.name, target))], (MOOD,))
    assert written == [
        "ALTER TYPE mood ADD VALUE 'angry' BEFORE 'sad'",
        "ALTER TYPE mood ADD VALUE 'ok' AFTER 'sad'",
        "ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok'",
        "ALTER TYPE mood ADD VALUE 'ecstatic' AFTER 'happy'",
    ]
    db = engine_db("postgres")
    db.execute(["CREATE TYPE mood AS ENUM ('sad', 'happy')", *written])
    assert enum_labels(db, "mood") == list(target)


def test_a_value_added_after_a_new_first_value() -> None:
    target = ("angry", "calm", "sad", "happy")
    assert sql([ch.AlterEnum(MOOD, EnumType(MOOD.name, target))], (MOOD,)) == [
        "ALTER TYPE mood ADD VALUE 'angry' BEFORE 'sad'",
        "ALTER TYPE mood ADD VALUE 'calm' AFTER 'angry'",
    ]


def test_values_added_to_an_empty_enum_need_no_position(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    empty = EnumType(QName("mood"), ())
    written = sql([ch.AlterEnum(empty, EnumType(empty.name, ("a", "b")))], (empty,))
    assert written == ["ALTER TYPE mood ADD VALUE 'a'", "ALTER TYPE mood ADD VALUE 'b' AFTER 'a'"]
    db = engine_db("postgres")
    db.execute(["CREATE TYPE mood AS ENUM ()", *written])
    assert enum_labels(db, "mood") == ["a", "b"]


def test_a_value_moved_to_another_position_is_not_taken_for_a_rename() -> None:
    """`sad` is still there (second now): nothing is renamed; the order change re-creates."""
    written = sql([ch.AlterEnum(MOOD, EnumType(MOOD.name, ("glad", "sad")))], (MOOD,))
    assert written == [
        "ALTER TYPE mood RENAME TO mood__old",
        "CREATE TYPE mood AS ENUM ('glad', 'sad')",
        "DROP TYPE mood__old",
    ]


def test_a_new_label_in_place_of_a_gone_one_is_a_rename() -> None:
    written = sql([ch.AlterEnum(MOOD, EnumType(MOOD.name, ("sad", "it's ok")))], (MOOD,))
    assert written == ["ALTER TYPE mood RENAME VALUE 'happy' TO 'it''s ok'"]


def test_recreated_type_in_a_schema_moves_columns_of_every_array_depth() -> None:
    """Quoted, schema-qualified and spaced spellings of the type all follow; a type of the same
    name in another schema stays."""
    mood = EnumType(QName("Mood", "app"), ("sad", "happy"))
    table = Table(
        QName("t", "app"),
        (
            Column("m", '"app"."Mood"', default="'sad'"),
            Column("ms", '"Mood"[]'),
            Column("spaced", '"app"."Mood" []'),
            Column("deep", '"Mood"[][]'),
            Column("other", 'other."Mood"'),
            Column("folded", "app.mood"),
        ),
    )
    written = sql([ch.AlterEnum(mood, EnumType(mood.name, ("happy",)))], (mood,), table)
    assert written == [
        'ALTER TYPE app."Mood" RENAME TO "Mood__old"',
        "CREATE TYPE app.\"Mood\" AS ENUM ('happy')",
        "ALTER TABLE app.t ALTER COLUMN m DROP DEFAULT,"
        ' ALTER COLUMN m TYPE app."Mood" USING m::text::app."Mood",'
        " ALTER COLUMN m SET DEFAULT 'sad',"
        ' ALTER COLUMN ms TYPE app."Mood"[] USING ms::text[]::app."Mood"[],'
        ' ALTER COLUMN spaced TYPE app."Mood"[] USING spaced::text[]::app."Mood"[],'
        ' ALTER COLUMN deep TYPE app."Mood"[][] USING deep::text[][]::app."Mood"[][]',
        'DROP TYPE app."Mood__old"',
    ]


def test_an_unqualified_enum_is_the_one_in_public() -> None:
    table = Table(
        QName("t"),
        (Column("a", "public.mood"), Column("b", "other.mood"), Column("c", "MOOD")),
    )
    written = sql([ch.AlterEnum(MOOD, EnumType(MOOD.name, ("happy", "sad")))], (MOOD,), table)
    assert written[2] == (
        "ALTER TABLE t ALTER COLUMN a TYPE mood USING a::text::mood,"
        " ALTER COLUMN c TYPE mood USING c::text::mood"
    )


def test_a_type_name_with_a_quote_inside_is_recognised() -> None:
    odd = EnumType(QName('my"mood'), ("sad", "happy"))
    table = Table(QName("t"), (Column("a", '"my""mood"'),))
    written = sql([ch.AlterEnum(odd, EnumType(odd.name, ("happy",)))], (odd,), table)
    assert written[2] == 'ALTER TABLE t ALTER COLUMN a TYPE "my""mood" USING a::text::"my""mood"'
