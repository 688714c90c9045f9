"""Reading one partition's rows straight from its RocksDB database (streams.table_scan):
a SKU's hold rows by a seek, a partition's keys without every other partition's."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rocksdict import Options, Rdict

from streams.table_scan import _keys_of, keys_with_prefix

OFFSET_KEY = b"__faust\x00offset__"


def _table(tmp_path: Path, rows: dict[int, dict[bytes, bytes]], key_type: Any = bytes
           ) -> SimpleNamespace:
    dbs = {}
    for partition, found in rows.items():
        db = Rdict(str(tmp_path / str(partition)), Options(raw_mode=True))
        for key, value in found.items():
            db[key] = value
        dbs[partition] = db
    store = SimpleNamespace(use_rocksdict=True, _dbs=dbs)
    every = [key for found in rows.values() for key in found]
    return SimpleNamespace(data=store, key_type=key_type, keys=lambda: iter(every))


def test_a_skus_rows_are_found_by_a_seek_in_its_partition_only(tmp_path: Path) -> None:
    table = _table(tmp_path, {
        0: {b"MUG|woo:demo:2|1": b"1", b"MUG|woo:demo:10|1": b"1", b"MUGS|woo:demo:3|1": b"1",
            b"CAP|woo:demo:4|1": b"1", OFFSET_KEY: b"7"},
        1: {b"MUG|woo:demo:99|1": b"1"}})  # another partition's (never the SKU's)
    assert keys_with_prefix(table, 0, b"MUG|") == [b"MUG|woo:demo:10|1", b"MUG|woo:demo:2|1"]
    assert keys_with_prefix(table, 0, b"HAT|") == []
    assert sorted(_keys_of(table, 1)) == [b"MUG|woo:demo:99|1"]


def test_a_table_keyed_by_str_is_walked_through_the_table(tmp_path: Path) -> None:
    # Its keys are stored serialized: the database's bytes are not the table's keys.
    table = _table(tmp_path, {0: {b'"demo:order:1"': b"1"}}, key_type=str)
    table.keys = lambda: iter(["demo:order:1"])
    assert list(_keys_of(table, 0)) == ["demo:order:1"]
