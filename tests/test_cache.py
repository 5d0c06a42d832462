"""The on-disk replay cache: a second process reads a history back instead of replaying it,
and nothing in the cache can make a plan wrong or fail."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest

import bot.cache
from bot.cache import DiskReplayStore, replay_store
from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.replay import Migration, ParseCache, replay

HISTORY = [
    Migration("1_users.up.sql", "CREATE TABLE users (id int PRIMARY KEY, name text);"),
    Migration("2_orders.up.sql", "CREATE TABLE orders (id int, user_id int REFERENCES users);"),
    Migration("3_email.up.sql", "ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '';"),
    Migration("4_rename.up.sql", "ALTER TABLE users RENAME COLUMN name TO full_name;"),
]


def test_a_second_process_reads_the_history_back_without_parsing(tmp_path: Path) -> None:
    first = replay(HISTORY, Dialect.POSTGRES, cache=ParseCache(store=DiskReplayStore(tmp_path)))
    again = ParseCache(store=DiskReplayStore(tmp_path))  # a new process: empty memory
    second = replay(HISTORY, Dialect.POSTGRES, cache=again)
    assert second == first
    assert again.hits == 1 and not again.entries  # nothing was parsed


def test_a_changed_file_is_replayed_again(tmp_path: Path) -> None:
    replay(HISTORY, Dialect.POSTGRES, cache=ParseCache(store=DiskReplayStore(tmp_path)))
    edited = [*HISTORY[:-1], Migration("4_rename.up.sql", "ALTER TABLE users DROP COLUMN name;")]
    cache = ParseCache(store=DiskReplayStore(tmp_path))
    history = replay(edited, Dialect.POSTGRES, cache=cache)
    assert cache.hits == 0
    assert [c.name for c in history.schema.tables[("", "users")].columns] == ["id", "email"]


def test_a_down_is_computed_again_from_cached_histories_alone(tmp_path: Path) -> None:
    cold = down_between(
        HISTORY, HISTORY[:2], Dialect.POSTGRES, ParseCache(store=DiskReplayStore(tmp_path))
    )
    cache = ParseCache(store=DiskReplayStore(tmp_path))
    warm = down_between(HISTORY, HISTORY[:2], Dialect.POSTGRES, cache)
    assert warm == cold
    assert "DROP COLUMN email" in " ".join(s.sql for s in warm.statements)
    # the older history and the two undone migrations on top of it both came from disk
    assert cache.hits == 2 and not cache.entries


def test_the_same_files_on_another_base_are_another_history(tmp_path: Path) -> None:
    cache = ParseCache(store=DiskReplayStore(tmp_path))
    with_users = replay(HISTORY[:2], Dialect.POSTGRES, cache=cache).schema
    other = replay(
        [Migration("1_x.up.sql", "CREATE TABLE users (id int, name text, x int);")],
        Dialect.POSTGRES,
        cache=cache,
    ).schema
    on_first = replay(HISTORY[2:], Dialect.POSTGRES, with_users, cache)
    on_other = replay(HISTORY[2:], Dialect.POSTGRES, other, cache)
    assert ("", "orders") in on_first.schema.tables
    assert ("", "orders") not in on_other.schema.tables
    assert [c.name for c in on_other.schema.tables[("", "users")].columns] == [
        "id",
        "full_name",
        "x",
        "email",
    ]


def test_an_upgrade_starts_a_new_cache_and_removes_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = DiskReplayStore(tmp_path)
    replay(HISTORY, Dialect.POSTGRES, cache=ParseCache(store=old))
    monkeypatch.setattr(bot.cache, "code_version", lambda: "other-code")
    new = DiskReplayStore(tmp_path)
    cache = ParseCache(store=new)
    replay(HISTORY, Dialect.POSTGRES, cache=cache)
    assert cache.hits == 0
    assert [p.name for p in tmp_path.iterdir()] == [new.directory.name]


def test_a_damaged_or_foreign_entry_is_a_miss_never_run(tmp_path: Path) -> None:
    store = DiskReplayStore(tmp_path)
    cache = ParseCache(store=store)
    key = cache.key(HISTORY, Dialect.POSTGRES, None)
    assert key is not None
    path = store.directory / key[:2] / key
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x80\x05 not a pickle")
    assert store.load(key) is None
    # a pickle that calls a function outside the core when loaded
    marker = tmp_path / "ran"
    path.write_bytes(pickle.dumps(_Touches(marker)))
    assert store.load(key) is None
    assert not marker.exists()
    history = replay(HISTORY, Dialect.POSTGRES, cache=cache)  # replayed, then stored anew
    assert ("", "users") in history.schema.tables
    assert DiskReplayStore(tmp_path).load(key) == history


class _Touches:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.path,))


def test_concurrent_writers_leave_one_whole_entry(tmp_path: Path) -> None:
    history = replay(HISTORY, Dialect.POSTGRES)
    start = threading.Barrier(8)

    def write() -> None:
        store = DiskReplayStore(tmp_path)
        start.wait()
        for _ in range(20):
            store.save("ab" * 10, history)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = DiskReplayStore(tmp_path)
    assert store.load("ab" * 10) == history
    assert [p.name for p in (store.directory / "ab").iterdir()] == ["ab" * 10]  # no temp files


def test_an_unwritable_cache_does_not_fail_the_replay(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    cache = ParseCache(store=DiskReplayStore(blocked))
    assert ("", "users") in replay(HISTORY, Dialect.POSTGRES, cache=cache).schema.tables


def test_the_cache_directory_comes_from_the_environment(tmp_path: Path) -> None:
    assert replay_store({"ROLLBACK_PLAN_REPLAY_CACHE_DIR": "off"}) is None
    chosen = replay_store({"ROLLBACK_PLAN_REPLAY_CACHE_DIR": str(tmp_path)})
    assert chosen is not None and chosen.root == tmp_path
    xdg = replay_store({"XDG_CACHE_HOME": str(tmp_path), "HOME": "/nowhere"})
    assert xdg is not None and xdg.root == tmp_path / "rollback-plan" / "replay"
    home = replay_store({"HOME": str(tmp_path)})
    assert home is not None and home.root == tmp_path / ".cache" / "rollback-plan" / "replay"


def test_the_cli_keeps_histories_in_the_configured_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    newer, older, cache_dir = tmp_path / "newer", tmp_path / "older", tmp_path / "cache"
    for directory, files in ((newer, HISTORY), (older, HISTORY[:2])):
        directory.mkdir()
        for m in files:
            (directory / m.path).write_text(m.sql)
    monkeypatch.setenv("ROLLBACK_PLAN_REPLAY_CACHE_DIR", str(cache_dir))
    argv = ["diff", "--from-dir", str(newer), "--to-dir", str(older), "--dialect", "postgres"]
    assert main(argv) == 0
    cold = capsys.readouterr().out
    assert len(list(cache_dir.glob("v*/*/*"))) == 2  # the older history, and the newer on it
    assert main(argv) == 0
    assert capsys.readouterr().out == cold
    assert "DROP COLUMN email" in cold
