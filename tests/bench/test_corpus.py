"""The corpus harness (bench/corpus.py) on a tiny history, on each real engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import corpus
from bench.corpus import Outcome
from bot.core.model import Dialect
from bot.engines import ScratchServer
from tests.conftest import SERVER_FIXTURES
from tests.core.render.test_sqlite_gaps import SHADOW_HISTORY, SHADOW_STEP

# golang-migrate files: (name, up, author's down or None)
HISTORY = (
    (
        "1_widgets",
        "CREATE TABLE widgets (id integer PRIMARY KEY, name varchar(50) NOT NULL);",
        "DROP TABLE widgets;",
    ),
    ("2_name_index", "CREATE INDEX widgets_name ON widgets (name);", ""),
    ("3_seed", "INSERT INTO widgets (id, name) VALUES (1, 'a');", None),
    ("4_broken", "ALTER TABLE gadgets ADD COLUMN x integer;", None),
    (
        "5_price",
        "ALTER TABLE widgets ADD COLUMN price integer;",
        "ALTER TABLE widgets DROP COLUMN no_such_column;",
    ),
    (
        "6_orders",
        "CREATE TABLE orders (id integer PRIMARY KEY, widget_id integer,"
        " FOREIGN KEY (widget_id) REFERENCES widgets (id));",
        "DROP TABLE orders;",
    ),
)


def write_history(directory: Path) -> Path:
    directory.mkdir()
    for name, up, down in HISTORY:
        (directory / f"{name}.up.sql").write_text(up + "\n")
        if down is not None:
            (directory / f"{name}.down.sql").write_text(down + "\n")
    return directory


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_each_step_is_judged_on_the_engine(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server: ScratchServer = request.getfixturevalue(SERVER_FIXTURES[dialect])
    directory = write_history(tmp_path / "history")

    result = corpus.run_directory("tiny", directory, Dialect.parse(dialect), server)

    ours = {s.version: s.ours for s in result.steps}
    authors = {s.version: s.author for s in result.steps}
    # a step the engine rejects is skipped, and the history goes on without it
    assert ours["4"].outcome is Outcome.SKIPPED
    assert "gadgets" in ours["4"].detail + ours["4"].statement
    assert ours["3"].outcome is Outcome.UNCHANGED
    assert {v: ours[v].outcome for v in ("1", "2", "5", "6")} == dict.fromkeys(
        ("1", "2", "5", "6"), Outcome.RESTORED
    )
    # the author's downs: right, empty (the index stays), rejected by the engine, right again
    assert authors["1"] is not None and authors["1"].outcome is Outcome.RESTORED
    assert authors["2"] is not None and authors["2"].outcome is Outcome.WRONG
    assert any("widgets_name" in d for d in authors["2"].differences)
    assert authors["5"] is not None and authors["5"].outcome is Outcome.FAILS
    assert "no_such_column" in authors["5"].detail + authors["5"].statement
    # judging a down left the state where it was: the last step still applies and restores
    assert authors["6"] is not None and authors["6"].outcome is Outcome.RESTORED
    figures = corpus.counts(result.steps)
    assert (figures["judged"], figures["restored_pct"], figures["author_restored"]) == (4, 100.0, 2)


def test_unreadable_statement_is_unplannable_not_restored(
    tmp_path: Path, postgres_server: ScratchServer
) -> None:
    directory = tmp_path / "history"
    directory.mkdir()
    (directory / "1_t.up.sql").write_text("CREATE TABLE t (id integer);\n")
    (directory / "2_do.up.sql").write_text(
        "DO $$ BEGIN EXECUTE 'CREATE TABLE made_by_do (id integer)'; END $$;\n"
    )

    result = corpus.run_directory("do", directory, Dialect.POSTGRES, postgres_server)

    step = result.steps[1]
    assert step.ours.outcome is Outcome.UNPLANNABLE
    assert "DO" in step.ours.detail
    # the model can't see the table, so the down leaves it: said, not hidden
    assert step.engine_outcome == Outcome.WRONG.value
    assert not step.claimed_complete


def test_a_down_failing_on_its_own_gap_is_not_silent(
    tmp_path: Path, sqlite_server: ScratchServer
) -> None:
    directory = tmp_path / "history"
    directory.mkdir()
    # a parent rebuilt through a shadow table one statement a file, as Ory Kratos does
    for i, sql in enumerate([*SHADOW_HISTORY, SHADOW_STEP], start=1):
        (directory / f"{i}_shadow.up.sql").write_text(sql + "\n")

    result = corpus.run_directory("shadow", directory, Dialect.SQLITE, sqlite_server)

    last = result.steps[-1]
    # run as the tool runs it the down fails, and the plan said so beforehand
    assert last.ours.outcome is Outcome.FAILS
    assert "no such table: main.p" in last.ours.detail
    assert not last.silent
    assert any("references p, which does not exist" in g for g in last.gaps)
    figures = corpus.counts(result.steps)
    assert (figures["silent"], figures["incomplete_earlier"]) == (0, 0)


def test_command_line_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_history(tmp_path / "history")
    out = tmp_path / "out.json"

    assert corpus.main([f"tiny={directory}@sqlite", "--limit", "2", "--json", str(out)]) == 0

    table = capsys.readouterr().out
    assert "| tiny | sqlite | 2 |" in table
    data = json.loads(out.read_text())
    assert data["totals"]["judged"] == 2
    assert [s["ours"]["outcome"] for s in data["directories"][0]["steps"]] == [
        "restored",
        "restored",
    ]
    # several runs' JSON give one table, the same figures as the run itself
    assert corpus.main(["--report", str(out)]) == 0
    assert capsys.readouterr().out == table

    assert corpus.main([f"tiny={directory}@sqlite", "--no-author", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["totals"]
    assert (figures["judged"], figures["author_judged"]) == (4, 0)


@pytest.mark.parametrize(
    ("files", "fmt"),
    [
        (
            {
                "1_gadgets.sql": "-- +goose Up\nCREATE TABLE gadgets (id integer);\n"
                "-- +goose Down\nDROP TABLE gadgets;\n"
            },
            "goose",
        ),
        (
            {
                "2024-01-01-000000_gadgets/up.sql": "CREATE TABLE gadgets (id integer);\n",
                "2024-01-01-000000_gadgets/down.sql": "DROP TABLE gadgets;\n",
            },
            "diesel",
        ),
        (
            {
                "V1__gadgets.sql": "CREATE TABLE gadgets (id integer);\n",
                "U1__gadgets.sql": "DROP TABLE gadgets;\n",
            },
            "flyway",
        ),
    ],
)
def test_other_layouts_are_read_with_their_downs(
    files: dict[str, str], fmt: str, tmp_path: Path, sqlite_server: ScratchServer
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    result = corpus.run_directory("layout", tmp_path, Dialect.SQLITE, sqlite_server)

    assert result.format == fmt
    [step] = result.steps
    assert step.ours.outcome is Outcome.RESTORED
    assert step.author is not None and step.author.outcome is Outcome.RESTORED
