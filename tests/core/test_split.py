"""Statement splitting: where each dialect's client would end a statement, and why.

Run as a script to measure throughput: `.venv/bin/python -m tests.core.test_split`.
"""

from __future__ import annotations

import time

import pytest
import sqlglot
from sqlglot import exp

from bot.core.split import SplitError, Statement, split_statements


def texts(sql: str, dialect: str) -> list[str]:
    return [statement.text for statement in split_statements(sql, dialect)]


# --- statement boundaries --------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_top_level_semicolons_end_statements_and_empty_ones_are_dropped(dialect: str) -> None:
    sql = "CREATE TABLE users (id INT PRIMARY KEY);;\n  ;\nALTER TABLE users ADD COLUMN email TEXT ;\n"
    assert texts(sql, dialect) == [
        "CREATE TABLE users (id INT PRIMARY KEY)",
        "ALTER TABLE users ADD COLUMN email TEXT",
    ]


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_last_statement_needs_no_semicolon_but_trailing_comments_are_not_one(dialect: str) -> None:
    assert texts("DROP TABLE audit_log;\nDROP TABLE users", dialect) == [
        "DROP TABLE audit_log",
        "DROP TABLE users",
    ]
    assert texts("DROP TABLE audit_log;\n-- end of migration\n/* generated */\n", dialect) == [
        "DROP TABLE audit_log"
    ]


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_semicolons_in_strings_with_doubled_quotes_do_not_split(dialect: str) -> None:
    sql = "INSERT INTO notes (body) VALUES ('it''s done; ship it');\nDELETE FROM notes;"
    assert texts(sql, dialect) == [
        "INSERT INTO notes (body) VALUES ('it''s done; ship it')",
        "DELETE FROM notes",
    ]


def test_mysql_strings_take_backslash_escapes() -> None:
    insert = r"""INSERT INTO notes VALUES ('it\'s; fine', "say \"hi;\"")"""
    assert texts(insert + ";\nSELECT 1;", "mysql") == [insert, "SELECT 1"]


def test_postgres_backslashes_escape_only_in_e_strings() -> None:
    sql = (
        "INSERT INTO paths VALUES (E'it\\'s; fine');\n"
        "INSERT INTO paths VALUES ('C:\\temp\\');\n"
        "SELECT e'\\\\';"
    )
    assert texts(sql, "postgres") == [
        "INSERT INTO paths VALUES (E'it\\'s; fine')",
        "INSERT INTO paths VALUES ('C:\\temp\\')",
        "SELECT e'\\\\'",
    ]


def test_sqlite_backslash_is_an_ordinary_character() -> None:
    sql = "INSERT INTO paths VALUES ('C:\\temp\\');\nSELECT 2;"
    assert texts(sql, "sqlite") == ["INSERT INTO paths VALUES ('C:\\temp\\')", "SELECT 2"]


@pytest.mark.parametrize(
    ("dialect", "name"),
    [
        ("postgres", '"odd;""name"'),
        ("mysql", "`odd;``name`"),
        ("sqlite", '"odd;""name"'),
        ("sqlite", "`odd;``name`"),
        ("sqlite", "[odd;name]"),
    ],
)
def test_semicolons_in_quoted_identifiers_do_not_split(dialect: str, name: str) -> None:
    sql = f"ALTER TABLE t RENAME COLUMN {name} TO plain;\nSELECT 1;"
    assert texts(sql, dialect) == [f"ALTER TABLE t RENAME COLUMN {name} TO plain", "SELECT 1"]


# --- comments --------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_semicolons_in_line_and_block_comments_do_not_split(dialect: str) -> None:
    sql = "ALTER TABLE t -- was: ; DROP\n  ADD COLUMN a INT /* ; */;\nSELECT 1;"
    assert texts(sql, dialect) == [
        "ALTER TABLE t -- was: ; DROP\n  ADD COLUMN a INT /* ; */",
        "SELECT 1",
    ]


def test_hash_starts_a_comment_only_in_mysql() -> None:
    assert texts("SELECT 1 # one; two\n;", "mysql") == ["SELECT 1 # one; two"]
    assert [s.comments for s in split_statements("# setup\nSELECT 1;", "mysql")] == [("setup",)]


