"""Django migration modules read without running them: the graph, the settings' database."""

from __future__ import annotations

from bot.core.model import Dialect
from bot.sources.django import (
    DjangoMigration,
    graph_order,
    read_migration,
    settings_dialect,
    settings_module,
)


def _module(deps: str) -> str:
    return (
        "from django.conf import settings\nfrom django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [{deps}]\n    operations = []\n"
    )


def _read(path: str, deps: str) -> DjangoMigration:
    m, problem = read_migration(path, _module(deps))
    assert problem is None and m is not None
    return m


def test_the_graph_orders_dependencies_first_across_apps() -> None:
    shop2 = _read(
        "shop/migrations/0002_orders.py", '("shop", "0001_initial"), ("crm", "__first__")'
    )
    shop1 = _read(
        "shop/migrations/0001_initial.py",
        "migrations.swappable_dependency(settings.AUTH_USER_MODEL)",
    )
    crm1 = _read("crm/migrations/0001_initial.py", '("shop", "0001_initial")')
    order = [f"{m.app}.{m.name}" for m in graph_order([shop2, crm1, shop1])]
    assert order == ["shop.0001_initial", "crm.0001_initial", "shop.0002_orders"]
    assert shop1.dependencies == ()  # a swappable dependency names a setting, not a migration


def test_a_module_without_a_migration_class_is_said() -> None:
    m, problem = read_migration("shop/migrations/0003_x.py", "x = 1\n")
    assert (
        m is None
        and problem == "shop/migrations/0003_x.py: no Migration class, Django refuses the module"
    )
    m, problem = read_migration("shop/migrations/0004_y.py", "class Migration(:\n")
    assert m is None and problem is not None and "not valid Python" in problem


def test_the_settings_name_the_database_only_when_they_name_one() -> None:
    pg = {"app/settings.py": 'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}'}
    assert settings_dialect(pg) == (Dialect.POSTGRES, "app/settings.py")
    gis = {"s.py": "ENGINE = 'django.contrib.gis.db.backends.spatialite'"}
    assert settings_dialect(gis) == (Dialect.SQLITE, "s.py")
    several = {"s.py": '"django.db.backends.sqlite3"\n"django.db.backends.mysql"'}
    assert settings_dialect(several) == (None, None)
    manage = 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings.dev")'
    assert settings_module(manage) == "mysite.settings.dev"
