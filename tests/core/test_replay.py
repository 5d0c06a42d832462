"""Replay: what a user relies on beyond the golden cases — nothing is dropped silently."""

from __future__ import annotations

import tracemalloc

import pytest

from bot.core import changes as ch
from bot.core import replay as replay_module
from bot.core.down import Method, compute_down, down_between
from bot.core.model import AutoKind, Dialect, QName
from bot.core.replay import Migration, ParseCache, Step, replay, replay_sql
from bot.core.split import Statement


def test_unparseable_and_procedural_statements_are_reported_with_file_and_line() -> None:
    sql = (
        "CREATE TABLE a (id int PRIMARY KEY);\n"
        "DO $$ BEGIN RAISE NOTICE 'hi'; END $$;\n"
        "CREATE TABLE (;\n"
        "ALTER TABLE a ADD COLUMN b int;\n"
    )
    history = replay_sql(sql, Dialect.POSTGRES, path="001_init.sql")
    reasons = [(u.file, u.line, u.reason.split(":")[0]) for u in history.unmodelled]
    assert reasons == [
        ("001_init.sql", 2, "anonymous code block (DO)"),
        ("001_init.sql", 3, "syntax error"),
    ]
    # The statements around them are still modelled.
    table = history.schema.table(QName("a"))
    assert table is not None and [c.name for c in table.columns] == ["id", "b"]


def test_statement_on_missing_table_is_unmodelled_not_a_crash() -> None:
    history = replay_sql("ALTER TABLE ghost ADD COLUMN x int;", Dialect.POSTGRES)
    assert [u.reason for u in history.unmodelled] == ["table ghost does not exist"]


def test_data_statements_are_recorded_not_replayed() -> None:
    history = replay_sql(
        "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\nUPDATE t SET id = 2;",
        Dialect.SQLITE,
    )
    assert [d.line for d in history.steps[0].data] == [2, 3]
    assert history.unmodelled == ()


def test_postgres_folds_unquoted_names_and_keeps_quoted_ones() -> None:
    history = replay_sql('CREATE TABLE Users ("Email" text, Name text);', Dialect.POSTGRES)
    table = history.schema.table(QName("users"))
    assert table is not None
    assert [c.name for c in table.columns] == ["Email", "name"]


def test_mysql_names_compare_case_insensitively() -> None:
    history = replay_sql(
        "CREATE TABLE Users (Email varchar(10));\nALTER TABLE users MODIFY COLUMN EMAIL varchar(20);",
        Dialect.MYSQL,
    )
    assert history.unmodelled == ()
    table = history.schema.table(QName("users"))
    assert table is not None and table.columns[0].type == "VARCHAR(20)"


def test_serial_is_kept_as_serial_not_identity() -> None:
    # sqlglot rewrites serial to an identity column; PostgreSQL treats them differently.
    history = replay_sql("CREATE TABLE t (id serial PRIMARY KEY);", Dialect.POSTGRES)
    table = history.schema.table(QName("t"))
    assert table is not None and table.columns[0].auto is AutoKind.SERIAL


def test_defaults_keep_the_authors_text() -> None:
    history = replay_sql(
        "CREATE TABLE t (a timestamptz DEFAULT now(), b text DEFAULT 'x'::text, c int DEFAULT -1);",
        Dialect.POSTGRES,
    )
    table = history.schema.table(QName("t"))
    assert table is not None
    assert [c.default for c in table.columns] == ["now()", "'x'::text", "-1"]


def test_rename_is_inverted_as_a_rename() -> None:
    base = [Migration("1.sql", "CREATE TABLE t (a int);")]
    newer = [*base, Migration("2.sql", "ALTER TABLE t RENAME COLUMN a TO b;")]
    down = down_between(newer, base, Dialect.POSTGRES)
    assert down.method is Method.INVERSION
    assert [s.sql for s in down.statements] == ["ALTER TABLE t RENAME COLUMN b TO a"]


def test_dropped_column_comes_back_with_its_definition() -> None:
    base = [Migration("1.sql", "CREATE TABLE t (id int, note varchar(40) NOT NULL DEFAULT 'n/a');")]
    newer = [*base, Migration("2.sql", "ALTER TABLE t DROP COLUMN note;")]
    down = down_between(newer, base, Dialect.POSTGRES)
    (change,) = down.changes
    assert isinstance(change, ch.AddColumn)
    assert change.column.type == "VARCHAR(40)" and not change.column.nullable
    assert change.column.default == "'n/a'"


def test_incomplete_down_says_so() -> None:
    base = [Migration("1.sql", "CREATE TABLE t (id int);")]
    newer = [*base, Migration("2.sql", "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$;")]
    down = down_between(newer, base, Dialect.POSTGRES)
    assert not down.complete
    assert down.unmodelled[0].file == "2.sql"


