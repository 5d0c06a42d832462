"""Dropped-integrity rules, word for word: the guarantee a reviewer reads is gone."""

from __future__ import annotations

from tests.core.risk.helpers import said

T = "CREATE TABLE p (x int, y int, PRIMARY KEY (x, y)); CREATE TABLE t (id int NOT NULL, a int, b int);"


def test_each_dropped_guarantee() -> None:
    fk = "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a, b) REFERENCES p (x, y);"
    assert said("postgres", T, fk, "drop-foreign-key") == [
        ("info", "t.fk", "t (a, b) no longer has to reference an existing p row")
    ]
    check = "ALTER TABLE t ADD CONSTRAINT positive CHECK (a > 0);"
    assert said("mysql", T, check, "drop-check") == [
        ("info", "t.positive", "t no longer checks a > 0")
    ]
    unique = "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a, b);"
    assert said("postgres", T, unique, "drop-unique") == [
        ("info", "t.u", "t (a, b) may hold duplicates again")
    ]
    index = "CREATE UNIQUE INDEX t_a ON t (a);"
    assert said("sqlite", T, index, "drop-unique") == [
        ("info", "t_a", "dropping unique index t_a: t may hold duplicates again")
    ]
    pk = "ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (id);"
    assert said("postgres", T, pk, "drop-primary-key") == [
        ("info", "t.t_pkey", "t loses its primary key: duplicate rows are accepted again")
    ]
    not_null = "ALTER TABLE t ALTER COLUMN a SET NOT NULL;"
    assert said("postgres", T, not_null, "drop-not-null") == [
        ("info", "t.a", "t.a accepts NULL again")
    ]


def test_nothing_dropped_nothing_said() -> None:
    rules = ["drop-foreign-key", "drop-check", "drop-unique", "drop-primary-key", "drop-not-null"]
    for migration in [
        "CREATE INDEX t_a ON t (a);",
        "ALTER TABLE t ALTER COLUMN id DROP NOT NULL;",
        "ALTER TABLE t ALTER COLUMN a TYPE bigint;",
    ]:
        for rule in rules:
            assert said("postgres", T, migration, rule) == [], (migration, rule)
