"""The down-migration: what gates it, what it keeps as renames, and when it falls back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import changes as ch
from bot.core.down import Down, Method, compute_down, down_between, split_unmodelled
from bot.core.down_order import implied_by_drops, views_last
from bot.core.model import Column, Dialect, Index, IndexPart, QName, Schema, Unique, View
from bot.core.render import Rendered
from bot.core.replay import Migration, ParseCache, Step, Unmodelled, replay_sql

P = Dialect.POSTGRES
T = QName("t")

DROP_EMAIL = Rendered("ALTER TABLE users DROP COLUMN email", "drop_column", "users.email")


def old(sql: str) -> Unmodelled:
    return Unmodelled("1.sql", 3, sql, "not modelled")


def test_an_old_statement_about_another_table_is_listed_not_gating() -> None:
    u = old("ALTER TABLE orders SET (fillfactor = 70)")
    assert split_unmodelled([u], [DROP_EMAIL], ["2.sql"]) == ((), (u,))


def test_an_old_statement_naming_a_table_the_down_changes_gates_whatever_its_case() -> None:
    u = old("ALTER TABLE Users SET (fillfactor = 70)")
    assert split_unmodelled([u], [DROP_EMAIL], ["2.sql"]) == ((u,), ())


def test_a_statement_in_a_migration_being_undone_gates_even_about_another_table() -> None:
    u = Unmodelled("2.sql", 1, "ALTER TABLE orders SET (fillfactor = 70)", "not modelled")
    assert split_unmodelled([u], [DROP_EMAIL], ["2.sql"]) == ((u,), ())


def test_a_statement_that_could_not_be_read_at_all_gates() -> None:
    u = old("  \n")
    assert split_unmodelled([u], [DROP_EMAIL], []) == ((u,), ())


@pytest.mark.parametrize("word", ["EXECUTE", "prepare", "format"])
def test_dynamic_sql_gates_because_it_names_its_objects_at_run_time(word: str) -> None:
    u = old(f"DO $$ BEGIN {word} 'x'; END $$")
    assert split_unmodelled([u], [DROP_EMAIL], []) == ((u,), ())


@pytest.mark.parametrize("word", ["index", "trigger", "function", "extension", "policy"])
def test_the_kind_words_of_an_object_name_nothing_that_gates(word: str) -> None:
    dropped = Rendered("DROP …", "drop_opaque", f"{word} audit_x ON users")
    u = old(f"CREATE {word.upper()} other_thing ON orders")
    assert split_unmodelled([u], [dropped], []) == ((), (u,))


def sqls(down: Down) -> list[str]:
    return [s.sql for s in down.statements]


def schema(sql: str) -> Schema:
    return replay_sql(sql, P).schema


def renamed(old: str, new: str) -> list[Step]:
    """A step that knows of one column rename only, so inverting it falls short."""
    return [Step("2.sql", (ch.RenameColumn(T, old, new),), ())]


def test_a_renamed_column_goes_back_as_a_rename_when_the_diff_is_used() -> None:
    older, newer = (
        schema("CREATE TABLE t (id int, a int, c int);"),
        schema("CREATE TABLE t (id int, b int);"),
    )
    down = compute_down(newer, older, renamed("a", "b"))
    assert down.method is Method.DIFF
    assert down.note == (
        "inverting the migration did not reach the older schema; used the schema diff"
    )
    assert sqls(down) == [
        "ALTER TABLE t RENAME COLUMN b TO a",
        "ALTER TABLE t ADD COLUMN c integer",
    ]


def test_a_rename_onto_a_name_older_also_has_still_goes_back() -> None:
    """Older has both `a` and `b`: the migration dropped `b` and renamed `a` to it, so newer's
    `b` holds `a`'s values. They go back to `a`; `b` comes back empty (its values went with the
    drop). Keeping them in `b` put them silently in the wrong column (fuzz seed 8153)."""
    older, newer = (
        schema("CREATE TABLE t (id int, a int, b int);"),
        schema("CREATE TABLE t (id int, b int, c int);"),
    )
    down = compute_down(newer, older, renamed("a", "b"))
    assert sqls(down) == [
        "ALTER TABLE t RENAME COLUMN b TO a",
        "ALTER TABLE t DROP COLUMN c",
        "ALTER TABLE t ADD COLUMN b integer",
    ]


def test_a_rename_to_a_name_older_lacks_is_not_kept() -> None:
    older, newer = schema("CREATE TABLE t (id int);"), schema("CREATE TABLE t (id int, b int);")
    assert sqls(compute_down(newer, older, renamed("a", "b"))) == ["ALTER TABLE t DROP COLUMN b"]
    older = schema("CREATE TABLE k (id int);")
    newer = schema("CREATE TABLE k (id int); CREATE TABLE t9 (id int);")
    undone = [Step("2.sql", (ch.RenameTable(QName("t5"), QName("t9")),), ())]
    assert sqls(compute_down(newer, older, undone)) == ["DROP TABLE t9"]


def test_a_table_rename_onto_a_table_older_still_has_is_not_kept() -> None:
    older = schema("CREATE TABLE t5 (id int); CREATE TABLE t9 (id int, x int);")
    newer = schema("CREATE TABLE t9 (id int);")
    undone = [Step("2.sql", (ch.RenameTable(QName("t5"), QName("t9")),), ())]
    assert [type(c) for c in compute_down(newer, older, undone).changes] == [
        ch.AddColumn,
        ch.CreateTable,
    ]


def test_a_swap_of_two_tables_names_both_in_the_note() -> None:
    base = [Migration("1.sql", "CREATE TABLE a (id int); CREATE TABLE b (id int);")]
    swap = "".join(
        f"CREATE TABLE {t}_new (id bigint); DROP TABLE {t}; ALTER TABLE {t}_new RENAME TO {t};"
        for t in "ab"
    )
    down = down_between([*base, Migration("2.sql", swap)], base, P)
    assert down.note is not None and "would re-create a, b empty" in down.note


@pytest.mark.parametrize(
    ("name", "swap"),
    [
        ("t", "CREATE TABLE t_new (id bigint); DROP TABLE t; ALTER TABLE t_new RENAME TO t;"),
        (
            '"Users"',
            'CREATE TABLE "Users_new" (id bigint); DROP TABLE "Users";'
            ' ALTER TABLE "Users_new" RENAME TO "Users";',
        ),
    ],
)
def test_inverting_a_shadow_table_swap_would_lose_the_rows_so_the_diff_alters_in_place(
    name: str, swap: str
) -> None:
    base = [Migration("1.sql", f"CREATE TABLE {name} (id int);")]
    down = down_between([*base, Migration("2.sql", swap)], base, P)
    assert down.method is Method.DIFF
    assert down.note == (
        f"inverting the migration would re-create {name.strip(chr(34))} empty"
        " and drop the table holding its rows; used the schema diff"
    )
    assert sqls(down) == [f"ALTER TABLE {name} ALTER COLUMN id TYPE integer"]


@pytest.mark.parametrize(
    "refill",
    [
        # into a view over the new table: its rows land in t
        "CREATE VIEW t_in AS SELECT id FROM t; INSERT INTO t_in SELECT id FROM bak;"
        " DROP VIEW t_in;",
        # through a DO block, which the model does not read
        "DO $$ BEGIN INSERT INTO t SELECT id FROM bak; END $$;",
        # a trigger on the log table copies into t
        "CREATE TABLE log (id int); CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN INSERT INTO t VALUES (NEW.id); RETURN NEW; END $$;"
        " CREATE TRIGGER tr AFTER INSERT ON log FOR EACH ROW EXECUTE FUNCTION f();"
        " INSERT INTO log SELECT id FROM bak;",
    ],
)
def test_rows_put_back_without_an_insert_naming_the_table_keep_it_rebuilt(refill: str) -> None:
    """Rows reach the new t some other way (review of fuzz seed 7776's fix): inverting would
    drop it with them, so the diff alters t in place."""
    base = [Migration("1.sql", "CREATE TABLE t (id int);")]
    replaced = (
        "CREATE TABLE bak (id int); INSERT INTO bak SELECT id FROM t; DROP TABLE t;"
        f" CREATE TABLE t (id bigint); {refill} DROP TABLE bak;"
    )
    computed = down_between([*base, Migration("2.sql", replaced)], base, P)
    assert computed.method is Method.DIFF
    assert "ALTER TABLE t ALTER COLUMN id TYPE integer" in sqls(computed)
    assert "DROP TABLE t" not in sqls(computed)


def test_a_partition_refilled_through_its_parent_is_not_dropped() -> None:
    base = [
        Migration(
            "1.sql",
            "CREATE TABLE m (id int, d date) PARTITION BY RANGE (d);"
            " CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        )
    ]
    replaced = (
        "CREATE TABLE bak (id int, d date); INSERT INTO bak SELECT id, d FROM m_2024;"
        " DROP TABLE m_2024; CREATE TABLE m_2024 PARTITION OF m"
        " FOR VALUES FROM ('2024-01-01') TO ('2025-06-01');"
        " INSERT INTO m SELECT id, d FROM bak; DROP TABLE bak;"
    )
    computed = down_between([*base, Migration("2.sql", replaced)], base, P)
    assert computed.method is Method.DIFF
    assert not any(s.startswith("DROP TABLE m_2024") for s in sqls(computed))


@pytest.mark.parametrize(
    ("replaced", "method", "down"),
    [
        (
            "DROP TABLE t; CREATE TABLE t (id bigint);",
            Method.INVERSION,
            ["DROP TABLE t", "CREATE TABLE t (\n  id integer\n)"],
        ),
        (
            "CREATE TABLE t_bak AS SELECT * FROM t; DROP TABLE t; CREATE TABLE t (id bigint);"
            " INSERT INTO t SELECT * FROM t_bak; DROP TABLE t_bak;",
            Method.DIFF,
            ["ALTER TABLE t ALTER COLUMN id TYPE integer"],
        ),
        (  # rows go into another table only: t got none (fuzz seed 7776)
            "DROP TABLE t; CREATE TABLE t (id bigint); CREATE TABLE log (what text);"
            " INSERT INTO log (what) VALUES ('t replaced'); UPDATE log SET what = 'x';",
            Method.INVERSION,
            ["DROP TABLE log", "DROP TABLE t", "CREATE TABLE t (\n  id integer\n)"],
        ),
        (  # rows moved in a way not read: any table may hold them
            "DROP TABLE t; CREATE TABLE t (id bigint); CREATE TABLE log (what text);"
            " WITH x AS (SELECT 1) INSERT INTO log SELECT 'a' FROM x;",
            Method.DIFF,
            ["DROP TABLE log", "ALTER TABLE t ALTER COLUMN id TYPE integer"],
        ),
    ],
)
def test_a_table_made_again_after_its_drop_holds_its_rows_only_if_the_migration_copies_them(
    replaced: str, method: Method, down: list[str]
) -> None:
    """Made after the drop, the new t can hold old rows only through a statement moving them."""
    base = [Migration("1.sql", "CREATE TABLE t (id int);")]
    computed = down_between([*base, Migration("2.sql", replaced)], base, P)
    assert (computed.method, sqls(computed)) == (method, down)


def test_a_shadow_table_swap_leaves_the_other_renames_to_go_back_as_renames() -> None:
    """Only the swap's own renames lose rows; a column renamed elsewhere keeps its values."""
    base = [Migration("1.sql", "CREATE TABLE t (id int); CREATE TABLE u (id int, a int);")]
    swap = Migration(
        "2.sql",
        "CREATE TABLE t_new (id bigint); DROP TABLE t; ALTER TABLE t_new RENAME TO t;"
        " ALTER TABLE u RENAME COLUMN a TO b;",
    )
    down = down_between([*base, swap], base, P)
    assert down.method is Method.DIFF
    assert sqls(down) == [
        "ALTER TABLE u RENAME COLUMN b TO a",
        "ALTER TABLE t ALTER COLUMN id TYPE integer",
    ]


def test_a_rename_whose_name_is_taken_does_not_stop_the_others() -> None:
    older = schema("CREATE TABLE t (id int, a int); CREATE TABLE u (id int, x int);")
    newer = schema("CREATE TABLE t (id int, b int); CREATE TABLE u (id int, y int, x text);")
    undone = [
        Step(
            "2.sql",
            (ch.RenameColumn(T, "a", "b"), ch.RenameColumn(QName("u"), "x", "y")),
            (),
        )
    ]
    down = compute_down(newer, older, undone)
    assert down.method is Method.DIFF
    assert sqls(down)[0] == "ALTER TABLE t RENAME COLUMN b TO a"
    assert "ALTER TABLE u DROP COLUMN y" in sqls(down)


def test_a_table_renamed_aside_comes_back_by_rename() -> None:
    """The rows were kept under the other name: inverting is right, nothing is lost."""
    base = [Migration("1.sql", "CREATE TABLE t (id int);")]
    aside = Migration("2.sql", "ALTER TABLE t RENAME TO t_old; CREATE TABLE t (id bigint);")
    down = down_between([*base, aside], base, P)
    assert down.method is Method.INVERSION
    assert sqls(down) == ["DROP TABLE t", "ALTER TABLE t_old RENAME TO t"]


def test_a_scratch_table_created_and_dropped_is_no_table_losing_rows() -> None:
    base = [Migration("1.sql", "CREATE TABLE t (id int);")]
    scratch = Migration(
        "2.sql", "CREATE TABLE s (id int); ALTER TABLE t ADD COLUMN a int; DROP TABLE s;"
    )
    down = down_between([*base, scratch], base, P)
    assert down.method is Method.INVERSION
    assert sqls(down)[1:] == ["ALTER TABLE t DROP COLUMN a", "DROP TABLE s"]


@pytest.mark.parametrize("where", ["", " where a ~ 'x'"])  # `~` is PostgreSQL's alone
def test_a_view_rebound_through_a_rename_and_back_counts_as_restored(where: str) -> None:
    """The state spells the re-bound view its own way; the same query is the same view."""
    base = [
        Migration("1.sql", f"CREATE TABLE t (a text);\nCREATE VIEW v AS select a from t{where};")
    ]
    newer = [*base, Migration("2.sql", "ALTER TABLE t RENAME COLUMN a TO b;")]
    down = down_between(newer, base, P)
    assert (down.method, sqls(down)) == (Method.INVERSION, ["ALTER TABLE t RENAME COLUMN b TO a"])


def with_view(s: Schema, definition: str) -> Schema:
    return replace(s, views={("", "v"): View(QName("v"), definition)})


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        ("SELECT a, a AS b FROM t", "select a from t"),
        ("SELECT a FROM t WHERE (", "SELECT ((( FROM"),  # sqlglot cannot read either
    ],
)
def test_a_view_the_inversion_leaves_different_falls_back_to_the_diff(
    newer: str, older: str
) -> None:
    t = schema("CREATE TABLE t (a int);")
    down = compute_down(with_view(t, newer), with_view(t, older), [])
    assert down.method is Method.DIFF
    assert [c.view.definition for c in down.changes if isinstance(c, ch.CreateView)] == [older]


