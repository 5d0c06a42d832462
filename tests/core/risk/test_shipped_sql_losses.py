"""Data loss read from the SQL that ships: a rebuild's copy is understood however its names are
written, and a loss the changes already report is not reported twice."""

from __future__ import annotations

import pytest

from bot.core.changes import DropTable
from bot.core.model import Dialect, QName
from bot.core.render import Rendered
from bot.core.render.session import Timeouts, preamble
from bot.core.replay import replay_sql
from bot.core.risk import Category, Level, Verdict
from bot.core.risk.analyse import assess, sql_losses


def _lost(dialect: Dialect, history: str, statements: list[str]) -> list[tuple[int, str, str]]:
    before = replay_sql(history, dialect).schema
    shipped = [Rendered(sql, "rebuild", "t") for sql in statements]
    return [(i, f.rule, f.object) for i, f in sql_losses(shipped, before)]


def test_a_rebuild_copy_with_quoted_and_qualified_names_loses_only_what_it_leaves_out() -> None:
    # quoted names keep their case and doubled quotes; unquoted ones fold to lower case
    history = 'CREATE SCHEMA app; CREATE TABLE app.xrefs (id int, "We""ird" int, a int, name text);'
    rebuild = [
        'CREATE TABLE app.xrefs_new (id int, "We""ird" int, a int)',
        'INSERT INTO "app"."xrefs_new" (id, "We""ird", a) SELECT ID, "We""ird", A FROM "app".XREFS',
        "DROP TABLE app.xrefs",
        "ALTER TABLE app.xrefs_new RENAME TO xrefs",
    ]
    assert _lost(Dialect.POSTGRES, history, rebuild) == [(2, "drop-column", "app.xrefs.name")]


def test_a_sqlite_rebuild_copy_with_bracket_and_backtick_names() -> None:
    history = "CREATE TABLE t (id int, a int, name text);"
    rebuild = [
        "CREATE TABLE t_new (id int, a int)",
        "  -- copy what the old table holds\nINSERT INTO [t_new] ([id], `a`)\nSELECT [id], `a`\nFROM [t]",
        "DROP TABLE t",
        "ALTER TABLE t_new RENAME TO t",
    ]
    assert _lost(Dialect.SQLITE, history, rebuild) == [(2, "drop-column", "t.name")]
    before = replay_sql(history, Dialect.SQLITE).schema
    ((_, finding),) = sql_losses([Rendered(sql, "rebuild", "t") for sql in rebuild], before)
    assert finding.level is Level.DANGER
    assert finding.message == (
        "the rebuild of t does not copy name: dropping the old table deletes every value of it"
    )


def test_a_loss_the_changes_report_is_not_reported_again_from_the_sql() -> None:
    before = replay_sql("CREATE TABLE users (id int, name text);", Dialect.POSTGRES).schema
    users = before.table(QName("users"))
    assert users is not None
    drop = DropTable(users)
    shipped = [
        Rendered("ALTER TABLE users DROP COLUMN name", "drop_table", "users"),
        Rendered("DROP TABLE users", "drop_table", "users"),
    ]
    assessment = assess([drop], before, statements=shipped)

    lost = [(f.rule, f.object) for f in assessment.findings() if f.category is Category.DATA_LOSS]
    assert lost == [("drop-table", "users")]
    assert assessment.shipped == ()
    assert assessment.verdict is Verdict.REFUSED


HISTORY = (
    "CREATE TABLE t (id int, a int, name text); CREATE TABLE u (id int);"
    "CREATE TABLE v (id int, name text);"
)


@pytest.mark.parametrize(
    ("statements", "lost"),
    [
        (  # a rebuild (its copy in capitals), then the rebuilt table dropped: all lost again
            [
                "CREATE TABLE t_new (id int, a int)",
                "INSERT INTO T_NEW (id, a) SELECT id, a FROM T",
                "DROP TABLE t",
                "ALTER TABLE t_new RENAME TO t",
                "DROP TABLE t",
            ],
            [(2, "drop-column", "t.name"), (4, "drop-table", "t")],
        ),
        (  # tables these statements created hold no rows, renamed or not
            [
                "CREATE TABLE scratch (id int, v numeric(8,2))",
                "ALTER TABLE scratch ALTER COLUMN v TYPE numeric(8,1)",
                "ALTER TABLE scratch RENAME TO scratch2",
                "DROP TABLE scratch2",
                "ALTER TABLE u RENAME TO scratch",
                "DROP TABLE scratch",
            ],
            [(5, "drop-table", "scratch")],
        ),
        (  # but a name freed by a drop and taken by an old table holds that table's rows
            [
                "CREATE TABLE tmp (id int)",
                "DROP TABLE tmp",
                "ALTER TABLE u RENAME TO tmp",
                "DROP TABLE tmp",
            ],
            [(3, "drop-table", "tmp")],
        ),
        (  # the copied-from table renamed before it is dropped
            [
                "CREATE TABLE v_copy (id int)",
                "INSERT INTO v_copy (id) SELECT id FROM v",
                "ALTER TABLE v RENAME TO v_old",
                "DROP TABLE v_old",
            ],
            [(3, "drop-column", "v_old.name")],
        ),
    ],
    ids=["rebuilt-then-dropped", "scratch-tables", "name-reused", "source-renamed"],
)
def test_what_the_shipped_statements_lose_follows_creates_renames_and_drops(
    statements: list[str], lost: list[tuple[int, str, str]]
) -> None:
    assert _lost(Dialect.POSTGRES, HISTORY, statements) == lost


def test_the_session_preamble_does_not_hide_what_follows_it() -> None:
    before = replay_sql(HISTORY, Dialect.POSTGRES).schema
    statements = [*preamble(Dialect.POSTGRES, Timeouts()), Rendered("DROP TABLE u", "x", "u")]
    assert [(i, f.rule, f.object) for i, f in sql_losses(statements, before)] == [
        (len(statements) - 1, "drop-table", "u")
    ]


def test_index_statements_rendered_from_the_down_are_not_parsed_but_still_followed() -> None:
    # the down's own CREATE/DROP INDEX move the replay on through their changes; a statement
    # that says it is one but is not (here it drops a column) is read as SQL all the same
    from bot.core.down import compute_down

    older = replay_sql("CREATE TABLE t (id int PRIMARY KEY, a int, b int)", Dialect.POSTGRES)
    newer = replay_sql(
        "CREATE INDEX t_a ON t (a); ALTER TABLE t ADD COLUMN c int; DROP INDEX t_a;"
        "CREATE INDEX t_b ON t (b)",
        Dialect.POSTGRES,
        older.schema,
    )
    down = compute_down(newer.schema, older.schema, newer.steps)
    kinds = [r.change for r in down.statements]
    assert kinds == ["drop_index", "create_index", "drop_column", "drop_index"]
    found = [
        (i, f.rule, f.object) for i, f in sql_losses(down.statements, newer.schema, down.changes)
    ]
    assert found == [(2, "drop-column", "t.c")]
    # the same when every statement is parsed: the changes only spare the parsing
    assert [(i, f.rule, f.object) for i, f in sql_losses(down.statements, newer.schema)] == found
    posing = [*down.statements]
    posing[1] = Rendered("ALTER TABLE t DROP COLUMN a", "create_index", posing[1].object)
    found = [(i, f.rule, f.object) for i, f in sql_losses(posing, newer.schema, down.changes)]
    assert (1, "drop-column", "t.a") in found
