"""Migration directories on disk: detect the layout, read the up migrations in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the replay stack (sqlglot) loads when a migration is replayed, not on read
    from bot.core.replay import Migration

MAX_BYTES = 64 * 1024 * 1024


class Layout(StrEnum):
    PLAIN = "plain"  # ordered *.sql files
    GOLANG_MIGRATE = "golang-migrate"  # N_name.up.sql / N_name.down.sql


class SourceError(ValueError):
    """A directory or file that can't be read as migrations; the message names it."""


_GOLANG = re.compile(r"^(\d+)_(.+)\.(up|down)\.sql$")
_NUMERIC = re.compile(r"^(\d+)")


@dataclass(frozen=True)
class MigrationFile:
    """A migration's up SQL and, when the layout has one, the author's down."""

    version: str
    path: str
    up: str
    down: str | None = None
    down_path: str | None = None

    def migration(self) -> Migration:
        from bot.core.replay import Migration

        return Migration(self.path, self.up)


def detect_layout(names: list[str]) -> Layout:
    if any(_GOLANG.match(n) for n in names):
        return Layout.GOLANG_MIGRATE
    return Layout.PLAIN


def read_text(path: Path, display: str) -> str:
    """A file's text, or a SourceError saying why it isn't usable SQL text."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SourceError(f"{display}: file too large ({size / 1024 / 1024:.0f} MB, limit 64 MB)")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise SourceError(f"{display}: binary file, not SQL text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceError(
            f"{display}: not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None


def read_dir(directory: Path, layout: Layout | None = None) -> tuple[Layout, list[MigrationFile]]:
    """The migrations in `directory`, oldest first."""
    if not directory.exists():
        raise SourceError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise SourceError(f"{directory}: not a directory")
    names = sorted(p.name for p in directory.iterdir() if p.is_file() and p.suffix == ".sql")
    if not names:
        raise SourceError(f"{directory}: no .sql migrations found")
    layout = layout or detect_layout(names)
    if layout is Layout.GOLANG_MIGRATE:
        return layout, _golang(directory, names)
    return layout, _plain(directory, names)


def _plain(directory: Path, names: list[str]) -> list[MigrationFile]:
    # Numbered files sort by number (2_x before 10_x), the rest by name, numbered ones first.
    def key(name: str) -> tuple[int, int, str]:
        m = _NUMERIC.match(name)
        return (0, int(m.group(1)), name) if m else (1, 0, name)

    return [
        MigrationFile(Path(n).stem, n, read_text(directory / n, str(directory / n)))
        for n in sorted(names, key=key)
    ]


def _golang(directory: Path, names: list[str]) -> list[MigrationFile]:
    ups: dict[int, str] = {}
    downs: dict[int, str] = {}
    for name in names:
        m = _GOLANG.match(name)
        if not m:
            raise SourceError(
                f"{directory / name}: not a golang-migrate file name (expected N_name.up.sql)"
            )
        version = int(m.group(1))
        target = ups if m.group(3) == "up" else downs
        if version in target:
            raise SourceError(
                f"{directory / name}: version {version} appears twice ({target[version]})"
            )
        target[version] = name
    if not ups:
        raise SourceError(f"{directory}: no .up.sql migrations found")
    out = []
    for version in sorted(ups):
        up = ups[version]
        down = downs.get(version)
        out.append(
            MigrationFile(
                str(version),
                up,
                read_text(directory / up, str(directory / up)),
                read_text(directory / down, str(directory / down)) if down else None,
                down,
            )
        )
    return out