def test_an_unreadable_view_left_as_it_was_counts_as_restored() -> None:
    t = with_view(schema("CREATE TABLE t (a int);"), "SELECT a FROM t WHERE (")
    down = compute_down(t, replace(t), [])
    assert (down.method, down.changes) == (Method.INVERSION, ())


def col(name: str, type_: str = "integer") -> Column:
    return Column(name, type_)


def test_postgres_leaves_out_changes_to_a_column_the_down_drops_afterwards() -> None:
    alter = ch.AlterColumn(T, col("c"), col("c", "bigint"))
    idx = ch.DropIndex(Index("t_c", T, (IndexPart("c"),)))
    uniq = ch.DropConstraint(T, Unique("t_c_key", ("c",)))
    drop = ch.DropColumn(T, col("c"))
    assert implied_by_drops([alter, idx, uniq, drop], P) == [drop]
    assert implied_by_drops([alter, idx, uniq, drop], Dialect.SQLITE) == [alter, idx, uniq, drop]


def test_an_index_or_constraint_whose_name_comes_back_is_dropped_explicitly() -> None:
    idx = ch.DropIndex(Index("t_c", T, (IndexPart("c"),)))
    uniq = ch.DropConstraint(T, Unique("t_c_key", ("c",)))
    drop = ch.DropColumn(T, col("c"))
    again_idx = ch.CreateIndex(Index("t_c", T, (IndexPart("d"),)))
    again_uniq = ch.AddConstraint(T, Unique("t_c_key", ("d",)))
    assert implied_by_drops([idx, drop, again_idx], P) == [idx, drop, again_idx]
    assert implied_by_drops([uniq, drop, again_uniq], P) == [uniq, drop, again_uniq]


