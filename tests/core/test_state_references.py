"""Foreign keys follow a referenced column's rename, found through State's index of referrers
(kept up to date as tables are created, changed, renamed and dropped) rather than a scan."""

from __future__ import annotations

from bot.core import changes as ch
from bot.core.model import Dialect, QName
from bot.core.replay import replay_sql
from bot.core.state import State

PG = Dialect.POSTGRES


def _state(sql: str) -> State:
    return State(PG, replay_sql(sql, PG).schema)


def _refs(state: State, table: str) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (t.name.name, fk.ref_table.name, fk.ref_columns)
        for t, fk in state.referencing(QName(table))
    ]


def test_keys_added_renamed_and_dropped_later_are_followed() -> None:
    state = _state(
        "CREATE TABLE p (id int PRIMARY KEY);"
        "CREATE TABLE a (id int PRIMARY KEY, p_id int REFERENCES p (id));"
        "CREATE TABLE b (id int PRIMARY KEY, p_id int);"
        "CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p (id))"
    )
    assert _refs(state, "p") == [("a", "p", ("id",)), ("c", "p", ("id",))]
    # b gains a key after the index was built, a moves to another name, c goes away
    b = state.require_table(QName("b"))
    fk = state.require_table(QName("a")).foreign_keys[0]
    state.apply(
        ch.AddConstraint(QName("b"), fk.__class__("b_p_fkey", ("p_id",), QName("p"), ("id",)))
    )
    state.apply(ch.RenameTable(QName("a"), QName("a2")))
    state.apply(ch.DropTable(state.require_table(QName("c"))))
    state.apply(ch.RenameColumn(QName("p"), "id", "pid"))
    assert _refs(state, "p") == [("b", "p", ("pid",)), ("a2", "p", ("pid",))]
    assert state.require_table(QName("b")) is not b


def test_the_referenced_table_renamed_keeps_its_referrers() -> None:
    state = _state(
        "CREATE TABLE p (id int PRIMARY KEY);"
        "CREATE TABLE a (id int PRIMARY KEY, p_id int REFERENCES p (id))"
    )
    state.apply(ch.RenameTable(QName("p"), QName("q")))
    state.apply(ch.RenameColumn(QName("q"), "id", "qid"))
    assert [fk.ref_columns for fk in state.require_table(QName("a")).foreign_keys] == [("qid",)]


def test_the_names_registry_built_after_the_index_does_not_count_keys_twice() -> None:
    state = _state(
        "CREATE TABLE p (id int PRIMARY KEY);"
        "CREATE TABLE a (id int PRIMARY KEY, p_id int REFERENCES p (id))"
    )
    assert _refs(state, "p") == [("a", "p", ("id",))]  # the index of references first
    assert "p_pkey" in state.names_in_use()  # then the registry of names
    state.apply(ch.DropTable(state.require_table(QName("a"))))
    assert _refs(state, "p") == []
