"""The replay cache on disk: replayed histories by content key, kept between processes.

A history replayed once (its files' names and contents, the history it starts from, the
dialect) is read back instead of parsed and translated again by the next `rollback-plan`
process or CI run. It plugs into the core's in-memory `ParseCache` as its `ReplayStore`.

Safe by construction rather than by care: entries are written to a temporary file and
renamed into place (readers never see half a file, concurrent writers of one key write the
same bytes); the directory is versioned by a digest of the core's code, sqlglot's version
and Python's, so an upgrade starts a new cache and removes the old one; an entry that cannot
be read is a miss, and unpickling admits only the core's own value classes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import logging
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bot.core.replay import History

log = logging.getLogger(__name__)

ENV = "ROLLBACK_PLAN_REPLAY_CACHE_DIR"  # a directory, or "off"
FORMAT = 1  # bump when the layout of this directory changes
MAX_BYTES = 256 * 1024 * 1024  # the oldest-used entries go beyond this


def replay_store(env: Mapping[str, str]) -> DiskReplayStore | None:
    """The store the environment asks for: $ROLLBACK_PLAN_REPLAY_CACHE_DIR, else
    $XDG_CACHE_HOME/rollback-plan/replay (~/.cache/...); None when set to "off"."""
    value = env.get(ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return DiskReplayStore(Path(value))
    base = env.get("XDG_CACHE_HOME", "").strip()
    if base:
        return DiskReplayStore(Path(base) / "rollback-plan" / "replay")
    home = env.get("HOME", "").strip()
    return DiskReplayStore(Path(home) / ".cache" / "rollback-plan" / "replay") if home else None


class DiskReplayStore:
    """Histories as pickles in `root/<version>/<key[:2]>/<key>`."""

    def __init__(self, root: Path, max_bytes: int = MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._dir: Path | None = None

    @property
    def directory(self) -> Path:
        """This version's directory (the code that reads an entry is the code that wrote it)."""
        if self._dir is None:
            self._dir = self.root / f"v{FORMAT}-{code_version()}"
        return self._dir

    def load(self, key: str) -> History | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            found = _CoreUnpickler(io.BytesIO(data)).load()
        except Exception as err:  # a damaged or foreign file is a miss, never a failed plan
            log.warning("replay cache: ignoring unreadable entry %s: %s", path, err)
            return None
        if not isinstance(found, History):
            return None
        with contextlib.suppress(OSError):  # eviction removes the least recently used
            os.utime(path)
        return found

    def save(self, key: str, history: History) -> None:
        path = self._path(key)
        fresh = not self.directory.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    pickle.dump(history, out, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except (OSError, pickle.PicklingError, RecursionError) as err:
            # The cache only saves time: a read-only or full disk must not fail a plan.
            log.warning("replay cache: cannot write %s: %s", path, err)
            return
        if fresh:
            self._remove_other_versions()
        self._evict()

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"replay cache key {key!r} is not a digest")
        return self.directory / key[:2] / key

    def _remove_other_versions(self) -> None:
        for old in self.root.iterdir():
            if old.is_dir() and old.name.startswith("v") and old != self.directory:
                shutil.rmtree(old, ignore_errors=True)

    def _evict(self) -> None:
        entries = []
        total = 0
        for sub in self.directory.iterdir():
            for entry in sub.iterdir() if sub.is_dir() else ():
                try:
                    st = entry.stat()
                except OSError:
                    continue
                entries.append((st.st_mtime, st.st_size, entry))
                total += st.st_size
        for _, size, entry in sorted(entries):
            if total <= self.max_bytes:
                break
            entry.unlink(missing_ok=True)
            total -= size


def code_version() -> str:
    """A digest of what decides a replay's result: the core's source, sqlglot, Python."""
    h = hashlib.blake2b(digest_size=10)
    h.update(f"{sys.version_info[:2]}".encode())
    core = Path(__file__).resolve().parent / "core"
    for path in sorted(core.rglob("*.py")):
        h.update(str(path.relative_to(core)).encode())
        h.update(path.read_bytes())
    spec = importlib.util.find_spec("sqlglot")
    for location in (spec.submodule_search_locations or []) if spec else []:
        version = Path(location) / "_version.py"
        if version.exists():
            h.update(version.read_bytes())
    return h.hexdigest()


class _CoreUnpickler(pickle.Unpickler):
    """Admits the core's value classes only: an entry cannot name any other callable."""

    def find_class(self, module: str, name: str) -> type:
        if module == "bot.core" or module.startswith("bot.core."):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a core value")
