"""The bot's own texts (plan comment, companion PR body, check summary, help) from the Jinja
templates in templates/; the plan itself is bot.markdown.plan.plan_markdown."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jinja2

from bot.markdown.env import TEMPLATES, md


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # Markdown, not HTML: user text goes through `md` instead
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = md
    return env


def render(template: str, **values: Any) -> str:
    text = _environment().get_template(template).render(**values)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
