"""Database URLs as they may be shown: which database, never who or how."""

from __future__ import annotations

from urllib.parse import urlsplit


def mask_url(url: str) -> str:
    """scheme://host/db: enough to say which database, never the user or password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "<unparsable URL>"
    if not parts.scheme:
        return "<path>"
    if parts.scheme in ("sqlite", "file"):
        return f"{parts.scheme}://{parts.path}"
    # the port is left out too: the mask names the database, nothing about how to reach it
    return f"{parts.scheme}://{host}{parts.path or '/'}"