def test_a_column_dropped_before_the_change_does_not_imply_it() -> None:
    drop = ch.DropColumn(T, col("c"))
    alter = ch.AlterColumn(T, col("c"), col("c", "bigint"))
    assert implied_by_drops([drop, alter], P) == [drop, alter]


def test_a_view_restored_before_the_table_it_reads_moves_after_it() -> None:
    view = ch.CreateView(View(QName("v"), "SELECT id FROM t"))
    table = ch.CreateTable(replay_sql("CREATE TABLE t (id int);", P).schema.tables[("", "t")])
    other = ch.CreateTable(replay_sql("CREATE TABLE tt (id int);", P).schema.tables[("", "tt")])
    assert views_last([view, other, table]) == [other, table, view]


def test_an_edited_migration_is_diffed_and_what_neither_history_models_is_reported_once() -> None:
    odd = "DO $$ BEGIN PERFORM 1; END $$;"  # a DO block of no known shape: never modelled
    older = [Migration("1.sql", f"CREATE TABLE t (id int);\n{odd}")]
    newer = [Migration("1.sql", f"CREATE TABLE t (id int, a int);\n{odd}")]
    down = down_between(newer, older, P)
    assert (down.method, sqls(down)) == (Method.DIFF, ["ALTER TABLE t DROP COLUMN a"])
    assert down.note is None  # nothing was inverted, so there is nothing to explain
    assert [(u.file, u.line) for u in down.unmodelled] == [("1.sql", 2)]
    gone = [Migration("0.sql", "CREATE TABLE t (id int);\nDO $$ BEGIN PERFORM 2; END $$;")]
    down = down_between(newer, gone, P)
    assert [u.file for u in down.unmodelled] == ["1.sql", "0.sql"]


