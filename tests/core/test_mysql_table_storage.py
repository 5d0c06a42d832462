"""MySQL/MariaDB ALTER TABLE ... ENGINE= / ROW_FORMAT=: modelled, undone, and gated as the
table copy they are. Character set changes stay reported (their column effects are not
modelled)."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.render.mysql_options import storage, storage_sql, with_storage
from bot.core.replay import Migration, replay
from bot.engines import ScratchDatabase
from tests.core.risk.helpers import fired, rollback

M = Dialect.MYSQL
LEGACY = "CREATE TABLE legacy (id int PRIMARY KEY, note text) ENGINE=MyISAM DEFAULT CHARSET=latin1;"


def test_storage_words_are_read_and_rewritten_keeping_the_character_set() -> None:
    written = "ENGINE=MyISAM ROW_FORMAT=fixed DEFAULT CHARACTER SET=latin1"
    assert storage(written) == {"ENGINE": "MyISAM", "ROW_FORMAT": "fixed"}
    assert with_storage(written, {"ENGINE": "InnoDB"}) == (
        "ROW_FORMAT=fixed DEFAULT CHARACTER SET=latin1"
    )
    assert with_storage(None, {"ROW_FORMAT": "DEFAULT", "ENGINE": "Aria"}) == "ENGINE=Aria"
    assert storage_sql(written, None) == "ENGINE=InnoDB ROW_FORMAT=DEFAULT"
    assert storage_sql("engine=innodb", None) is None  # the default, said or not


def test_a_charset_change_is_still_reported_not_silently_dropped() -> None:
    result = replay(
        [
            Migration("1.sql", LEGACY),
            Migration("2.sql", "ALTER TABLE legacy DEFAULT CHARSET=utf8mb4"),
        ],
        M,
    )
    assert any("CHARSET=utf8mb4" in u.reason for u in result.unmodelled)


def test_the_down_of_an_engine_change_is_complete_and_restores_it_on_the_engine(
    engine_db: Callable[[str], ScratchDatabase],
) -> None:
    history = [Migration("1.sql", LEGACY)]
    changed = Migration("2.sql", "ALTER TABLE legacy ENGINE = InnoDB ROW_FORMAT = COMPRESSED")
    down = down_between([*history, changed], history, M)
    assert down.unmodelled == ()
    assert [r.sql for r in down.statements] == [
        "ALTER TABLE legacy ENGINE=MyISAM ROW_FORMAT=DEFAULT"
    ]
    older = engine_db("mysql")
    older.execute([LEGACY])
    undone = engine_db("mysql")
    undone.execute([LEGACY, changed.sql])
    assert undone.catalog() != older.catalog()  # the catalog sees the engine
    undone.execute([r.sql for r in down.statements])
    assert undone.catalog() == older.catalog()


def test_an_engine_change_on_a_table_with_rows_is_a_table_copy() -> None:
    migration = "ALTER TABLE legacy ENGINE=InnoDB;"
    assert "mysql-table-copy" in fired("mysql", LEGACY, migration)
    _, assessment = rollback("mysql", LEGACY, migration)
    words = [f.message for f in assessment.findings() if f.rule == "mysql-table-copy"]
    assert any("ENGINE=MyISAM" in w for w in words), words
