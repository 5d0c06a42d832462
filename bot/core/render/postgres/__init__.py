"""PostgreSQL DDL for schema changes, one module per statement family: tables and columns,
constraints and indexes, enum types; `script` orders them and picks each change's statements."""

from bot.core.naming import object_name
from bot.core.render.postgres.script import render
from bot.core.render.postgres.tables import pg_type, serial_sequence

__all__ = ["object_name", "pg_type", "render", "serial_sequence"]