def test_mysql_double_dash_needs_whitespace_to_start_a_comment() -> None:
    # In MySQL `stock--1` is `stock - (-1)`; in PostgreSQL the rest of the line is a comment.
    sql = "UPDATE items SET stock = stock--1;\nSELECT 2;"
    assert texts(sql, "mysql") == ["UPDATE items SET stock = stock--1", "SELECT 2"]
    assert texts(sql, "postgres") == ["UPDATE items SET stock = stock--1;\nSELECT 2"]
    assert texts("SELECT 1 -- done;\n;", "mysql") == ["SELECT 1 -- done;"]


def test_postgres_block_comments_nest() -> None:
    sql = "/* outer /* inner; */ still comment; */ SELECT 1;"
    assert split_statements(sql, "postgres") == [
        Statement("SELECT 1", 1, ("outer /* inner; */ still comment;",))
    ]


def test_sqlite_block_comments_do_not_nest() -> None:
    sql = "/* outer /* inner; */ SELECT 1;"
    assert split_statements(sql, "sqlite") == [Statement("SELECT 1", 1, ("outer /* inner;",))]


def test_mysql_executable_comments_are_statement_text() -> None:
    sql = (
        "/* dump header */\n"
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
        "/*!40101 SET NAMES utf8mb4 */;\n"
        "CREATE TABLE t (id INT) /*!50100 PARTITION BY HASH (id) */;\n"
    )
    assert split_statements(sql, "mysql") == [
        Statement(
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", 2, ("dump header",)
        ),
        Statement("/*!40101 SET NAMES utf8mb4 */", 3),
        Statement("CREATE TABLE t (id INT) /*!50100 PARTITION BY HASH (id) */", 4),
    ]


def test_comments_between_statements_belong_to_the_next_one() -> None:
    sql = (
        "-- 0042_add_email.sql\n"
        "/* adds the column\n   and its index */\n"
        "ALTER TABLE users ADD COLUMN email TEXT; -- nullable for now\n"
        "CREATE INDEX users_email ON users (email);\n"
        "SELECT 1 -- kept: inside the statement\n;"
    )
    assert split_statements(sql, "postgres") == [
        Statement(
            "ALTER TABLE users ADD COLUMN email TEXT",
            4,
            ("0042_add_email.sql", "adds the column\n   and its index"),
        ),
        Statement("CREATE INDEX users_email ON users (email)", 5, ("nullable for now",)),
        Statement("SELECT 1 -- kept: inside the statement", 6),
    ]


# --- PostgreSQL bodies -----------------------------------------------------------------

PG_TRIGGER_FUNCTION = """\
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- a comment inside the body; still the body
  NEW.updated_at := now();
  IF NEW.note = 'x;y' THEN
    RAISE NOTICE 'odd note; keep going';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
"""


def test_postgres_dollar_quoted_function_body_is_one_statement() -> None:
    statements = split_statements(PG_TRIGGER_FUNCTION, "postgres")
    assert [(s.line, s.text.split("\n", 1)[0]) for s in statements] == [
        (1, "CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger"),
        (12, "CREATE TRIGGER users_updated_at BEFORE UPDATE ON users"),
    ]
    assert statements[0].text.endswith("RETURN NEW;\nEND;\n$$")


def test_postgres_dollar_tags_must_match_and_positional_params_are_not_tags() -> None:
    sql = (
        "CREATE FUNCTION add_one(integer) RETURNS integer AS $body$\n"
        "  SELECT $1 + 1; -- $$ here is not the end\n"
        "$body$ LANGUAGE sql;\n"
        "PREPARE by_id AS SELECT * FROM users WHERE id = $1 AND price$ > 0;\n"
        "EXECUTE by_id(1);"
    )
    assert texts(sql, "postgres") == [
        "CREATE FUNCTION add_one(integer) RETURNS integer AS $body$\n"
        "  SELECT $1 + 1; -- $$ here is not the end\n"
        "$body$ LANGUAGE sql",
        "PREPARE by_id AS SELECT * FROM users WHERE id = $1 AND price$ > 0",
        "EXECUTE by_id(1)",
    ]


