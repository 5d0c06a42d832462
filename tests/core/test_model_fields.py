"""model.with_fields: a table with some fields replaced, as dataclasses.replace gives it,
while the name lookups of its columns stay right."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.model import Column, Dialect, Index, IndexPart, QName, Table, with_fields

USERS = Table(QName("users"), (Column("id", "integer", False), Column("Email", "text")))


@pytest.mark.parametrize("dialect", [Dialect.POSTGRES, Dialect.MYSQL])
def test_new_columns_are_found_by_name_and_old_ones_are_not(dialect: Dialect) -> None:
    assert USERS.column("id", dialect) is not None  # the lookup is built on the old table
    renamed = with_fields(USERS, columns=(Column("user_id", "integer", False),))
    assert renamed.column("user_id", dialect) == Column("user_id", "integer", False)
    assert renamed.column("id", dialect) is None
    assert renamed == replace(USERS, columns=(Column("user_id", "integer", False),))


def test_other_fields_keep_the_columns_and_equal_what_replace_gives() -> None:
    index = Index("users_email", QName("users"), (IndexPart("Email"),))
    indexed = with_fields(USERS, indexes=(index,), comment="people")
    assert indexed == replace(USERS, indexes=(index,), comment="people")
    assert indexed.column("email", Dialect.MYSQL) is USERS.columns[1]
    assert USERS.indexes == () and USERS.comment is None  # the original is left as it was


def test_a_field_the_table_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="colums"):
        with_fields(USERS, colums=())


def _added(table: Table, column: Column) -> Table:
    return table.with_column_added(column, (*table.columns, column))


@pytest.mark.parametrize("dialect", [Dialect.POSTGRES, Dialect.MYSQL])
def test_tables_added_to_from_one_past_share_lookups_and_each_finds_only_its_own(
    dialect: Dialect,
) -> None:
    # the lookups are shared by the tables a column was added to (20,000 ADD COLUMNs copied
    # them every time), so branches from one table must not see each other's columns
    base = Table(QName("t"), (Column("id", "integer", False),))
    assert base.column("id", dialect) is not None  # the lookups are built here
    bio, age = Column("bio", "text"), Column("age", "integer")
    with_bio, with_age = _added(base, bio), _added(base, age)
    assert with_bio.column("bio", dialect) is bio and with_bio.column("age", dialect) is None
    assert with_age.column("age", dialect) is age and with_age.column("bio", dialect) is None
    assert base.column("bio", dialect) is None and base.column("age", dialect) is None

    # the same name added again on another branch, as another column: each gets its own
    other_bio = Column("bio", "varchar(10)")
    again = _added(base, other_bio)
    assert again.column("bio", dialect) is other_bio
    assert with_bio.column("bio", dialect) is bio
    longer = _added(with_bio, age)
    assert longer.column("age", dialect) is age and longer.column("bio", dialect) is bio
    assert [c.name for c in longer.columns] == ["id", "bio", "age"]
    # ... also where it stands elsewhere: the later branch must not move the first one's entry
    x = Column("x", "integer")
    far = _added(_added(base, Column("y", "integer")), x)
    near = _added(base, Column("x", "text"))
    assert far.column("x", dialect) is x and near.column("x", dialect) is near.columns[1]
    # a column put first moves every position: that table builds lookups of its own
    first = base.with_column_added(age, (age, *base.columns))
    assert first.column("age", dialect) is age and first.column("id", dialect) is not None
