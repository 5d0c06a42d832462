"""Alternatives skip re-checking later steps that name nothing the alternative touches: the
result must be the one the full check gives, on a history with many data-losing steps."""

from __future__ import annotations

import pytest

import bot.core.alternatives as alternatives
from bench.history import migrations
from bot.core.alternatives import apply_alternatives
from bot.core.down import compute_down
from bot.core.model import Dialect
from bot.core.replay import Migration, replay


def _down() -> tuple[list[object], object]:
    files = [Migration(name, sql) for name, sql in migrations(160, 40)]
    older = replay(files[:80], Dialect.POSTGRES)
    newer = replay(files[80:], Dialect.POSTGRES, older.schema)
    down = compute_down(newer.schema, older.schema, newer.steps)
    return list(down.changes), newer.schema


def test_the_shortcut_gives_what_the_full_check_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    changes, schema = _down()
    fast = apply_alternatives(changes, schema, "t1")  # type: ignore[arg-type]
    assert len(fast[2]) >= 5  # many data-losing steps got an alternative
    checked: list[bool] = []
    touched = alternatives._Later.touched

    def always(self: alternatives._Later, mine: alternatives._Mentions, start: int) -> bool:
        checked.append(touched(self, mine, start))
        return True

    monkeypatch.setattr(alternatives._Later, "touched", always)
    assert apply_alternatives(changes, schema, "t1") == fast  # type: ignore[arg-type]
    assert checked.count(False) >= 5  # the shortcut was taken that often