def test_a_revert_that_undoes_no_migration_has_an_empty_inverted_down() -> None:
    history = [Migration("1.sql", "CREATE TABLE t (id int);")]
    down = down_between(history, list(history), P)
    assert (down.method, down.changes, down.complete) == (Method.INVERSION, (), True)


@pytest.mark.parametrize("edited", [False, True])
def test_planning_again_with_the_callers_cache_replays_nothing(edited: bool) -> None:
    older = [Migration("1.sql", "CREATE TABLE t (id int);")]
    newer = [Migration("1.sql", "CREATE TABLE t (id int, a int);" if edited else older[0].sql)]
    newer.append(Migration("2.sql", "ALTER TABLE t ADD COLUMN b int;"))
    cache = ParseCache()
    first = down_between(newer, older, P, cache)
    hits = cache.hits
    assert down_between(newer, older, P, cache) == first
    assert cache.hits == hits + 2


def test_an_inversion_that_cannot_be_applied_says_why_the_diff_was_used() -> None:
    older, newer = schema("CREATE TABLE t (id int);"), schema("CREATE TABLE t (id int, a int);")
    down = compute_down(newer, older, renamed("x", "y"))  # `y` is not in the newer schema
    assert (down.method, sqls(down)) == (Method.DIFF, ["ALTER TABLE t DROP COLUMN a"])
    assert down.note is not None and down.note.startswith("inverting the migration failed (")


