"""bench/fuzz_cli.py: how it traces values, and the repositories it once failed on, through the CLI.

The long runs are `python bench/fuzz_cli.py --dialect ...`; these keep the fixed classes fixed.
"""

from __future__ import annotations

import logging

import pytest

from bench.fuzz_cli import File, check_files, lost_tokens
from bot.engines import ScratchServer

BEFORE = {
    "p1": (["id", "a"], [(100001, "r100002"), (100003, "r100004")]),
    "p2": (["id"], [(100005,)]),
}


def test_values_are_traced_wherever_they_moved() -> None:
    """A renamed table or column keeps its values; a lost row or column is reported."""
    tokens = {"100001", "r100002", "100003", "r100004", "100005"}
    moved = {"q1": (["id", "b"], [(100003, "r100004"), (100001, "r100002")]), **BEFORE}
    del moved["p1"]
    assert lost_tokens(BEFORE, moved, tokens, set()) == []
    one_row = {"p1": (["id", "a"], [(100001, "r100002")]), "p2": BEFORE["p2"]}
    assert lost_tokens(BEFORE, one_row, tokens, set()) == [
        "p1.id: 2 values lost, not declared",
        "p1.a: 2 values lost, not declared",
    ]
    no_table = {"p1": BEFORE["p1"]}
    assert lost_tokens(BEFORE, no_table, tokens, set()) == ["p2.id: 1 values lost, not declared"]
    assert lost_tokens(BEFORE, no_table, tokens, {"p2"}) == []


REPROS = {
    # `plan` exited 2 ("constraint None does not exist"): two equal unnamed UNIQUE (d)
    "two_equal_uniques": (
        [File(["CREATE TABLE p3 (id INTEGER PRIMARY KEY, d TEXT UNIQUE, b TEXT, UNIQUE (d))"])],
        1,
    ),
    # the rebuild's DROP TABLE failed on the table's key on itself, foreign keys on
    "rebuild_keyed_on_itself": (
        [
            File(
                ["CREATE TABLE p1 (id INTEGER PRIMARY KEY, c INTEGER, FOREIGN KEY (c) REFERENCES p1 (id))"],
                ["INSERT INTO p1 (id, c) VALUES (100001, NULL)", "INSERT INTO p1 (id, c) VALUES (100002, 100001)"],
            ),
            File(
                [
                    "CREATE TABLE p1_new (id INTEGER PRIMARY KEY, c INTEGER)",
                    "INSERT INTO p1_new (id, c) SELECT id, c FROM p1",
                    "DROP TABLE p1",
                    "ALTER TABLE p1_new RENAME TO p1",
                ]
            ),
        ],
        1,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REPROS))
def test_fixed_repositories_plan_a_down_that_restores(
    sqlite_server: ScratchServer, name: str
) -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    files, k = REPROS[name]
    for mode in ("revert", "refs"):
        outcome = check_files(sqlite_server, files, k, mode, (), 0, subprocess_run=False)
        assert outcome.failures == []
