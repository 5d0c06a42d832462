"""The Jinja environment over templates/, and `md` for user text inside Markdown."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2

# A wheel carries the templates beside this module (setup.py copies them); a checkout keeps
# them at the repository's top level. Jinja searches both, in this order.
TEMPLATES = (
    Path(__file__).resolve().parent / "templates",
    Path(__file__).resolve().parent.parent.parent / "templates",
)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def md(text: object) -> str:
    """Text from a repository or a user, safe inside Markdown: no markup, no HTML."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


@cache
def environment() -> jinja2.Environment:
    """Markdown templates: strict about missing values, user text escaped by `md`."""
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
