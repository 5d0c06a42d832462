"""atlas.sum computed exactly as Atlas writes it, proven against sums Atlas itself wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources.atlas_sum import atlas_sum, read_sum, verify_atlas_sum

DATA = Path(__file__).parent / "data" / "formats"


def _dir(name: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (DATA / name).iterdir()}


@pytest.mark.parametrize("name", ["atlas_mysqlock", "atlas_postgres"])
def test_reproduces_a_real_atlas_sum_byte_for_byte(name: str) -> None:
    files = _dir(name)
    assert atlas_sum(files) == files["atlas.sum"].decode()
    assert verify_atlas_sum(files)


def test_text_contents_hash_like_their_utf8_bytes() -> None:
    files = {n: b.decode() for n, b in _dir("atlas_mysqlock").items()}
    assert atlas_sum(files) == files["atlas.sum"]


def test_edited_migration_no_longer_verifies() -> None:
    files = _dir("atlas_mysqlock")
    files["2.sql"] = files["2.sql"].replace(b"select sleep(0.1);           \n", b"")
    assert not verify_atlas_sum(files)


def test_each_line_depends_on_every_earlier_file() -> None:
    files = _dir("atlas_mysqlock")
    before = read_sum(atlas_sum(files))
    files["1.sql"] += b"-- touched\n"
    after = read_sum(atlas_sum(files))
    assert before is not None and after is not None
    # Atlas's hash runs over the whole directory: changing 1.sql changes the 3.sql line too.
    assert [h for _, h in before] != [h for _, h in after]
    assert before[2][1] != after[2][1]


def test_hand_edited_sum_line_is_rejected() -> None:
    files = _dir("atlas_postgres")
    text = files["atlas.sum"].decode().replace("1_initial.sql", "1_renamed.sql")
    assert read_sum(text) is None  # the first line no longer matches the lines
    assert not verify_atlas_sum({**files, "atlas.sum": text})


def test_missing_sum_does_not_verify() -> None:
    files = _dir("atlas_postgres")
    del files["atlas.sum"]
    assert not verify_atlas_sum(files)


def test_only_top_level_sql_files_count_and_sort_bytewise() -> None:
    files = {
        "b_second.sql": "CREATE TABLE b (id int);\n",
        "B_first.sql": "CREATE TABLE a (id int);\n",
        "README.md": "docs",
        "seed/1_data.sql": "INSERT INTO a VALUES (1);\n",
    }
    text = atlas_sum(files)
    names = [line.split(" ")[0] for line in text.splitlines()[1:]]
    assert names == ["B_first.sql", "b_second.sql"]  # "B" (0x42) sorts before "b" (0x62)
    assert text == atlas_sum({n: files[n] for n in ("b_second.sql", "B_first.sql")})


def test_sum_ignore_directive_leaves_the_file_out_but_not_its_name() -> None:
    plain = {"1_a.sql": "CREATE TABLE a (id int);\n", "3_c.sql": "CREATE TABLE c (id int);\n"}
    ignored = {**plain, "2_b.sql": "-- atlas:sum ignore\nSELECT 1;\n"}
    lines = read_sum(atlas_sum(ignored))
    assert lines is not None
    assert [n for n, _ in lines] == ["1_a.sql", "3_c.sql"]
    # The ignored file's name still feeds the running hash, as in Atlas's NewHashFile.
    assert lines[1] != (read_sum(atlas_sum(plain)) or [])[1]
    # Its content does not: editing it keeps the sum valid.
    edited = {
        **ignored,
        "2_b.sql": "-- atlas:sum ignore\nSELECT 2;\n",
        "atlas.sum": atlas_sum(ignored),
    }
    assert verify_atlas_sum(edited)


def test_crlf_sum_file_still_verifies() -> None:
    files = _dir("atlas_postgres")
    files["atlas.sum"] = files["atlas.sum"].replace(b"\n", b"\r\n")
    assert verify_atlas_sum(files)