@pytest.mark.parametrize(
    ("older", "newer", "down"),
    [
        # `"Note"` is not `note` in PostgreSQL: renaming onto `note` would not restore it
        (
            'CREATE TABLE t (id int, "Note" int);',
            "CREATE TABLE t (id int, note_2 int);",
            ["ALTER TABLE t DROP COLUMN note_2", 'ALTER TABLE t ADD COLUMN "Note" integer'],
        ),
        # and a `"B"` in the older schema does not stop `b` going back to `a`
        (
            'CREATE TABLE t (id int, a int, "B" int);',
            "CREATE TABLE t (id int, b int);",
            ["ALTER TABLE t RENAME COLUMN b TO a", 'ALTER TABLE t ADD COLUMN "B" integer'],
        ),
    ],
)
def test_postgres_column_names_are_matched_exactly_when_keeping_renames(
    older: str, newer: str, down: list[str]
) -> None:
    old, new = ("note", "note_2") if "Note" in older else ("a", "b")
    assert sqls(compute_down(schema(newer), schema(older), renamed(old, new))) == down


def view(definition: str) -> ch.CreateView:
    return ch.CreateView(View(QName("v"), definition))


def test_a_view_reading_every_column_waits_for_a_column_drop_and_others_do_not() -> None:
    drop = ch.DropColumn(T, col("c"))
    assert views_last([view("SELECT * FROM t"), drop]) == [drop, view("SELECT * FROM t")]
    assert views_last([view("SELECT id FROM t"), drop]) == [view("SELECT id FROM t"), drop]


