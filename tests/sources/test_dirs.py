"""bot.sources.dirs.read_text: a migration file read whole, or a one-line reason why not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.sources import dirs


def test_a_file_is_read_to_its_end_when_reads_come_back_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a network file system or a signal can end a read early: the migration must not be cut
    text = "CREATE TABLE t (id int);\n" * 500
    path = tmp_path / "1.sql"
    path.write_text(text)
    real = os.read
    monkeypatch.setattr(dirs.os, "read", lambda fd, n: real(fd, min(n, 7)))
    assert dirs.read_text(path, "1.sql", follow=False) == text


def test_a_file_past_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "1.sql"
    path.write_text("x" * 100)
    monkeypatch.setattr(dirs, "MAX_BYTES", 50)
    with pytest.raises(dirs.SourceError, match=r"1\.sql: file too large"):
        dirs.read_text(path, "1.sql")
