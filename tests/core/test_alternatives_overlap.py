"""A later step that really depends on what an alternative keeps must still be checked.

`apply_alternatives` replays the rest of the down only when a later step touches what the
alternative names (bot/core/alternatives.py, `_Later.touched`). Each case here is a down whose
data-losing step cannot be kept, because a later step depends on the kept object in one
particular way; the keep must be passed over for the archive. Each case also runs without
that later step, where keep is chosen: the later step is what makes the difference.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import changes as ch
from bot.core.alternatives import Strategy, apply_alternatives
from bot.core.model import Dialect, QName, Schema
from bot.core.replay import replay_sql

PG = Dialect.POSTGRES


def _schema(sql: str) -> Schema:
    return replay_sql(sql, PG).schema


def _chosen(steps: list[ch.Change], schema: Schema) -> list[Strategy]:
    """The strategy chosen for the first step (a later step may lose data too)."""
    return [
        a.strategy for a in apply_alternatives(steps, schema, "t1")[2] if a.replaces == steps[0]
    ]


def _column(schema: Schema, table: str, name: str) -> ch.DropColumn:
    found = schema.table(QName(table))
    assert found is not None
    column = found.column(name, PG)
    assert column is not None
    return ch.DropColumn(QName(table), column)


def _table(schema: Schema, name: str) -> ch.DropTable:
    found = schema.table(QName(name))
    assert found is not None
    return ch.DropTable(found)


def _assert_keep_passed_over(first: ch.Change, later: list[ch.Change], schema: Schema) -> None:
    assert _chosen([first], schema) == [Strategy.KEEP]
    assert _chosen([first, *later], schema) == [Strategy.ARCHIVE]


def test_a_column_added_again_after_the_table_is_renamed() -> None:
    # names differ (t.v, u.v): only the rename, a step on the whole table, links them
    schema = _schema("CREATE TABLE t (id int PRIMARY KEY, v text)")
    drop = _column(schema, "t", "v")
    later: list[ch.Change] = [
        ch.RenameTable(QName("t"), QName("u")),
        ch.AddColumn(QName("u"), replace(drop.column, type="int")),
    ]
    _assert_keep_passed_over(drop, later, schema)


def test_another_column_renamed_to_the_kept_columns_name() -> None:
    schema = _schema("CREATE TABLE t (id int PRIMARY KEY, v text, w text)")
    drop = _column(schema, "t", "v")
    _assert_keep_passed_over(drop, [ch.RenameColumn(QName("t"), "w", "v")], schema)


def test_the_type_of_a_kept_column_is_dropped_later() -> None:
    # the enum's name is only in the column's type: type words are names of types
    schema = _schema(
        "CREATE TYPE mood AS ENUM ('ok', 'sad'); CREATE TABLE t (id int PRIMARY KEY, v mood)"
    )
    enum = schema.enums[("", "mood")]
    _assert_keep_passed_over(_column(schema, "t", "v"), [ch.DropEnum(enum)], schema)


def test_the_sequence_a_kept_columns_default_reads_is_dropped_later() -> None:
    schema = _schema(
        "CREATE SEQUENCE n_seq; "
        "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT nextval('n_seq'))"
    )
    sequence = schema.sequences[("", "n_seq")]
    _assert_keep_passed_over(_column(schema, "t", "n"), [ch.DropSequence(sequence)], schema)


_PARENT_CHILD = (
    "CREATE TABLE p (id int PRIMARY KEY, code text NOT NULL);"
    "CREATE UNIQUE INDEX p_code_key ON p (code);"
    "CREATE TABLE c (id int PRIMARY KEY,"
    " p_id int REFERENCES p (id) ON DELETE CASCADE,"
    " p_code text REFERENCES p (code) ON DELETE CASCADE)"
)


def test_a_kept_tables_foreign_key_loses_its_parent_table() -> None:
    # keep leaves c's cascading keys in place: they hold only a word of the parent's name
    schema = _schema(_PARENT_CHILD)
    parent = _table(schema, "p")
    _assert_keep_passed_over(_table(schema, "c"), [parent], schema)


def test_a_kept_tables_foreign_key_loses_the_primary_key_it_references() -> None:
    schema = _schema(_PARENT_CHILD)
    table = schema.table(QName("p"))
    assert table is not None and table.primary_key is not None
    later: list[ch.Change] = [ch.DropConstraint(QName("p"), table.primary_key)]
    _assert_keep_passed_over(_table(schema, "c"), later, schema)


def test_a_kept_tables_foreign_key_loses_the_unique_index_it_references() -> None:
    # dropping an index may take a key away when the index is unique
    schema = _schema(_PARENT_CHILD)
    table = schema.table(QName("p"))
    assert table is not None
    index = next(i for i in table.indexes if i.name == "p_code_key")
    _assert_keep_passed_over(_table(schema, "c"), [ch.DropIndex(index)], schema)


@pytest.mark.parametrize("unique", [False, True])
def test_an_index_on_the_parent_is_harmless_unless_it_is_the_key(unique: bool) -> None:
    # the counterpart of the case above: a plain index over the key column is not the key
    schema = _schema(
        _PARENT_CHILD + "; CREATE " + ("UNIQUE " if unique else "") + "INDEX p_id_x ON p (id)"
    )
    table = schema.table(QName("p"))
    assert table is not None
    index = next(i for i in table.indexes if i.name == "p_id_x")
    expected = [Strategy.KEEP]  # the primary key still holds the reference either way
    assert _chosen([_table(schema, "c"), ch.DropIndex(index)], schema) == expected
