"""GitHub behind the Forge protocol (PyGithub). Payload normalization lives in events.py."""

from __future__ import annotations

from bot.forges.github.client import DEFAULT_API_URL, GitHubCredentials, GitHubForge

__all__ = ["DEFAULT_API_URL", "GitHubCredentials", "GitHubForge"]
