"""Atlas's migration directory integrity file (`atlas.sum`), computed the way Atlas does.

Mirrors ariga/atlas `sql/migrate/dir.go` (`LocalDir.Files`, `NewHashFile`, `HashFile.Sum`,
`MarshalText`, `UnmarshalText`): only the directory's own top-level `*.sql` files count,
sorted by name byte-wise; one SHA-256 runs over the whole directory and each file's line
records that running hash after the file (so a line depends on every file before it);
the first line hashes the name/hash pairs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping

SUM_FILE = "atlas.sum"

# Atlas's reDirective, anchored at the start of the file: `-- atlas:sum ignore` on line 1.
_DIRECTIVE = re.compile(r"^([ -~]*)atlas:(\w+)(?: +([ -~]*))*", re.ASCII)


def _data(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _sum_ignored(data: bytes) -> bool:
    m = _DIRECTIVE.match(data.decode("utf-8", "replace"))
    return bool(m and m.group(2) == "sum" and m.group(3) == "ignore")


def _total(lines: list[tuple[str, str]]) -> str:
    sha = hashlib.sha256()
    for name, digest in lines:
        sha.update(name.encode("utf-8"))
        sha.update(digest.encode("utf-8"))
    return base64.b64encode(sha.digest()).decode("ascii")


def hash_lines(files: Mapping[str, str | bytes]) -> list[tuple[str, str]]:
    """(name, hash) per counted file, as Atlas's NewHashFile produces them."""
    # Atlas globs `*.sql` in the directory itself; subdirectories and atlas.sum don't count.
    names = sorted(
        (n for n in files if "/" not in n and n.endswith(".sql")), key=lambda n: n.encode()
    )
    running = hashlib.sha256()
    out: list[tuple[str, str]] = []
    for name in names:
        data = _data(files[name])
        running.update(name.encode("utf-8"))
        if _sum_ignored(data):
            # The name still feeds the running hash; the file gets no line of its own.
            continue
        running.update(data)
        out.append((name, base64.b64encode(running.copy().digest()).decode("ascii")))
    return out


def atlas_sum(files: Mapping[str, str | bytes]) -> str:
    """The `atlas.sum` text Atlas would write for these directory files.

    Pass contents exactly as stored (str is hashed as UTF-8; pass bytes to keep a BOM or
    CRLF that a decoder would drop).
    """
    lines = hash_lines(files)
    body = "".join(f"{name} h1:{digest}\n" for name, digest in lines)
    return f"h1:{_total(lines)}\n{body}"


def read_sum(text: str) -> list[tuple[str, str]] | None:
    """The (name, hash) lines of an atlas.sum, or None when it is malformed or self-inconsistent."""
    rows = text.replace("\r\n", "\n").split("\n")
    if rows and rows[-1] == "":
        rows.pop()  # Go's line scanner yields no token after a final newline
    if not rows:
        return None
    total = rows[0].removeprefix("h1:")
    lines: list[tuple[str, str]] = []
    for row in rows[1:]:
        name, sep, digest = row.partition("h1:")
        if not sep:
            return None
        lines.append((name.strip(), digest))
    return lines if _total(lines) == total else None


def verify_atlas_sum(files: Mapping[str, str | bytes]) -> bool:
    """Whether the directory's atlas.sum matches its files, as `atlas migrate validate` decides."""
    stored = files.get(SUM_FILE)
    if stored is None:
        return False
    text = stored if isinstance(stored, str) else stored.decode("utf-8", "replace")
    lines = read_sum(text)
    return lines is not None and _total(lines) == _total(hash_lines(files))