def test_a_moved_view_says_the_names_the_renames_it_now_follows_give() -> None:
    """The engine follows later renames itself: the view names the table as it is then."""
    to_u = ch.RenameTable(T, QName("u"))
    to_w = ch.RenameTable(QName("u"), QName("w"))
    out = views_last([view("SELECT id FROM t"), to_u, to_w])
    assert out == [to_u, to_w, view("SELECT id FROM w")]


def test_every_view_restored_too_early_moves() -> None:
    table = ch.CreateTable(schema("CREATE TABLE t (id int);").tables[("", "t")])
    v1, v2 = view("SELECT id FROM t"), ch.CreateView(View(QName("v2"), "SELECT 1 FROM t"))
    out = views_last([v1, v2, table])
    assert out[0] == table and set(out[1:]) == {v1, v2}


def test_a_view_sqlglot_cannot_tokenize_is_compared_as_written() -> None:
    # an unterminated dollar quote raises TokenError, not ParseError: the down must not crash
    from bot.core.down_order import canonical as _canonical
    from bot.core.model import QName, Schema, View

    view = View(QName("v"), "SELECT $$abc")
    schema = Schema(Dialect.POSTGRES, views={("", "v"): view})
    assert _canonical(schema).views[("", "v")] == view


@pytest.mark.parametrize(
    ("column", "gap"),
    [
        ("c bigint NOT NULL", True),
        ("c bigint NOT NULL DEFAULT 0", False),
        ("c bigint", False),
        ("c bigint GENERATED ALWAYS AS IDENTITY", False),
        ("c serial", False),
    ],
)
def test_a_postgres_column_back_not_null_with_nothing_to_fill_it_is_a_gap(
    column: str, gap: bool
) -> None:
    """ADD COLUMN ... NOT NULL without a default fails on any row: the plan says so."""
    history = [Migration("1.sql", f"CREATE TABLE t (id integer PRIMARY KEY, {column})")]
    dropped = Migration("2.sql", "ALTER TABLE t DROP COLUMN c")
    down = down_between([*history, dropped], history, P)
    reasons = [u.reason for u in down.unmodelled]
    assert any(r.startswith("t.c comes back NOT NULL without a default") for r in reasons) is gap


def test_a_postgres_table_the_down_creates_takes_a_not_null_column_without_a_gap() -> None:
    """The down re-creates the table empty: nothing to fill."""
    history = [Migration("1.sql", "CREATE TABLE t (id integer PRIMARY KEY, c bigint NOT NULL)")]
    dropped = Migration("2.sql", "ALTER TABLE t DROP COLUMN c; DROP TABLE t")
    down = down_between([*history, dropped], history, P)
    assert down.unmodelled == ()


def test_a_sqlite_unique_column_back_with_only_its_default_is_a_gap() -> None:
    """The rebuild gives every row the default: a second row breaks UNIQUE (fuzz seed 79)."""
    table = "CREATE TABLE t (id INTEGER PRIMARY KEY, c TEXT DEFAULT 'x' UNIQUE)"
    history = [Migration("1.sql", table)]
    rebuilt = Migration(
        "2.sql",
        "CREATE TABLE t_new (id INTEGER PRIMARY KEY); INSERT INTO t_new SELECT id FROM t;"
        " DROP TABLE t; ALTER TABLE t_new RENAME TO t;",
    )
    down = down_between([*history, rebuilt], history, Dialect.SQLITE)
    assert not down.complete
    assert [u.reason.split(",")[0] for u in down.unmodelled] == ["t.c comes back UNIQUE"]


M = Dialect.MYSQL