def test_postgres_begin_atomic_body_is_one_statement() -> None:
    sql = (
        "CREATE PROCEDURE archive_orders(cutoff date)\nLANGUAGE SQL\nBEGIN ATOMIC\n"
        "  INSERT INTO orders_archive SELECT * FROM orders WHERE created < cutoff;\n"
        "  UPDATE stats SET archived = CASE WHEN archived IS NULL THEN 1 ELSE archived + 1 END;\n"
        "  DELETE FROM orders WHERE created < cutoff;\n"
        "END;\n"
        "CALL archive_orders('2020-01-01');"
    )
    statements = split_statements(sql, "postgres")
    assert [s.line for s in statements] == [1, 8]
    assert statements[0].text.endswith("DELETE FROM orders WHERE created < cutoff;\nEND")
    assert statements[1].text == "CALL archive_orders('2020-01-01')"


# --- MySQL bodies ----------------------------------------------------------------------


MYSQL_DELIMITER_TRIGGER = """\
DROP TRIGGER IF EXISTS orders_total;
DELIMITER $$
CREATE TRIGGER orders_total BEFORE INSERT ON orders
FOR EACH ROW
BEGIN
  SET NEW.total = NEW.price * NEW.quantity;
  IF NEW.total < 0 THEN SET NEW.total = 0; END IF;
END$$
delimiter ;
INSERT INTO orders (price, quantity) VALUES (2, 3);
"""


def test_mysql_delimiter_lines_change_the_terminator() -> None:
    statements = split_statements(MYSQL_DELIMITER_TRIGGER, "mysql")
    assert [s.line for s in statements] == [1, 3, 10]
    assert statements[1].text.startswith("CREATE TRIGGER orders_total")
    assert statements[1].text.endswith("END IF;\nEND")
    assert statements[2].text == "INSERT INTO orders (price, quantity) VALUES (2, 3)"


def test_mysqldump_double_semicolon_delimiter() -> None:
    sql = """\
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER ins_sum BEFORE INSERT ON account
FOR EACH ROW BEGIN SET @sum = @sum + NEW.amount; END */;;
DELIMITER ;
UNLOCK TABLES;
"""
    assert texts(sql, "mysql") == [
        "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER ins_sum "
        "BEFORE INSERT ON account\nFOR EACH ROW BEGIN SET @sum = @sum + NEW.amount; END */",
        "UNLOCK TABLES",
    ]


def test_mysql_delimiter_is_only_a_command_at_the_start_of_a_statement_line() -> None:
    # `delimiter` is not reserved in MySQL: a column may be called that.
    sql = "CREATE TABLE csv_formats (\n  delimiter CHAR(1) NOT NULL\n);\nSELECT 1;"
    assert texts(sql, "mysql") == [
        "CREATE TABLE csv_formats (\n  delimiter CHAR(1) NOT NULL\n)",
        "SELECT 1",
    ]


MYSQL_TRIGGER = """\
CREATE DEFINER=`app`@`%` TRIGGER orders_audit AFTER UPDATE ON orders
FOR EACH ROW
BEGIN
  IF NEW.status <> OLD.status THEN
    INSERT INTO order_events (order_id, event) VALUES (NEW.id, CONCAT('status;', NEW.status));
    SET @changed = IF(NEW.status = 'paid', 1, 0);
  ELSEIF NEW.total IS NULL THEN
    SET NEW.total = 0;
  END IF;
  UPDATE stats SET last_end = NEW.end WHERE id = 1;
END;
ALTER TABLE orders ADD COLUMN note TEXT;
"""


def test_mysql_trigger_without_delimiter_keeps_its_body_together() -> None:
    statements = split_statements(MYSQL_TRIGGER, "mysql")
    assert [s.line for s in statements] == [1, 12]
    assert statements[0].text.endswith("WHERE id = 1;\nEND")
    assert statements[1].text == "ALTER TABLE orders ADD COLUMN note TEXT"


def test_mysql_procedure_with_loops_case_labels_and_handlers() -> None:
    sql = """\
CREATE PROCEDURE backfill_totals(IN batch INT)
BEGIN
  DECLARE done INT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  START TRANSACTION;
  batches: LOOP
    UPDATE orders SET total = price * quantity WHERE total IS NULL LIMIT batch;
    IF ROW_COUNT() = 0 THEN LEAVE batches; END IF;
  END LOOP batches;
  WHILE done < 3 DO SET done = done + 1; END WHILE;
  REPEAT SET done = done - 1; UNTIL done = 0 END REPEAT;
  CASE done
    WHEN 0 THEN SELECT CASE WHEN batch > 10 THEN 'big' ELSE 'small' END;
    ELSE SELECT REPEAT('x', 3);
  END CASE;
  DROP TEMPORARY TABLE IF EXISTS tmp_totals;
  COMMIT;
END;
CALL backfill_totals(1000);
"""
    statements = split_statements(sql, "mysql")
    assert [s.line for s in statements] == [1, 19]
    assert statements[0].text.endswith("COMMIT;\nEND")


