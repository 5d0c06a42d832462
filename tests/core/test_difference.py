"""Every difference the schema diff can report is worded, the same object named, by both the
author's-down verdict and live drift: a change type the diff learns is described in both."""

from __future__ import annotations

from bot.core import changes as ch
from bot.core.author_down import describe
from bot.core.diff import diff
from bot.core.difference import Side, difference
from bot.core.model import Dialect
from bot.core.replay import replay_sql
from bot.live.drift import _drift_sentence

BEFORE = """
CREATE SCHEMA audit;
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE SEQUENCE tickets START 10;
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, score int DEFAULT 0,
    CONSTRAINT score_positive CHECK (score >= 0));
CREATE INDEX users_email ON users (email);
CREATE VIEW emails AS SELECT email FROM users;
CREATE FUNCTION one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE gone (id int);
CREATE TYPE colour AS ENUM ('red');
CREATE SEQUENCE old_numbers;
CREATE FUNCTION zero() RETURNS int LANGUAGE sql AS $$ SELECT 0 $$;
COMMENT ON TABLE users IS 'people';
"""

AFTER = """
CREATE TYPE mood AS ENUM ('ok', 'sad', 'glad');
CREATE SEQUENCE tickets START 20;
CREATE TABLE users (id int PRIMARY KEY, email varchar(200), extra int,
    CONSTRAINT extra_positive CHECK (extra >= 0));
CREATE INDEX users_extra ON users (extra);
CREATE VIEW emails AS SELECT email FROM users WHERE id > 0;
CREATE VIEW extras AS SELECT extra FROM users;
CREATE FUNCTION one() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;
CREATE FUNCTION two() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;
CREATE TABLE fresh (id int);
CREATE SCHEMA reports;
CREATE TYPE size AS ENUM ('s');
CREATE SEQUENCE new_numbers;
"""


def _changes() -> list[ch.Change]:
    after = replay_sql(AFTER, Dialect.POSTGRES).schema
    before = replay_sql(BEFORE, Dialect.POSTGRES).schema
    return list(diff(after, before))


def test_the_fixture_covers_every_kind_of_difference() -> None:
    kinds = {type(c) for c in _changes()}
    # a change type the diff emits that is missing here makes the next test meaningless
    assert kinds >= {
        ch.CreateTable, ch.DropTable, ch.AddColumn, ch.DropColumn, ch.AlterColumn,
        ch.CreateIndex, ch.DropIndex, ch.AddConstraint, ch.DropConstraint, ch.CreateView,
        ch.DropView, ch.AlterEnum, ch.AlterSequence, ch.CreateOpaque,
        ch.DropOpaque, ch.ReplaceOpaque, ch.SetTableComment, ch.CreateNamespace,
        ch.DropNamespace, ch.CreateEnum, ch.DropEnum, ch.CreateSequence, ch.DropSequence,
    }  # fmt: skip


def test_both_reports_name_the_same_object_for_every_difference() -> None:
    for change in _changes():
        d = difference(change)
        assert d is not None, change
        drift = _drift_sentence(change)
        assert d.subject in drift, (change, drift)
        assert "(the history needs:" not in drift, drift


def test_the_author_down_and_drift_word_a_column_change_from_their_own_side() -> None:
    after = replay_sql("CREATE TABLE t (a varchar(10) NOT NULL DEFAULT 'x');", Dialect.POSTGRES)
    before = replay_sql("CREATE TABLE t (a text);", Dialect.POSTGRES)
    (change,) = diff(after.schema, before.schema)
    assert describe(after.schema, before.schema) == [
        "leaves column t.a NOT NULL, as VARCHAR(10) (was TEXT), with default 'x' (was none)"
    ]
    assert _drift_sentence(change) == (
        "column t.a differs on the live database: NOT NULL (history: nullable),"
        " type VARCHAR(10) (history: TEXT), default 'x' (history: none)"
    )


def test_sides() -> None:
    after = replay_sql("CREATE TABLE kept (id int); CREATE TABLE extra (id int);", Dialect.SQLITE)
    before = replay_sql("CREATE TABLE kept (id int); CREATE TABLE lost (id int);", Dialect.SQLITE)
    sides = {d.subject: d.side for c in diff(after.schema, before.schema) if (d := difference(c))}
    assert sides == {"table extra": Side.EXTRA, "table lost": Side.MISSING}
    assert describe(after.schema, before.schema) == [
        "leaves table extra in place",
        "does not restore table lost",
    ]
