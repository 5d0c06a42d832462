"""A proof of a history already replayed copies its template, and proves exactly the same."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.core.model import Dialect
from bot.core.plan import Proof
from bot.engines import ScratchDatabase, ScratchServer
from bot.engines.proof import EngineSettings, ScratchEngines, Script, verify
from bot.engines.templates import Templates, history_key

OLDER = ["CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);"]
NEWER = [
    *OLDER,
    "ALTER TABLE users ADD COLUMN short_bio text;\nCREATE INDEX users_bio ON users (short_bio);",
]
RIGHT = Script(
    ("DROP INDEX users_bio", "ALTER TABLE users DROP COLUMN short_bio"), lost=("users.short_bio",)
)


@pytest.fixture
def engines_on(
    postgres_server: ScratchServer,
) -> Iterator[Callable[[int], ScratchEngines]]:
    """``engines_on(kept)``: proofs on the session's server keeping up to `kept` templates."""
    made: list[ScratchEngines] = []

    def make(kept: int = 8) -> ScratchEngines:
        engines = ScratchEngines(templates=kept)
        engines.use(Dialect.POSTGRES, postgres_server)
        made.append(engines)
        return engines

    yield make
    for engines in made:
        engines.close()


def _templates(engines: ScratchEngines) -> Templates:
    templates = engines.templates(Dialect.POSTGRES)
    assert templates is not None
    return templates


def _outcome(proof: Proof) -> tuple[Any, ...]:
    """Everything a user reads from a proof but its duration."""
    return (proof.engine, proof.verified, proof.reason, proof.differences)


def _databases(db: ScratchDatabase) -> dict[str, tuple[bool, bool]]:
    """Database name -> (is a template, accepts connections)."""
    rows = db.query("SELECT datname, datistemplate, datallowconn FROM pg_database")
    return {name: (template, allow) for name, template, allow in rows}


def test_the_second_proof_of_a_history_copies_its_template(
    engines_on: Callable[..., ScratchEngines], engine_db: Callable[[str], ScratchDatabase]
) -> None:
    engines = engines_on()

    first = verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)
    second = verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)

    assert first.verified, first
    assert _outcome(second) == _outcome(first)
    counts = _templates(engines).counts
    assert (counts.built, counts.served) == (1, 2)
    # kept as a template nothing may connect to, so no proof can change it
    (template,) = counts.kept
    assert _databases(engine_db("postgres"))[template] == (True, False)


@pytest.mark.parametrize(
    ("newer", "settings"),
    [
        # one statement changed
        ([*OLDER, NEWER[1].replace("short_bio text", "short_bio varchar(20)")], ()),
        # the same statements in another order
        ([*OLDER, "CREATE TABLE a (id int);\nCREATE TABLE b (id int);"], ()),
        ([*OLDER, "CREATE TABLE b (id int);\nCREATE TABLE a (id int);"], ()),
        # the same history run with other session settings
        (NEWER, ("SET search_path = public",)),
    ],
)
def test_a_history_that_differs_in_anything_gets_its_own_template(
    engines_on: Callable[..., ScratchEngines], newer: list[str], settings: tuple[str, ...]
) -> None:
    engines = engines_on()
    verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)
    verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)  # served by the first

    verify(
        Dialect.POSTGRES, newer, RIGHT, OLDER, engines=engines, settings=EngineSettings(settings)
    )

    assert _templates(engines).counts.built == 2


def test_a_down_right_for_a_kept_history_still_fails_on_a_changed_one(
    engines_on: Callable[..., ScratchEngines],
) -> None:
    engines = engines_on()
    assert verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines).verified
    without_index = [*OLDER, "ALTER TABLE users ADD COLUMN short_bio text;"]

    result = verify(Dialect.POSTGRES, without_index, RIGHT, OLDER, engines=engines)

    assert not result.verified
    assert 'index "users_bio" does not exist' in result.reason


