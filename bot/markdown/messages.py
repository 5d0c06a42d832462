"""The bot's own texts (plan comment, companion PR body, check summary, help) from the Jinja
templates in templates/; the plan itself is bot.markdown.plan.plan_markdown."""

from __future__ import annotations

import re
from typing import Any

from bot.markdown.env import environment


def render(template: str, **values: Any) -> str:
    text = environment().get_template(template).render(**values)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
