"""GitLab behind the Forge protocol: the python-gitlab client (client.py) and webhook
normalization (events.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.forges.gitlab.client import GitLabForge

__all__ = ["GitLabForge"]


def __getattr__(name: str) -> Any:
    # Lazy, so the web layer importing events.py does not pull in python-gitlab.
    if name == "GitLabForge":
        from bot.forges.gitlab.client import GitLabForge

        return GitLabForge
    raise AttributeError(name)
