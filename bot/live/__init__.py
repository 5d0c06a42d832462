"""Read-only inspection of a source's live database: data at risk, drift, the live schema."""

from __future__ import annotations

from bot.engines.urls import mask_url
from bot.live.at_risk import AtRisk
from bot.live.report import LiveReport, inspect_live
from bot.live.urls import database_url

__all__ = ["AtRisk", "LiveReport", "database_url", "inspect_live", "mask_url"]
