"""Typed reads from a webhook payload: each names the field that is missing or wrongly
typed, so a bad delivery gets a one-line answer instead of a KeyError deep in a normalizer.
Messages name the field path and the expected type, never the value (it is attacker-chosen)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories
ZERO_SHA = "0" * 40


class PayloadError(ValueError):
    """A webhook payload lacks a field we need or has it with the wrong type."""


def obj(data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise PayloadError(_what(path, key, "an object", value))
    return value


def opt_obj(data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PayloadError(_what(path, key, "an object or null", value))
    return value


def text(data: Mapping[str, Any], key: str, path: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise PayloadError(_what(path, key, "a string", value))
    return value


def opt_text(data: Mapping[str, Any], key: str, path: str = "") -> str:
    """A string that may be absent or null (PR bodies, MR descriptions): "" then."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(_what(path, key, "a string or null", value))
    return value


def integer(data: Mapping[str, Any], key: str, path: str = "") -> int:
    value = data.get(key)
    # bool is an int subclass in Python; `"number": true` is a wrong type, not 1
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(_what(path, key, "an integer", value))
    return value


def opt_integer(data: Mapping[str, Any], key: str, path: str = "") -> int | None:
    if data.get(key) is None:
        return None
    return integer(data, key, path)


def flag(data: Mapping[str, Any], key: str, path: str = "", default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise PayloadError(_what(path, key, "a boolean", value))
    return value


def sha(data: Mapping[str, Any], key: str, path: str = "") -> str:
    value = text(data, key, path)
    if not _SHA.fullmatch(value):
        raise PayloadError(f"{_field(path, key)} must be a hex commit sha")
    return value


def array(data: Mapping[str, Any], key: str, path: str = "") -> Sequence[Any]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PayloadError(_what(path, key, "an array", value))
    return value


# GitHub: an owner of up to 39 letters, digits and dashes; a name of letters, digits, ".-_"
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
# GitLab: a namespace path of nested groups, each segment starting with a letter, digit or "_"
_GITLAB_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_GITLAB_DEPTH = 21  # 20 levels of groups, then the project
# what git refuses in a ref name (git check-ref-format), plus our own lone-surrogate check
_REF_BAD = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def repo_name(data: Mapping[str, Any], key: str, path: str = "", *, nested: bool = False) -> str:
    """`owner/name` (GitHub) or `group/sub/project` (GitLab, `nested`): a name the forge
    could have given, so it can go into a URL, a file path or a lock key as it is."""
    value = text(data, key, path)
    parts = value.split("/")
    if nested:
        ok = 2 <= len(parts) <= _GITLAB_DEPTH and all(
            _GITLAB_SEGMENT.fullmatch(p) and not p.endswith((".", ".git", ".atom")) for p in parts
        )
    else:
        ok = (
            len(parts) == 2
            and bool(_GITHUB_OWNER.fullmatch(parts[0]))
            and bool(_GITHUB_NAME.fullmatch(parts[1]))
            and parts[1] not in (".", "..")
        )
    if not ok:
        shape = "group/.../project" if nested else "owner/name"
        raise PayloadError(f"{_field(path, key)} is not a repository path ({shape})")
    return value


def branch(data: Mapping[str, Any], key: str, path: str = "") -> str:
    """A branch name git accepts (`git check-ref-format --branch`)."""
    value = text(data, key, path)
    if not valid_branch(value):
        raise PayloadError(f"{_field(path, key)} is not a valid branch name")
    return value


def valid_branch(name: str) -> bool:
    """True for a name `git check-ref-format --branch` accepts, in valid UTF-8."""
    if not name or len(name.encode("utf-8", "surrogatepass")) > 255 or _REF_BAD.search(name):
        return False
    if not is_unicode(name) or name.startswith(("-", "/")) or name == "@":
        return False
    if name.endswith(("/", ".")):
        return False
    return not any(c.startswith(".") or c.endswith(".lock") for c in name.split("/"))


def is_unicode(value: str) -> bool:
    """False for a string holding a lone UTF-16 surrogate (JSON allows the escape; no forge
    sends one, and no file, log line or database can hold it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _what(path: str, key: str, expected: str, value: object) -> str:
    if value is None:
        return f"missing field {_field(path, key)} (expected {expected})"
    return f"field {_field(path, key)} must be {expected}, not {_json_type(value)}"


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return "null"