def test_postgres_drop_column_also_drops_its_indexes_and_the_down_restores_them() -> None:
    base = [
        Migration(
            "1.sql",
            "CREATE TABLE t (id int PRIMARY KEY, a int, b int);\n"
            "CREATE INDEX t_ab ON t (a, b);\nALTER TABLE t ADD CONSTRAINT t_b_pos CHECK (b > 0);",
        )
    ]
    newer = [*base, Migration("2.sql", "ALTER TABLE t DROP COLUMN b;")]
    down = down_between(newer, base, Dialect.POSTGRES)
    kinds = [type(c).__name__ for c in down.changes]
    assert kinds == ["AddColumn", "AddConstraint", "CreateIndex"]


def test_partitioned_table_and_its_partitions_are_modelled_attach_is_reported() -> None:
    history = replay_sql(
        "CREATE TABLE readings (id bigint, taken_at date) PARTITION BY RANGE (taken_at);\n"
        "CREATE TABLE readings_old PARTITION OF readings DEFAULT;\n"
        "CREATE TABLE loose (id bigint, taken_at date);\n"
        "ALTER TABLE readings ATTACH PARTITION loose FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        Dialect.POSTGRES,
    )
    readings = history.schema.table(QName("readings"))
    old = history.schema.table(QName("readings_old"))
    assert readings is not None and readings.partition_by == "RANGE (taken_at)"
    assert old is not None and (old.partition_of, old.partition_bound) == (
        QName("readings"),
        "DEFAULT",
    )
    assert [u.line for u in history.unmodelled] == [4]


def test_renaming_a_constraints_index_renames_the_constraint_and_the_down_renames_it_back() -> None:
    base = [Migration("1.sql", "CREATE TABLE accounts (id int PRIMARY KEY, handle text UNIQUE);")]
    newer = [
        *base,
        Migration(
            "2.sql",
            "ALTER INDEX accounts_pkey RENAME TO accounts_pk;\n"
            "ALTER TABLE accounts RENAME CONSTRAINT accounts_handle_key TO accounts_handle_uniq;",
        ),
    ]
    down = down_between(newer, base, Dialect.POSTGRES)
    assert down.method is Method.INVERSION and down.complete
    assert [s.sql for s in down.statements] == [
        "ALTER TABLE accounts RENAME CONSTRAINT accounts_handle_uniq TO accounts_handle_key",
        "ALTER TABLE accounts RENAME CONSTRAINT accounts_pk TO accounts_pkey",
    ]


def test_exclusion_constraint_is_kept_verbatim_and_dropped_by_name() -> None:
    base = [Migration("1.sql", "CREATE TABLE b (room int, during tstzrange);")]
    add = "ALTER TABLE b ADD CONSTRAINT b_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);"
    newer = [*base, Migration("2.sql", add)]
    down = down_between(newer, base, Dialect.POSTGRES)
    assert down.complete and [s.sql for s in down.statements] == [
        "ALTER TABLE b DROP CONSTRAINT b_no_overlap"
    ]
    # ... and dropping it in a later migration restores the author's definition.
    later = [*newer, Migration("3.sql", "ALTER TABLE b DROP CONSTRAINT b_no_overlap;")]
    back = down_between(later, newer, Dialect.POSTGRES)
    assert [s.sql for s in back.statements] == [
        "ALTER TABLE b ADD CONSTRAINT b_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&)"
    ]


def test_storage_and_behaviour_options_are_modelled() -> None:
    sql = (
        "CREATE TABLE a (id int PRIMARY KEY, b text);\n"
        "ALTER TABLE a OWNER TO app;\n"
        "ALTER TABLE a SET UNLOGGED;\n"
        "ALTER TABLE a SET (fillfactor = 70), ALTER COLUMN b SET STATISTICS 500;\n"
        "ALTER TABLE a CLUSTER ON a_pkey;\n"
        "CREATE UNLOGGED TABLE c (id int);\n"
        "ALTER TABLE a SET (autovacuum_enabled = false), RESET (fillfactor);\n"
    )
    history = replay_sql(sql, Dialect.POSTGRES, path="002.sql")
    assert history.unmodelled == ()
    a = history.schema.table(QName("a"))
    c = history.schema.table(QName("c"))
    assert a is not None and c is not None
    assert (a.unlogged, a.options, a.clustered_on) == (
        True,
        "WITH (autovacuum_enabled=false)",
        "a_pkey",
    )
    assert a.columns[1].statistics == 500
    assert c.unlogged


