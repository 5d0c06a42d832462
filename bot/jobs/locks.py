"""In-process locks by key: one job at a time per repository clone or per revert."""

from __future__ import annotations

import threading


class KeyedLocks:
    """One lock per key, created on first use."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