@pytest.mark.parametrize(
    ("deployed", "complete"),
    [("DEFAULT CHARSET=latin1", False), ("ENGINE=InnoDB default charset = UTF8MB4", True)],
)
def test_mysql_diff_keeping_a_table_whose_default_charset_differs_is_incomplete(
    deployed: str, complete: bool
) -> None:
    # fuzz seed 1362 (MariaDB): the table kept by the diff stays latin1, and the columns the
    # down adds back take latin1 too, where the older table had utf8mb4
    base = [
        Migration("1.sql", "CREATE TABLE g (id INT PRIMARY KEY, c INT) DEFAULT CHARSET=utf8mb4;")
    ]
    swap = (
        "RENAME TABLE g TO t2;"
        f" CREATE TABLE g (id INT PRIMARY KEY, v TEXT) {deployed};"
        " DROP TABLE t2;"
    )
    down = down_between([*base, Migration("2.sql", swap)], base, M)
    assert down.method is Method.DIFF
    assert any("ADD COLUMN c INT" in s for s in sqls(down))
    assert down.complete is complete
    if not complete:
        (gap,) = down.unmodelled
        assert "table g's default character set or collation differs" in gap.reason
        assert "SET=latin1 deployed, DEFAULT CHARACTER SET=utf8mb4 before" in gap.reason


def test_an_edited_migration_keeps_what_the_diffs_own_sql_cannot_do() -> None:
    # the histories diverge (the file was edited), so the schemas are diffed: a column that
    # comes back NOT NULL with nothing to fill it still makes the down incomplete
    older = [Migration("1.sql", "CREATE TABLE t (id int, a int NOT NULL);")]
    newer = [Migration("1.sql", "CREATE TABLE t (id int);")]
    down = down_between(newer, older, P)
    assert sqls(down) == ["ALTER TABLE t ADD COLUMN a integer NOT NULL"]
    assert not down.complete
    assert "t.a comes back NOT NULL without a default" in down.unmodelled[0].reason


def test_mysql_diff_restores_the_engine_and_reports_the_charset_it_leaves() -> None:
    older = [Migration("1.sql", "CREATE TABLE t (id INT PRIMARY KEY, v TEXT);")]
    newer = [
        Migration(
            "1.sql",
            "CREATE TABLE t (id INT PRIMARY KEY, v TEXT) ENGINE=MyISAM DEFAULT CHARSET=latin1;",
        )
    ]
    down = down_between(newer, older, M)
    assert sqls(down) == ["ALTER TABLE t ENGINE=InnoDB"]
    (gap,) = down.unmodelled
    assert "table t's default character set or collation differs" in gap.reason


@pytest.mark.parametrize(("check", "complete"), [(" CHECK (v > 0)", False), ("", True)])
def test_mysql_column_back_not_null_under_a_check_is_incomplete(check: str, complete: bool) -> None:
    # fuzz seed 2181 (MariaDB): the re-added column holds 0 on every row, and the CHECK put
    # back on it refuses 0; without a CHECK the implicit default is a value like any other
    base = [Migration("1.sql", f"CREATE TABLE t (id INT PRIMARY KEY, v BIGINT NOT NULL{check});")]
    undone = Migration(
        "2.sql", "ALTER TABLE t MODIFY COLUMN v INT NOT NULL; ALTER TABLE t DROP COLUMN v;"
    )
    down = down_between([*base, undone], base, M)
    assert down.complete is complete
    if not complete:
        assert "t.v comes back NOT NULL without a default" in down.unmodelled[0].reason
        assert "CHECK" in down.unmodelled[0].reason


@pytest.mark.parametrize("dialect", [Dialect.POSTGRES, Dialect.MYSQL, Dialect.SQLITE])
def test_the_diff_fallback_keeps_a_table_renamed_twice_as_a_rename(dialect: Dialect) -> None:
    # (bench/fuzz.py PostgreSQL seed 4354) t1 -> "Group" -> "my tab": undone step by step, the
    # first rename lands on a name the older schema lacks, so neither was kept and the fallback
    # dropped "my tab" with its rows and created t1 empty, calling the down complete
    from bot.core import down as down_module
    from bot.core.down import apply_changes, reverse_all

    q = '"' if dialect is not Dialect.MYSQL else "`"
    older = replay_sql("CREATE TABLE t1 (id integer PRIMARY KEY, b integer);", dialect)
    undone = replay_sql(
        f"ALTER TABLE t1 RENAME TO {q}Group{q};"
        f" ALTER TABLE {q}Group{q} RENAME COLUMN b TO c;"
        f" ALTER TABLE {q}Group{q} RENAME TO {q}my tab{q};",
        dialect,
        older.schema,
    )
    inverse = reverse_all([c for s in undone.steps for c in s.changes])
    renames = [c for c in inverse if isinstance(c, (ch.RenameTable, ch.RenameColumn))]
    changes, _ = down_module._diff_keeping_renames(undone.schema, older.schema, renames)
    assert not [c for c in changes if isinstance(c, (ch.DropTable, ch.CreateTable))], changes
    assert changes == [
        ch.RenameTable(QName("my tab"), QName("t1")),
        ch.RenameColumn(QName("t1"), "c", "b"),
    ]
    assert apply_changes(undone.schema, changes) == older.schema


