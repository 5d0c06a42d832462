"""The `rollback-plan` command: stable output, exit codes, one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "shop"


def write(directory: Path, files: dict[str, str | bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return directory


def test_diff_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "diff",
            "--from-dir",
            str(EXAMPLES / "after"),
            "--to-dir",
            str(EXAMPLES / "before"),
            "--dialect",
            "postgres",
            "--format",
            "json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"dialect", "statements", "unmodelled"}
    assert out["dialect"] == "postgres" and out["method"] == "inversion" and out["complete"]
    sqls = [s["sql"] for s in out["statements"]]
    assert "ALTER TABLE customers RENAME COLUMN full_name TO name" in sqls
    assert "DROP TABLE loyalty_tiers" in sqls
    assert all(set(s) == {"sql", "change", "object"} for s in out["statements"])


@pytest.mark.parametrize(
    ("dialect", "first"),
    [
        ("postgres", "SET lock_timeout = '5s'"),
        ("mysql", "SET SESSION lock_wait_timeout = 5"),
        ("sqlite", None),  # one writer: no lock queue to protect
    ],
)
def test_diff_sets_its_timeouts_first(
    dialect: str, first: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["diff", "--from-dir", str(EXAMPLES / "after"), "--to-dir", str(EXAMPLES / "before")]
    assert main([*args, "--dialect", dialect]) == 0
    out = capsys.readouterr().out
    statements = [line for line in out.splitlines() if line and not line.startswith("--")]
    if first is None:
        assert "timeout" not in out
    else:
        assert statements[0].startswith(first), statements[:3]
    assert main([*args, "--dialect", dialect, "--no-timeouts"]) == 0
    assert "timeout" not in capsys.readouterr().out


def test_schema_prints_create_statements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = write(
        tmp_path / "m",
        {"1_a.up.sql": "CREATE TABLE a (id int PRIMARY KEY);", "1_a.down.sql": "DROP TABLE a;"},
    )
    assert main(["schema", "--dir", str(d), "--dialect", "sqlite"]) == 0
    assert "CREATE TABLE a" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"1.sql": b"\x00\x01binary"}, "1.sql: binary file"),
        ({"1.sql": b"CREATE TABLE \xff (a int);"}, "1.sql: not valid UTF-8"),
        ({"1_a.up.sql": "SELECT 1;", "1_b.up.sql": "SELECT 1;"}, "version 1 appears twice"),
    ],
)
def test_bad_directories_give_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str | bytes], message: str
) -> None:
    d = write(tmp_path / "m", files)
    assert main(["schema", "--dir", str(d), "--dialect", "postgres"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("target", ["secret.txt", "missing.sql"])
def test_a_symlinked_migration_is_refused_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """As the git reader does: a link out of the directory would print another file's text;
    a dangling one is said too, never a silent gap."""
    (tmp_path / "secret.txt").write_text("CREATE TABLE leaked_secret (id int);")
    d = write(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id int);"})
    (d / "2_b.sql").symlink_to(tmp_path / target)
    assert main(["schema", "--dir", str(d), "--dialect", "postgres"]) == 2
    out, err = capsys.readouterr()
    assert "leaked_secret" not in out + err
    assert "2_b.sql: symbolic link, not followed" in err and err.count("\n") == 1


def test_an_empty_directory_is_the_empty_database_to_go_back_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = write(tmp_path / "new", {"1.sql": "CREATE TABLE a (id int);"})
    empty = write(tmp_path / "empty", {})
    assert main(["schema", "--dir", str(empty), "--dialect", "postgres"]) == 0
    out, err = capsys.readouterr()
    assert "CREATE" not in out and "no migrations: the empty database" in err
    args = ["diff", "--from-dir", str(newer), "--to-dir", str(empty), "--dialect", "postgres"]
    assert main(args) == 0
    assert "DROP TABLE a;" in capsys.readouterr().out
    # the deployed side must have migrations: an empty --from-dir is a mistake, said so
    args = ["diff", "--from-dir", str(empty), "--to-dir", str(newer), "--dialect", "postgres"]
    assert main(args) == 2
    assert "no .sql migrations found" in capsys.readouterr().err


def test_missing_directory_and_unknown_dialect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--dir", str(tmp_path / "nope"), "--dialect", "postgres"]) == 2
    assert "no such directory" in capsys.readouterr().err
    write(tmp_path / "m", {"1.sql": "CREATE TABLE a (id int);"})
    assert main(["schema", "--dir", str(tmp_path / "m"), "--dialect", "oracle"]) == 2
    assert "unknown dialect 'oracle'" in capsys.readouterr().err


def test_malformed_sql_is_reported_and_marks_output_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = write(tmp_path / "old", {"1.sql": "CREATE TABLE a (id int);"})
    newer = write(
        tmp_path / "new",
        {
            "1.sql": "CREATE TABLE a (id int);",
            "2.sql": "ALTER TABLE a ADD COLUMN b int;\nCREATE TABLE (((;",
        },
    )
    code = main(["diff", "--from-dir", str(newer), "--to-dir", str(older), "--dialect", "postgres"])
    captured = capsys.readouterr()
    assert code == 0
    assert "-- INCOMPLETE: 1 statement(s) could not be modelled" in captured.out
    assert "2.sql:2: syntax error" in captured.out
    assert "ALTER TABLE a DROP COLUMN b;" in captured.out
    assert "incomplete" in captured.err


def test_unterminated_quote_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = write(
        tmp_path / "m", {"1.sql": "CREATE TABLE a (id int);\nINSERT INTO a VALUES ('oops);\n"}
    )
    assert main(["schema", "--dir", str(d), "--dialect", "postgres"]) == 0
    out = capsys.readouterr().out
    assert "1.sql:2: cannot split statements: unterminated string" in out


def test_large_seed_file_is_handled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 50 MB file of INSERTs is split, recorded as data, and never parsed row by row."""
    rows = (
        "INSERT INTO a (id, note) VALUES "
        + ",".join(f"({i}, 'row {i:08d}')" for i in range(2000))
        + ";\n"
    )
    seed = rows * (50 * 1024 * 1024 // len(rows) + 1)
    d = write(tmp_path / "m", {"1.sql": "CREATE TABLE a (id int, note text);", "2.sql": seed})
    assert main(["schema", "--dir", str(d), "--dialect", "postgres"]) == 0
    out = capsys.readouterr().out
    assert "CREATE TABLE a" in out and "INCOMPLETE" not in out


@pytest.mark.parametrize(
    "fmt",
    [
        "atlas",
        "golang-migrate",
        "goose",
        "dbmate",
        "flyway",
        "liquibase",
        "sqitch",
        "diesel",
        "plain",
    ],
)
def test_schema_and_diff_read_every_layout_plan_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    from tests.planner.test_formats import ADD_EMAIL, BASE, LAYOUTS, RIGHT_DOWN, tree

    layout = LAYOUTS[fmt]
    prefix = layout.directory + "/"
    older = write(tmp_path / "older", {k[len(prefix) :]: v for k, v in tree(layout, BASE).items()})
    newer_files = tree(layout, [*BASE, ("add_email", ADD_EMAIL, RIGHT_DOWN)])
    newer = write(tmp_path / "newer", {k[len(prefix) :]: v for k, v in newer_files.items()})
    assert main(["schema", "--dir", str(newer), "--dialect", "sqlite"]) == 0
    schema = capsys.readouterr().out
    assert "CREATE TABLE users" in schema and "CREATE TABLE posts" in schema
    assert "email" in schema
    args = ["diff", "--from-dir", str(newer), "--to-dir", str(older), "--dialect", "sqlite"]
    assert main([*args, "--layout", fmt]) == 0
    assert capsys.readouterr().out == (
        "DROP INDEX users_name_idx;\nALTER TABLE users DROP COLUMN email;\n"
    )
