"""Markdown the bot posts: the plan (`plan.py`) and the Jinja environment over templates/."""
