"""Rules that ask whether a table holds rows know the tables the down itself created."""

from __future__ import annotations

from bot.core.changes import AddColumn, CreateTable, DropTable, RenameTable
from bot.core.model import Column, Dialect, QName, Table
from bot.core.replay import replay_sql
from bot.core.risk.analyse import assess


def test_tables_the_down_creates_are_empty_until_an_old_table_takes_their_name() -> None:
    before = replay_sql("CREATE TABLE users (id int);", Dialect.POSTGRES).schema
    required = Column("c", "int", nullable=False)
    scratch = Table(QName("scratch"), (Column("id", "int"),))
    changes = [
        CreateTable(scratch),
        RenameTable(QName("scratch"), QName("scratch2")),
        AddColumn(QName("scratch2"), required),  # empty: nothing to fail on
        DropTable(Table(QName("scratch2"), (Column("id", "int"), required))),
        RenameTable(QName("users"), QName("scratch")),
        AddColumn(QName("scratch"), required),  # users' rows: fails
        RenameTable(QName("scratch"), QName("scratch2")),
        AddColumn(QName("scratch2"), Column("d", "int", nullable=False)),  # still users' rows
    ]
    steps = assess(changes, before).steps
    failing = [
        i for i, s in enumerate(steps) if any(f.rule == "add-not-null-column" for f in s.findings)
    ]
    assert failing == [5, 7]