def test_mysql_trigger_body_may_be_a_bare_if_statement() -> None:
    sql = (
        "CREATE TRIGGER clamp_stock BEFORE UPDATE ON items FOR EACH ROW\n"
        "IF NEW.stock < 0 THEN SET NEW.stock = 0; ELSE SET NEW.seen = 1; END IF;\n"
        "CREATE TRIGGER IF NOT EXISTS flag_stock BEFORE INSERT ON items\n"
        "FOR EACH ROW SET NEW.flag = IF(NEW.stock < 0, 1, 0);\n"
        "SELECT 1;"
    )
    assert [s.line for s in split_statements(sql, "mysql")] == [1, 3, 5]


def test_mysql_functions_and_events_have_compound_bodies() -> None:
    sql = """\
CREATE FUNCTION order_label(p_id INT) RETURNS VARCHAR(20) DETERMINISTIC
BEGIN
  DECLARE s VARCHAR(20);
  SELECT status INTO s FROM orders WHERE id = p_id;
  RETURN CONCAT('#', p_id, ' ', s);
END;
CREATE EVENT purge_sessions ON SCHEDULE EVERY 1 DAY DO
BEGIN
  DELETE FROM sessions WHERE expires_at < NOW();
  OPTIMIZE TABLE sessions;
END;
SELECT 1;
"""
    assert [s.line for s in split_statements(sql, "mysql")] == [1, 7, 12]


# --- SQLite bodies ---------------------------------------------------------------------


def test_sqlite_trigger_body_with_case_is_one_statement() -> None:
    sql = """\
CREATE TRIGGER IF NOT EXISTS orders_status AFTER UPDATE OF status ON orders
WHEN CASE WHEN new.status = 'paid' THEN 1 ELSE 0 END
BEGIN
  UPDATE customers SET tier = CASE WHEN new.total > 100 THEN 'gold' ELSE tier END
    WHERE id = new.customer_id;
  INSERT INTO [order events] (order_id, note) VALUES (new.id, 'paid; thanks');
END;
CREATE INDEX orders_status_idx ON orders (status);
"""
    statements = split_statements(sql, "sqlite")
    assert [s.line for s in statements] == [1, 8]
    assert statements[0].text.endswith("'paid; thanks');\nEND")


# --- transactions are statements, not blocks -------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "begin"),
    [
        ("postgres", "BEGIN"),
        ("mysql", "START TRANSACTION"),
        ("mysql", "BEGIN"),
        ("sqlite", "BEGIN TRANSACTION"),
    ],
)
def test_transaction_wrappers_are_separate_statements(dialect: str, begin: str) -> None:
    sql = f"{begin};\nALTER TABLE users ADD COLUMN age INT;\nUPDATE users SET age = 0;\nCOMMIT;\n"
    assert texts(sql, dialect) == [
        begin,
        "ALTER TABLE users ADD COLUMN age INT",
        "UPDATE users SET age = 0",
        "COMMIT",
    ]


def test_sqlite_end_transaction_is_a_statement() -> None:
    assert texts("BEGIN;\nDELETE FROM t;\nEND;\nSELECT 1;", "sqlite") == [
        "BEGIN",
        "DELETE FROM t",
        "END",
        "SELECT 1",
    ]


# --- keywords --------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_block_keywords_are_case_insensitive_whole_words_outside_quotes(dialect: str) -> None:
    quote = "`" if dialect == "mysql" else '"'
    sql = (
        "create trigger begin_log after insert on t for each row\n"
        f"bEgIn insert into log (begin_at, {quote}end{quote}, note)"
        " values (new.begin_at, new.end, 'end; begin');\nEnd;\n"
        "select 1;"
    )
    assert [s.line for s in split_statements(sql, dialect)] == [1, 4]


# --- line numbers ----------------------------------------------------------------------


