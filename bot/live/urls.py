"""Where a live database is, and how to speak of it without giving its secrets away."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from bot.sources.config import DatabaseRef


def database_url(ref: DatabaseRef, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The URL a source's `databases` entry points at, or why there is none: (url, problem)."""
    if ref.url_env:
        value = env.get(ref.url_env, "").strip()
        if value:
            return value, None
        if not ref.url_file:
            state = "is empty" if ref.url_env in env else "is not set"
            return None, f"environment variable {ref.url_env} {state}"
    if ref.url_file:
        try:
            value = Path(ref.url_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            return None, f"cannot read the database URL file {ref.url_file}: {err.strerror}"
        if value:
            return value, None
        return None, f"the database URL file {ref.url_file} is empty"
    return None, "no url_env or url_file configured for this database"


def sqlite_path(url: str) -> str:
    """sqlite:///relative.db, sqlite:////absolute.db, file:/path.db or a bare path."""
    if url.startswith("sqlite:///"):
        return unquote(url[len("sqlite:///") :].split("?", 1)[0])
    if url.startswith("file:"):
        return unquote(urlsplit(url).path)
    return url


def uri_path(path: str) -> str:
    return quote(str(Path(path).resolve()))


def clean(message: str, url: str) -> str:
    """An engine message without the URL, the password or the user name."""
    text = message.strip().splitlines()[0] if message.strip() else "unknown error"
    parts = urlsplit(url)
    text = text.replace(url, "***")
    # (secret, shortest length replaced even unquoted): a short user name like "app" would
    # otherwise be cut out of ordinary words; a password is cut out wherever it appears
    for secret, bare in ((parts.password, 3), (parts.username, 6)):
        for form in {secret, unquote(secret)} if secret else set():
            for quoted in (f"'{form}'", f'"{form}"'):
                text = text.replace(quoted, "'***'")
            if len(form) >= bare:
                text = text.replace(form, "***")
    return text


def mysql_message(err: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    return str(args[1]) if len(args) == 2 else str(err) or type(err).__name__
