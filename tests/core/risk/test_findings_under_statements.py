"""Each finding is shown under the statement that does what it warns about: a change rendered
as several statements, the statements around it, and a change with no statement of its own."""

from __future__ import annotations

import pytest

from bot.core import changes as ch
from bot.core.down import compute_down
from bot.core.model import Column, Dialect, QName, Table
from bot.core.render import Rendered
from bot.core.render.session import Timeouts, preamble
from bot.core.replay import replay_sql
from bot.core.risk import Category, Finding, Level, Verdict
from bot.core.risk.analyse import Assessment, StepRisk, assess, statement_findings
from tests.core.risk.helpers import rollback

ENUM = "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE users (id int, email text, m mood);"
RECREATE = [
    "ALTER TYPE mood RENAME TO mood__old",
    "CREATE TYPE mood AS ENUM ('a', 'b')",
    "ALTER TABLE users ALTER COLUMN m TYPE mood USING m::text::mood",
    "DROP TYPE mood__old",
]


@pytest.mark.parametrize(
    ("history", "migration", "index"),
    [
        (ENUM, "ALTER TYPE mood ADD VALUE 'c'; ALTER TABLE users ADD COLUMN bio text;", []),
        (
            ENUM + "CREATE INDEX users_email ON users (email);",
            "DROP INDEX users_email; ALTER TYPE mood ADD VALUE 'c'; "
            "ALTER TABLE users ADD COLUMN bio text;",
            ["CREATE INDEX users_email ON users (email)"],
        ),
    ],
    ids=["enum-last", "enum-between"],
)
def test_a_re_created_enum_between_other_statements_keeps_its_findings_on_its_alter_table(
    history: str, migration: str, index: list[str]
) -> None:
    down, assessment = rollback("postgres", history, migration)
    attached = statement_findings(assessment, down.statements)

    assert [(r.sql, sorted(f.rule for f in fs)) for r, fs in attached] == [
        ("ALTER TABLE users DROP COLUMN bio", ["drop-breaks-newer-app", "drop-column"]),
        (RECREATE[0], []),
        (RECREATE[1], []),
        (RECREATE[2], ["pg-table-rewrite", "type-cast-may-fail"]),
        (RECREATE[3], []),
        *[(sql, ["index-without-concurrently"]) for sql in index],
    ]


def test_a_change_folded_into_a_sqlite_rebuild_is_shown_once_on_that_rebuild() -> None:
    # going back restores NOT NULL (a rebuild) and a CHECK, which that rebuild already does
    newer = "CREATE TABLE users (id int PRIMARY KEY, email text, age int, bio text NOT NULL);"
    older = "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, age int CHECK (age > 0));"
    schema = replay_sql(newer, Dialect.SQLITE).schema
    down = compute_down(schema, replay_sql(older, Dialect.SQLITE).schema)
    assessment = assess(down.changes, schema, statements=down.statements)
    attached = statement_findings(assessment, down.statements)
    check = [s for s in assessment.steps if isinstance(s.change, ch.AddConstraint)]
    assert [f.rule for s in check for f in s.findings] == ["add-check", "sqlite-table-rebuild"]

    carrying = [(i, r) for i, (r, fs) in enumerate(attached) if set(check[0].findings) & set(fs)]
    # documented: the rebuild's CREATE TABLE of its new table, which the copy then fills
    # (fuzz_cli seed 6838: at the rebuild's end, no reader looks for it there)
    ((at, carrier),) = carrying
    rebuild = [i for i, r in enumerate(down.statements) if r.object.startswith("users.email")]
    assert at in rebuild
    assert carrier.sql.startswith("CREATE TABLE _rp_new_users")
    assert sum(len(fs) for _, fs in attached) == len(assessment.findings())


_USERS = Table(QName("users"), (Column("id", "int"), Column("name", "text")))


@pytest.mark.parametrize(
    "change",
    [
        ch.RenameColumn(QName("users"), "name", "full_name"),
        ch.DropTable(_USERS),
        ch.RenameTable(QName("users"), QName("people")),
    ],
    ids=["column", "table", "renamed-table"],
)
def test_a_change_without_a_statement_is_shown_under_the_one_before_about_its_table(
    change: ch.Change,
) -> None:
    # e.g. a change a rebuild of the same table already did
    first = ch.AddColumn(QName("users"), Column("bio", "text"))
    rendered = [Rendered.of("ALTER TABLE users ADD COLUMN bio text", first)]
    finding = Finding("x", Category.COMPATIBILITY, Level.WARNING, "breaks the app", "users")
    assessment = Assessment((StepRisk(first, ()), StepRisk(change, (finding,))), (), Verdict.SAFE)
    assert statement_findings(assessment, rendered) == [(rendered[0], (finding,))]


def test_a_change_without_a_statement_skips_statements_about_other_tables() -> None:
    first = ch.AddColumn(QName("users"), Column("bio", "text"))
    other = ch.AddColumn(QName("orders"), Column("note", "text"))
    rendered = [
        Rendered.of("ALTER TABLE users ADD COLUMN bio text", first),
        Rendered.of("ALTER TABLE orders ADD COLUMN note text", other),
    ]
    finding = Finding("x", Category.COMPATIBILITY, Level.WARNING, "breaks the app", "users")
    steps = (
        StepRisk(first, ()),
        StepRisk(other, ()),
        StepRisk(ch.RenameColumn(QName("users"), "name", "full_name"), (finding,)),
    )
    attached = statement_findings(Assessment(steps, (), Verdict.SAFE), rendered)
    assert attached == [(rendered[0], (finding,)), (rendered[1], ())]


def test_a_loss_read_from_the_sql_stays_on_its_statement_after_the_session_preamble() -> None:
    before = replay_sql("CREATE TABLE users (id int); CREATE TABLE t (id int);", Dialect.POSTGRES)
    shipped = [
        Rendered("DROP TABLE t", "drop_table", "t"),
        Rendered("ALTER TABLE users ADD COLUMN bio text", "add_column", "users.bio"),
        Rendered("ALTER TABLE users ADD COLUMN note text", "add_column", "users.note"),
    ]
    assessment = assess([], before.schema, statements=shipped)
    first = preamble(Dialect.POSTGRES, Timeouts())
    attached = statement_findings(assessment, [*first, *shipped])

    assert len(first) == 2  # the SETs of lock_timeout and statement_timeout
    assert [(r.sql, [f.rule for f in fs]) for r, fs in attached[len(first) :]] == [
        ("DROP TABLE t", ["drop-table"]),
        ("ALTER TABLE users ADD COLUMN bio text", []),
        ("ALTER TABLE users ADD COLUMN note text", []),
    ]
    assert all(fs == () for _, fs in attached[: len(first)])