def test_line_numbers_count_multiline_strings_comments_and_crlf() -> None:
    sql = (
        "INSERT INTO docs VALUES ('line one\r\nline two');\r\n"
        "/* a\r\n   b */ UPDATE docs SET n = 1;\r\n"
        "\r\n"
        "  -- c\r\n"
        "  DELETE FROM docs;"
    )
    assert split_statements(sql, "postgres") == [
        Statement("INSERT INTO docs VALUES ('line one\r\nline two')", 1),
        Statement("UPDATE docs SET n = 1", 4, ("a\r\n   b",)),
        Statement("DELETE FROM docs", 7, ("c",)),
    ]


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "sql", "line", "message"),
    [
        ("postgres", "SELECT 1;\nSELECT 'abc;\n\nSELECT 2;", 2, "unterminated string"),
        ("mysql", "SELECT 1;\nSELECT 'it\\';\nSELECT 2;", 2, "unterminated string"),
        ("postgres", 'SELECT 1;\n\nSELECT "abc;', 3, "unterminated quoted identifier"),
        ("mysql", "SELECT `abc;", 1, "unterminated quoted identifier"),
        ("sqlite", "SELECT 1;\nSELECT [abc;", 2, "unterminated quoted identifier"),
        ("sqlite", "SELECT 1;\n/* note\n;", 2, "unterminated block comment"),
        ("postgres", "SELECT 1 /* a /* b */\n;", 1, "unterminated block comment"),
        (
            "postgres",
            "SELECT 1;\nDO $fn$ BEGIN PERFORM 1; END $$;",
            2,
            "unterminated dollar-quoted string $fn$",
        ),
        (
            "mysql",
            "SELECT 1;\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n",
            3,
            "unterminated BEGIN block",
        ),
        ("mysql", "SELECT 1;\nDELIMITER\nSELECT 2;", 2, "DELIMITER needs a value"),
    ],
)
def test_unterminated_constructs_raise_with_the_line_where_they_started(
    dialect: str, sql: str, line: int, message: str
) -> None:
    with pytest.raises(SplitError) as caught:
        split_statements(sql, dialect)
    assert (caught.value.line, caught.value.message) == (line, message)
    assert str(caught.value) == f"line {line}: {message}"


def test_unknown_dialect_is_rejected() -> None:
    with pytest.raises(ValueError, match="oracle"):
        split_statements("SELECT 1", "oracle")


# --- agreement with sqlglot ------------------------------------------------------------

MIXED_SCRIPTS = {
    "postgres": (
        PG_TRIGGER_FUNCTION
        + "-- 0007\nBEGIN;\nCREATE TABLE orders (id BIGSERIAL PRIMARY KEY, note TEXT DEFAULT 'a;b');\n"
        "CREATE INDEX orders_note ON orders (note);\n"
        "INSERT INTO orders (note) VALUES (E'it\\'s'), ('x'';y');\n"
        "ALTER TABLE orders ADD COLUMN total NUMERIC(10, 2);\nCOMMIT;\n"
    ),
    "mysql": (
        "START TRANSACTION;\n"
        "CREATE TABLE `orders` (`id` INT AUTO_INCREMENT PRIMARY KEY, `note` VARCHAR(20) DEFAULT 'a;b');\n"
        "# seed\nINSERT INTO `orders` (`note`) VALUES ('it\\'s'), (\"x;y\");\n"
        "ALTER TABLE `orders` ADD COLUMN `total` DECIMAL(10, 2);\nCOMMIT;\n"
        + MYSQL_DELIMITER_TRIGGER
    ),
    "sqlite": (
        "BEGIN TRANSACTION;\n"
        "CREATE TABLE [orders] (id INTEGER PRIMARY KEY, `note` TEXT DEFAULT 'a;b');\n"
        "INSERT INTO orders (note) VALUES ('C:\\x'), ('y;z');\n"
        "CREATE TRIGGER orders_touch AFTER UPDATE ON orders BEGIN\n"
        "  UPDATE orders SET note = 'touched; ' || new.id WHERE id = new.id;\n"
        "END;\nCOMMIT;\n"
    ),
}


