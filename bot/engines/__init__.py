"""Scratch database engines for proving SQL: SQLite, PostgreSQL, MariaDB."""