def test_mysql_engine_and_row_format_changes_are_modelled_and_a_restated_engine_is_a_no_op() -> (
    None
):
    sql = (
        "CREATE TABLE a (id int PRIMARY KEY) ENGINE=InnoDB;\n"
        "ALTER TABLE a ENGINE=InnoDB, ALGORITHM=INPLACE;\n"
        "ALTER TABLE a ENGINE=MyISAM;\n"
        "ALTER TABLE a ROW_FORMAT=COMPRESSED;\n"
        "ALTER TABLE a CONVERT TO CHARACTER SET utf8mb4;\n"
    )
    history = replay_sql(sql, Dialect.MYSQL, path="003.sql")
    kinds = [type(c).__name__ for step in history.steps for c in step.changes]
    assert kinds == ["CreateTable", "SetTableOptions", "SetTableOptions"]
    assert history.schema.tables[("", "a")].options == "ENGINE=MyISAM ROW_FORMAT=COMPRESSED"
    # the character set's effect on the columns is not modelled: said, with its line
    assert [(u.line, u.reason.split(" is not")[0]) for u in history.unmodelled] == [
        (5, "ALTER TABLE a CONVERT TO CHARACTER SET utf8mb4"),
    ]


def test_diff_fallback_keeps_the_migrations_renames() -> None:
    """When inverting does not reach the older schema, the renames still go back as renames."""
    older = replay_sql("CREATE TABLE t5 (id int, b int, c int);", Dialect.POSTGRES).schema
    newer = replay_sql("CREATE TABLE t9 (id int, b int);", Dialect.POSTGRES).schema
    # The step knows of the rename only, not of the dropped column: inversion falls short.
    undone = [Step("2.sql", (ch.RenameTable(QName("t5"), QName("t9")),), ())]
    down = compute_down(newer, older, undone)
    assert down.method is Method.DIFF
    assert [type(c).__name__ for c in down.changes] == ["RenameTable", "AddColumn"]


def test_deep_nesting_and_unknown_types_are_reported_or_kept_never_a_crash() -> None:
    deep = "(" * 500 + "id > 1" + ")" * 500
    sql = (
        "CREATE TABLE docs (id int, lang regconfig, src regclass, blob oid);\n"
        f"ALTER TABLE docs ADD CONSTRAINT deep CHECK ({deep});\n"
        "DROP FUNCTION f_one, f_two;\n"
    )
    history = replay_sql(sql, Dialect.POSTGRES, path="004.sql")
    table = history.schema.table(QName("docs"))
    assert table is not None
    assert [c.type.lower() for c in table.columns] == ["int", "regconfig", "regclass", "oid"]
    assert [(u.line, u.reason) for u in history.unmodelled] == [
        (2, "nested too deeply to analyse"),
        (3, "function f_one does not exist"),
    ]


def test_mysql_call_and_dynamic_sql_are_reported_not_taken_for_data() -> None:
    sql = (
        "CREATE TABLE t (id int);\n"
        "CALL add_columns();\n"
        "SET @s = 'ALTER TABLE t ADD COLUMN x int';\n"
        "PREPARE stmt FROM @s;\n"
        "EXECUTE stmt;\n"
        "DEALLOCATE PREPARE stmt;\n"
    )
    history = replay_sql(sql, Dialect.MYSQL, path="005.sql")
    assert [(u.line, u.reason.split(":")[0]) for u in history.unmodelled] == [
        (2, "CALL runs a stored procedure"),
        (4, "dynamic SQL (PREPARE/EXECUTE)"),
        (5, "dynamic SQL (PREPARE/EXECUTE)"),
    ]
    assert history.steps[0].data == ()


def test_do_block_creating_what_its_catalog_test_does_not_find_is_read_as_that_statement() -> None:
    guarded = (
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = '{name}') THEN "
        "CREATE INDEX {made} ON t (v); END IF; END $$;\n"
    )
    history = replay_sql(
        "CREATE TABLE t (id int PRIMARY KEY, v text);\n"
        + guarded.format(name="t_v_idx", made="t_v_idx")
        + guarded.format(name="t_v_idx", made="t_v_idx")  # found now: does nothing
        + guarded.format(name="other_idx", made="t_v2_idx"),  # tests something else
        Dialect.POSTGRES,
    )
    table = history.schema.table(QName("t"))
    assert table is not None and [i.name for i in table.indexes] == ["t_v_idx"]
    assert [u.line for u in history.unmodelled] == [4]


def test_a_large_file_is_replayed_without_holding_every_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # thousands of DDL statements in one file once held all their trees (4 MB: 500 MB)
    replay([Migration("warm.sql", "CREATE TABLE w (a integer);")], Dialect.POSTGRES)  # imports
    monkeypatch.setattr(replay_module, "CACHED_FILE_BYTES", 10_000)
    sql = "".join(f"CREATE TABLE t{i} (a integer, b text NOT NULL);\n" for i in range(2000))
    cache = ParseCache()
    tracemalloc.start()
    try:
        history = replay([Migration("big.sql", sql)], Dialect.POSTGRES, cache=cache)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(history.schema.tables) == 2000 and not history.steps[0].unmodelled
    # all trees held: ~17 MB; trees freed only at the end (no collection pass): ~12 MB
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1024 / 1024:.0f} MB"
    assert not cache.entries


