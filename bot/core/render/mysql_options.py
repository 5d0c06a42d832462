"""MySQL table options a down restores: the storage engine and the row format.

A table's options are kept as written in CREATE TABLE (`Table.options`); ALTER TABLE ... ENGINE=
and ROW_FORMAT= rewrite just those words. Left out means the server's default: InnoDB, and
ROW_FORMAT=DEFAULT.
"""

from __future__ import annotations

import re

STORAGE_KEYS = ("ENGINE", "ROW_FORMAT")
_DEFAULTS = {"ENGINE": "InnoDB", "ROW_FORMAT": "DEFAULT"}
_OPTION = re.compile(r"(?i)\b(ENGINE|ROW_FORMAT)\s*=?\s*`?(\w+)`?")
# one ALTER TABLE action made only of engine / row format settings
_ONLY_STORAGE = re.compile(r"(?is)\s*(?:(?:ENGINE|ROW_FORMAT)\s*=?\s*`?\w+`?[\s,]*)+")


def storage(options: str | None) -> dict[str, str]:
    """The engine and row format `options` set, defaults left out (keys upper case)."""
    found = {k.upper(): v for k, v in _OPTION.findall(options or "")}
    return {k: v for k, v in found.items() if v.upper() != _DEFAULTS[k].upper()}


def storage_action(action: str) -> dict[str, str] | None:
    """The settings of an ALTER TABLE action made only of ENGINE= / ROW_FORMAT=, else None."""
    if not _ONLY_STORAGE.fullmatch(action):
        return None
    return {k.upper(): v for k, v in _OPTION.findall(action)}


def other_options(options: str | None) -> str:
    """What `options` say besides the engine and row format (character set, collation)."""
    return " ".join(_OPTION.sub("", options or "").split())


def with_storage(options: str | None, settings: dict[str, str]) -> str | None:
    """`options` with the engine and row format of `settings` (a default removes the word)."""
    rest = other_options(options)
    kept = {**storage(options), **settings}
    words = [
        f"{k}={kept[k]}"
        for k in STORAGE_KEYS
        if k in kept and kept[k].upper() != _DEFAULTS[k].upper()
    ]
    text = " ".join([*words, rest] if rest else words)
    return text or None


def restorage(options: str | None, target: str | None) -> str | None:
    """`options` with the engine and row format of `target`, the rest (character set,
    collation) as it is: what ALTER TABLE ... ENGINE= / ROW_FORMAT= leaves."""
    found = storage(target)
    return with_storage(options, {k: found.get(k, _DEFAULTS[k]) for k in STORAGE_KEYS})


def storage_sql(before: str | None, after: str | None) -> str | None:
    """The ALTER TABLE options that take a table's storage from `before` to `after`; None when
    they store alike."""
    old, new = storage(before), storage(after)
    words = [
        f"{k}={new.get(k, _DEFAULTS[k])}"
        for k in STORAGE_KEYS
        if old.get(k, _DEFAULTS[k]).upper() != new.get(k, _DEFAULTS[k]).upper()
    ]
    return " ".join(words) or None
