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