def test_a_statement_repeated_thousands_of_times_is_not_parsed_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a file's statements repeated up to 16 MB took two minutes to parse, statement by
    # statement; a text seen recently is read again from the tree already made
    parsed: list[str] = []
    parse_one = replay_module._parse_one

    def counting(stmt: Statement, dialect: Dialect) -> object:
        parsed.append(stmt.text)
        return parse_one(stmt, dialect)

    monkeypatch.setattr(replay_module, "_parse_one", counting)
    sql = "CREATE TABLE IF NOT EXISTS t (a integer);\nALTER TABLE t ADD COLUMN IF NOT EXISTS b text;\n"
    sql = sql * 14_000  # over 1 MB
    for text in (sql[: len(sql) // 1000], sql):  # small (cached) and large (read as it goes)
        parsed.clear()
        history = replay([Migration("big.sql", text)], Dialect.POSTGRES)
        (table,) = history.schema.tables.values()
        assert [c.name for c in table.columns] == ["a", "b"]
        assert not history.steps[0].unmodelled
        # each text once in every 256 statements (after which what was read may be freed)
        assert len(parsed) <= 2 * (text.count(";") // 256 + 1)


def test_a_failing_statement_repeated_is_translated_once_until_the_state_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a 16 MB file of one repeated ADD COLUMN (the first succeeds, every copy after fails)
    # was translated 250,000 times; on the same state the same text fails the same way
    from bot.core import translate

    calls: list[str] = []
    original = translate.Translator.translate

    def counting(self: translate.Translator) -> object:
        calls.append("x")
        return original(self)

    monkeypatch.setattr(translate.Translator, "translate", counting)
    add = "ALTER TABLE t ADD COLUMN b integer;\n"
    history = replay_sql("CREATE TABLE t (a integer);\n" + add * 3000, Dialect.MYSQL)
    step = history.steps[0]
    assert len(step.unmodelled) == 2999  # every failing copy is still reported, with its line
    assert {u.reason for u in step.unmodelled} == {step.unmodelled[0].reason}
    assert [u.line for u in step.unmodelled[:2]] == [3, 4]
    assert len(calls) == 3  # CREATE, the first ADD, the first failing copy

    # a statement that changes the state makes the next copy of a failed one run again
    calls.clear()
    sql = (
        "CREATE TABLE t (a integer);\n"
        "ALTER TABLE t DROP COLUMN c;\n"  # fails: no column c
        "ALTER TABLE t ADD COLUMN c integer;\n"
        "ALTER TABLE t DROP COLUMN c;\n"  # now succeeds
        "ALTER TABLE t DROP COLUMN c;\n"  # fails again
    )
    history = replay_sql(sql, Dialect.MYSQL)
    (table,) = history.schema.tables.values()
    assert [c.name for c in table.columns] == ["a"]
    assert [u.line for u in history.steps[0].unmodelled] == [2, 5]
    assert len(calls) == 5


def test_an_identity_sequence_keeps_its_name_through_renames_and_is_read_back() -> None:
    # PostgreSQL keeps the sequence's first name; pg_dump and our schema output write it as
    # (SEQUENCE NAME x), which sqlglot can't parse: the text is blanked for it and read here
    from bot.core.model import Dialect
    from bot.core.replay import replay_sql

    P = Dialect.POSTGRES
    renamed = replay_sql(
        "CREATE TABLE p5 (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int);"
        " ALTER TABLE p5 RENAME TO q; ALTER TABLE q RENAME COLUMN id TO nid;",
        P,
    ).schema
    (table,) = renamed.tables.values()
    assert table.columns[0].sequence == "p5_id_seq"
    written = replay_sql(
        "CREATE TABLE q (nid int GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME p5_id_seq)"
        " PRIMARY KEY, v int);",
        P,
    )
    assert not written.unmodelled
    (read,) = written.schema.tables.values()
    assert read.columns == table.columns
    back = replay_sql(
        "CREATE TABLE q (nid int GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME q_nid_seq));", P
    ).schema
    (plain,) = back.tables.values()
    assert plain.columns[0].sequence is None  # the name PostgreSQL would choose anyway
    added = replay_sql(
        "CREATE TABLE q (nid int NOT NULL);"
        " ALTER TABLE q ALTER COLUMN nid ADD GENERATED BY DEFAULT AS IDENTITY"
        " (SEQUENCE NAME kept_seq);",
        P,
    ).schema
    (t,) = added.tables.values()
    assert t.columns[0].sequence == "kept_seq"
