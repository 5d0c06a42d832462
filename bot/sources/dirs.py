"""Migration directories on disk: detect the layout, read the migrations in order."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from bot.sources.formats import detect_format, parse_migrations
from bot.sources.model import Format, VersionedMigration

MAX_BYTES = 64 * 1024 * 1024


class SourceError(ValueError):
    """A directory or file that can't be read as migrations; the message names it."""


def read_text(path: str | Path, display: str, *, follow: bool = True) -> str:
    """A file's text, or a SourceError saying why it isn't usable SQL text. Without
    `follow`, a symbolic link is refused, as the git reader refuses one: a link out of the
    directory (to /etc/passwd) would put another file's text into the output."""
    # O_NOFOLLOW is POSIX: where it is missing a link is read as its target
    flags = os.O_RDONLY | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)  # os.open, not open(): no buffered reader per file
    except OSError as err:
        if not follow and err.errno == errno.ELOOP:
            raise SourceError(f"{display}: symbolic link, not followed") from None
        raise SourceError(f"{display}: {err.strerror or err}") from None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_BYTES:
            raise SourceError(
                f"{display}: file too large ({size / 1024 / 1024:.0f} MB, limit 64 MB)"
            )
        chunks = [os.read(fd, size + 1)]
        got = len(chunks[0])
        # to the end: a read may return less (a network file system, a signal), and the file
        # may have grown since; never past the limit
        while chunks[-1]:
            chunks.append(os.read(fd, max(size + 1 - got, 1 << 16)))
            got += len(chunks[-1])
            if got > MAX_BYTES:
                raise SourceError(f"{display}: file too large (limit 64 MB)")
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if b"\x00" in data[:8192]:
        raise SourceError(f"{display}: binary file, not SQL text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceError(
            f"{display}: not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None


def read_dir(
    directory: Path, fmt: Format | None = None, *, allow_empty: bool = False
) -> tuple[Format | None, list[VersionedMigration]]:
    """The migrations in `directory`, oldest first in the tool's own order: every layout
    `plan` reads (Atlas, golang-migrate, goose, dbmate, Flyway, Liquibase formatted SQL,
    sqitch, Diesel, plain). A file that can't be used is an error, not a silent gap.
    `allow_empty`: a directory without any migration is the empty database (no format)."""
    if not directory.exists():
        raise SourceError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise SourceError(f"{directory}: not a directory")
    paths = _listed(directory)
    if not any(rel.endswith(".sql") for rel in paths):
        # only a directory with nothing in it: one of Python migrations (Alembic, Django)
        # or of files in another layout is not an empty database
        if allow_empty and not any(
            p.is_file() and not p.name.startswith(".") for p in directory.rglob("*")
        ):
            return fmt, []
        raise SourceError(f"{directory}: no .sql migrations found")
    base = str(directory)  # plain strings: pathlib objects per file were a third of a re-read
    texts = {
        rel: read_text(path, path, follow=False)
        for rel in paths
        for path in [os.path.join(base, rel)]
    }
    fmt = fmt or detect_format(texts)
    if fmt is None:
        raise SourceError(f"{directory}: cannot tell the migration layout; pass --layout")
    # relative paths: two directories with the same files have the same history
    migrations, problems = parse_migrations(fmt, texts)
    if problems:
        raise SourceError(f"{directory}: " + "; ".join(problems))
    versioned = [m for m in migrations if not m.repeatable]
    if not versioned:
        raise SourceError(f"{directory}: no {fmt.value} migrations found")
    return fmt, versioned


_INDEXES = ("atlas.sum", "sqitch.plan")


def _listed(directory: Path) -> list[str]:
    """The `.sql` files and indexes in the directory and one level below it (Diesel's
    folders, sqitch's deploy/revert/verify), as relative POSIX paths in path order.
    Symlinked folders are not entered and unreadable ones are passed over, as `rglob` does;
    one `scandir` per folder rather than pathlib's objects: a real history has hundreds."""
    found: list[tuple[str, ...]] = []
    with os.scandir(directory) as top:
        for entry in top:
            if entry.is_dir(follow_symlinks=False):
                try:
                    with os.scandir(entry.path) as sub:
                        found += [(entry.name, e.name) for e in sub if _wanted(e)]
                except PermissionError:
                    continue
            elif _wanted(entry):
                found.append((entry.name,))
    return ["/".join(parts) for parts in sorted(found)]


def _wanted(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    # `.sql` is the suffix of `a.sql`, not of a file named `.sql`
    # a link is listed (to be refused by read_text), a dangling one too: never a silent gap
    return ((len(name) > 4 and name.endswith(".sql")) or name in _INDEXES) and (
        entry.is_file() or entry.is_symlink()
    )