def test_the_diff_fallback_undoes_a_column_rename_in_a_renamed_table() -> None:
    # (fuzz seeds 1535, 1842) the column's rename is undone while its table has the newer
    # name, which the older schema does not know: it was dropped and added back empty
    from bot.core import down as down_module
    from bot.core.down import apply_changes, reverse_all

    older = replay_sql('CREATE TABLE "my tab" (id integer PRIMARY KEY, c text, f date);', P)
    undone = replay_sql(
        'ALTER TABLE "my tab" RENAME TO "order"; ALTER TABLE "order" RENAME COLUMN f TO "my col";',
        P,
        older.schema,
    )
    inverse = reverse_all([c for s in undone.steps for c in s.changes])
    renames = [c for c in inverse if isinstance(c, (ch.RenameTable, ch.RenameColumn))]
    changes, _ = down_module._diff_keeping_renames(undone.schema, older.schema, renames)
    assert changes == [
        ch.RenameColumn(QName("order"), "my col", "f"),
        ch.RenameTable(QName("order"), QName("my tab")),
    ]
    assert apply_changes(undone.schema, changes) == older.schema


@pytest.mark.parametrize(
    ("parent", "gap"),
    [
        # the key names (id, k) of a table without k: SQLite refuses every row of the child
        ("CREATE TABLE o (id INTEGER PRIMARY KEY);", True),
        ("CREATE TABLE o (id INTEGER, k INTEGER, UNIQUE (k, id));", False),
        ("CREATE TABLE o (id INTEGER, k INTEGER, PRIMARY KEY (id, k));", False),
        ("CREATE TABLE o (id INTEGER, k INTEGER); CREATE UNIQUE INDEX o_u ON o (id, k);", False),
    ],
)
def test_a_rebuild_of_a_child_whose_key_has_no_parent_key_is_a_gap(parent: str, gap: bool) -> None:
    """fuzz_cli seed 8023: the copy failed with "foreign key mismatch" on a plan said whole."""
    import sqlite3

    child = "CREATE TABLE c (id INTEGER PRIMARY KEY, k INTEGER, FOREIGN KEY (k, id) REFERENCES o (id, k));"
    history = [Migration("1.sql", parent + child)]
    added = Migration("2.sql", "ALTER TABLE c ADD COLUMN a INTEGER CONSTRAINT ck CHECK (a > 0);")
    down = down_between([*history, added], history, Dialect.SQLITE)
    said = [u.reason for u in down.unmodelled if "foreign key mismatch" in u.reason]
    assert bool(said) is gap, down.unmodelled
    # what the engine does with a row there, run as a migration tool runs the file
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(parent + child + added.sql)  # keys off: the row goes in
    db.execute("INSERT INTO c (id, k) VALUES (1, 1)")
    if not gap:
        db.execute("INSERT INTO o (id, k) VALUES (1, 1)")  # the row's parent
    db.execute("PRAGMA foreign_keys=ON")
    script = "".join(f"{s.sql};\n" for s in down.statements if s.sql not in ("BEGIN", "COMMIT"))
    script = "\n".join(line for line in script.splitlines() if "PRAGMA foreign_keys" not in line)
    if gap:
        with pytest.raises(sqlite3.OperationalError, match="foreign key mismatch"):
            db.executescript("BEGIN;\n" + script + "\nCOMMIT;")
    else:
        db.executescript("BEGIN;\n" + script + "\nCOMMIT;")
