"""Start-up stays cheap: `rollback-plan --help` and the parser load no heavy stack
(bench/startup.py measures the CPU time; this guards what is imported)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("sqlglot", "git", "jinja2", "yaml", "github", "gitlab", "bot.core.replay", "bot.planner")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(out.stdout.split())


def test_help_and_parser_import_no_heavy_module() -> None:
    loaded = _modules_after(
        "import contextlib, io\n"
        "from bot.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['ci', '--help'])"
    )
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_schema_of_an_empty_directory_never_loads_the_parser(tmp_path: Path) -> None:
    loaded = _modules_after(
        "import contextlib, io\n"
        "from bot.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()) as err:\n"
        f"    code = main(['schema', '--dir', {str(tmp_path)!r}, '--dialect', 'postgres'])\n"
        "assert code == 0 and 'the empty database' in err.getvalue(), (code, err.getvalue())"
    )
    assert "sqlglot" not in loaded
    # reading a directory needs no GitPython (bench/diff.py: about a tenth of a warm diff),
    # nor Alembic's sandbox, nor the CI's events for building the `ci` options
    assert not loaded & {"git", "bot.sources.alembic", "bot.events"}
    # nor the `ci` command's module (subprocess, tempfile, forge settings) for its options
    assert "bot.ci" not in loaded


def test_diff_the_model_reads_whole_loads_no_engine(tmp_path: Path) -> None:
    """The scratch-engine stack (drivers, risk rules, sqlglot's dialects) is for histories
    with statements the model can't read: a plain history's `diff` never loads it."""
    newer, older = tmp_path / "newer", tmp_path / "older"
    newer.mkdir()
    older.mkdir()
    for d in (newer, older):
        (d / "001_users.sql").write_text("CREATE TABLE users (id int PRIMARY KEY);\n")
    (newer / "002_bio.sql").write_text("ALTER TABLE users ADD COLUMN bio text;\n")
    loaded = _modules_after(
        "import contextlib, io\n"
        "from bot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main(['diff', '--dialect', 'postgres', '--from-dir', {str(newer)!r},"
        f" '--to-dir', {str(older)!r}])\n"
        "assert code == 0 and 'DROP COLUMN bio' in out.getvalue(), (code, out.getvalue())"
    )
    assert not {m for m in loaded if m.startswith("bot.engines")}
    assert "git" not in loaded
