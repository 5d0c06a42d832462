"""A small Django project as files, for planner tests with the real Django package."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

MANAGE = """#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

SETTINGS = """SECRET_KEY = "not-a-secret"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""

INITIAL = """from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Customer",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("owner", models.ForeignKey(null=True, on_delete=models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
"""

ADD_EMAIL = """from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="email",
            field=models.CharField(max_length=200, null=True),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["email"], name="shop_customer_email_idx"),
        ),
    ]
"""

# Django adds a NOT NULL column with a default on SQLite by rebuilding the table (new__...)
ADD_CODE = """from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="code",
            field=models.CharField(max_length=20, default="none"),
            preserve_default=False,
        ),
    ]
"""

# the author's reverse SQL forgets the index
RAW_INDEX = """from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX shop_customer_name_idx ON shop_customer (name)",
            reverse_sql="SELECT 1",
        ),
    ]
"""


def project(settings: str = SETTINGS) -> dict[str, str | bytes | None]:
    return {
        "manage.py": MANAGE,
        "mysite/__init__.py": "",
        "mysite/settings.py": settings,
        "shop/__init__.py": "",
        "shop/models.py": "from django.db import models  # noqa: F401\n",
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": INITIAL,
    }


def migrate(workdir: Path, database: Path) -> None:
    """`manage.py migrate` of the project in `workdir` on the SQLite file `database`."""
    settings = (workdir / "mysite" / "settings.py").read_text()
    (workdir / "mysite" / "settings.py").write_text(
        settings.replace('"db.sqlite3"', repr(str(database)))
    )
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=workdir,
            check=True,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    finally:
        (workdir / "mysite" / "settings.py").write_text(settings)


def schema(database: Path) -> dict[str, object]:
    """Tables with their columns and indexes with their columns, as SQLite reports them."""
    conn = sqlite3.connect(database)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'django_migrations' ORDER BY name"
            )
        ]
        out: dict[str, object] = {}
        for t in tables:
            cols = [r[1:] for r in conn.execute(f'PRAGMA table_info("{t}")')]
            indexes = sorted(
                (r[1], r[2], tuple(c[2] for c in conn.execute(f'PRAGMA index_info("{r[1]}")')))
                for r in conn.execute(f'PRAGMA index_list("{t}")')
            )
            fks = sorted(r[2:5] for r in conn.execute(f'PRAGMA foreign_key_list("{t}")'))
            out[t] = (cols, indexes, fks)
        return out
    finally:
        conn.close()