@pytest.mark.parametrize("dialect", sorted(MIXED_SCRIPTS))
def test_split_statements_parse_with_sqlglot_and_survive_rejoining(dialect: str) -> None:
    statements = split_statements(MIXED_SCRIPTS[dialect], dialect)
    parsed = [sqlglot.parse_one(s.text, read=dialect) for s in statements]
    # sqlglot takes compound bodies only as a fallback (exp.Command or a Block); the rest must
    # parse for real.
    ordinary = [e for e, s in zip(parsed, statements, strict=True) if "BEGIN\n" not in s.text]
    assert ordinary and not any(isinstance(e, exp.Command) for e in ordinary)
    assert {type(e) for e in ordinary} >= {exp.Create, exp.Insert, exp.Commit}

    rejoined = ";\n".join(s.text for s in statements) + ";\n"
    assert texts(rejoined, dialect) == [s.text for s in statements]


# --- throughput ------------------------------------------------------------------------


def ordinary_script(tables: int) -> str:
    """A migration of CREATE TABLE / CREATE INDEX / INSERT statements, 10 lines per table."""
    return "".join(
        f"-- table {i}\n"
        f"CREATE TABLE orders_{i} (\n"
        "    id BIGINT PRIMARY KEY,\n"
        "    customer_id BIGINT NOT NULL REFERENCES customers (id),\n"
        "    status VARCHAR(20) NOT NULL DEFAULT 'new',\n"
        "    note TEXT,\n"
        "    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
        ");\n"
        f"CREATE INDEX orders_{i}_customer ON orders_{i} (customer_id);\n"
        f"INSERT INTO orders_{i} (id, customer_id, status, note) VALUES "
        "(1, 10, 'paid', 'it''s fine; really'), (2, 11, 'new', NULL), (3, 12, 'shipped', 'gate 4');\n"
        for i in range(tables)
    )


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_throughput_script_splits_into_three_statements_per_table(dialect: str) -> None:
    statements = split_statements(ordinary_script(50), dialect)
    assert len(statements) == 150
    assert statements[-1].line == 50 * 10
    assert statements[-1].comments == ()
    assert statements[-3].comments == ("table 49",)


def measure_throughput(megabytes: float = 50.0) -> dict[str, float]:
    """MB/s of `split_statements` per dialect on an ordinary script of about ``megabytes``."""
    sql = ordinary_script(int(megabytes * 1e6 / len(ordinary_script(1))))
    rates = {}
    for dialect in ("postgres", "mysql", "sqlite"):
        started = time.perf_counter()
        split_statements(sql, dialect)
        rates[dialect] = len(sql) / 1e6 / (time.perf_counter() - started)
    return rates


if __name__ == "__main__":
    for name, rate in measure_throughput().items():
        print(f"{name}: {rate:.1f} MB/s")


def test_a_large_script_is_split_once_and_each_caller_gets_its_own_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the replay and each engine replay split the same file: a 16 MB one took seconds each time
    from bot.core import split as split_module

    runs: list[int] = []
    run = split_module._Splitter.run

    def counting(self: split_module._Splitter) -> list[Statement]:
        runs.append(1)
        return run(self)

    monkeypatch.setattr(split_module._Splitter, "run", counting)
    monkeypatch.setattr(split_module, "_LARGE", {})
    sql = "CREATE TABLE t (a int);\n" * 4000  # over the size worth keeping
    first = split_statements(sql, "postgres")
    first.clear()  # a caller's list is its own
    again = split_statements(sql, "postgres")
    assert len(again) == 4000 and again[1] == Statement("CREATE TABLE t (a int)", 2)
    assert len(runs) == 1
    split_statements(sql, "mysql")  # another dialect splits by its own rules
    assert len(runs) == 2

    # bounded by the source kept: older large texts are let go
    monkeypatch.setattr(split_module, "_CACHE_CHARS", len(sql) * 2)
    for n in range(3):
        split_statements(sql + f"-- {n}\n", "sqlite")
    assert sum(len(text) for _, text in split_module._LARGE) <= len(sql) * 2 + 100


def test_a_statement_repeated_is_held_once() -> None:
    # 16 MB of `SELECT 1;` (1.9 million statements) took 550 MB: one string per copy
    first, second, other = split_statements("SELECT 1;\nSELECT 1;\nSELECT 2;", "mysql")
    assert first.text is second.text and first.text == "SELECT 1"
    assert (first.line, second.line, other.text) == (1, 2, "SELECT 2")