CASES = {
    "right down": (NEWER, RIGHT),
    "wrong down": (NEWER, Script((*RIGHT.statements, "ALTER TABLE users ADD COLUMN x int"))),
    "failing down": (NEWER, Script(("DROP TABLE nowhere",))),
    "undeclared loss": (
        NEWER,
        Script(("DROP TABLE users", "CREATE TABLE users (id serial PRIMARY KEY, email text)")),
    ),
    "failing history": ([*NEWER, "ALTER TABLE nowhere ADD COLUMN x int;"], RIGHT),
    # session state the history leaves does not reach the down: it runs in a session of its own
    "history emptying search_path": (
        [*NEWER, "SELECT pg_catalog.set_config('search_path', '', false);"],
        RIGHT,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_proof_says_the_same_replayed_or_copied(
    engines_on: Callable[..., ScratchEngines], case: str
) -> None:
    newer, script = CASES[case]
    replayed = verify(Dialect.POSTGRES, newer, script, OLDER, engines=engines_on(0))
    engines = engines_on()

    first = verify(Dialect.POSTGRES, newer, script, OLDER, engines=engines)
    _templates(engines).settle()  # the next copy is made ahead: served from it
    copied = verify(Dialect.POSTGRES, newer, script, OLDER, engines=engines)

    assert _outcome(first) == _outcome(copied) == _outcome(replayed)
    assert replayed.verified is (case in ("right down", "history emptying search_path"))
    counts = _templates(engines).counts
    assert counts.served == (0 if case == "failing history" else 2)
    assert counts.spares == (0 if case == "failing history" else 1)


def test_a_proof_that_drops_everything_leaves_the_template_as_it_was(
    engines_on: Callable[..., ScratchEngines],
) -> None:
    engines = engines_on()
    ruin = Script(("DROP TABLE users",))
    assert not verify(Dialect.POSTGRES, NEWER, ruin, OLDER, engines=engines).verified

    for _ in range(2):  # a copy made before the drop, then one made after it
        result = verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)
        _templates(engines).settle()
        assert result.verified, result
    assert _templates(engines).counts.built == 1


def test_a_template_gone_from_the_server_falls_back_to_replaying(
    engines_on: Callable[..., ScratchEngines], engine_db: Callable[[str], ScratchDatabase]
) -> None:
    engines = engines_on()
    templates = _templates(engines)
    before = verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)
    templates.settle()
    counts = templates.counts
    admin = engine_db("postgres")
    # someone else drops what the cache kept: the template and the copy made ahead
    admin.execute([f'ALTER DATABASE "{counts.kept[0]}" WITH IS_TEMPLATE false'])
    admin.execute(
        [f'DROP DATABASE "{name}" WITH (FORCE)' for name in (*counts.kept, *counts.ready)]
    )

    after = verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)
    templates.settle()
    again = verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)

    assert _outcome(after) == _outcome(again) == _outcome(before)
    assert before.verified
    assert templates.counts.built == 2  # the failed template is forgotten, then built again


def test_proofs_of_one_history_at_once_build_one_template(
    engines_on: Callable[..., ScratchEngines],
) -> None:
    engines = engines_on()
    start = threading.Barrier(3)
    results: list[Proof] = []

    def prove() -> None:
        start.wait()
        results.append(verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines))

    threads = [threading.Thread(target=prove) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 3 and all(r.verified for r in results), results
    assert len({_outcome(r) for r in results}) == 1
    counts = _templates(engines).counts
    assert (counts.built, counts.served) == (1, 3)


def test_the_least_recently_used_template_is_dropped_beyond_the_bound(
    engines_on: Callable[..., ScratchEngines], engine_db: Callable[[str], ScratchDatabase]
) -> None:
    engines = engines_on(1)
    templates = _templates(engines)
    verify(Dialect.POSTGRES, NEWER, RIGHT, OLDER, engines=engines)
    (first,) = templates.counts.kept

    other = [*NEWER, "CREATE TABLE other (id int);"]
    verify(Dialect.POSTGRES, other, RIGHT, OLDER, engines=engines)
    templates.settle()

    (second,) = templates.counts.kept
    databases = _databases(engine_db("postgres"))
    assert first not in databases
    assert databases[second] == (True, False)


def test_the_key_covers_every_statement_its_order_and_boundaries_and_the_session() -> None:
    base = history_key("deployed", "PostgreSQL 17.5", ("SET a = 1",), ("s1", "s2"))

    assert base == history_key("deployed", "PostgreSQL 17.5", ("SET a = 1",), ("s1", "s2"))
    assert (
        len(
            {
                base,
                history_key("deployed", "PostgreSQL 17.5", ("SET a = 1",), ("s2", "s1")),
                history_key("deployed", "PostgreSQL 17.5", ("SET a = 1",), ("s1s2",)),
                history_key("deployed", "PostgreSQL 17.5", ("SET a = 1",), ("s1", "s2", "")),
                history_key("deployed", "PostgreSQL 17.5", ("SET a = 2",), ("s1", "s2")),
                history_key("deployed", "PostgreSQL 17.6", ("SET a = 1",), ("s1", "s2")),
                history_key("reverted-to", "PostgreSQL 17.5", ("SET a = 1",), ("s1", "s2")),
            }
        )
        == 7
    )
