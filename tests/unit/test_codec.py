"""The single-object codec: framing, round trips, evolution, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from devstack import samples
from streams.catalog import SCHEMA_DIR, Catalog
from streams.codec import MAGIC, Codec
from streams.errors import DecodeError, EncodeError, UnknownSchemaError

NOW = datetime(2026, 11, 28, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def test_frame_is_marker_fingerprint_body(codec: Codec) -> None:
    order = samples.order_observed("demo", 7, NOW)
    data = codec.encode("woosync.OrderObserved", order)
    schema = codec.catalog.current["woosync.OrderObserved"].schema
    # The fingerprint computed here by fastavro directly, independent of the catalogue.
    expected_fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == expected_fp
    body = BytesIO()
    schemaless_writer(body, parse_schema(schema, _write_hint=False), order)
    assert data[10:] == body.getvalue()


def test_rabin_fingerprint_of_a_primitive_matches_the_avro_spec() -> None:
    # The Avro spec's Java implementation gives CRC-64-AVRO("\"int\"") as
    # 0x7275d51a3f395c8f (printed as a long); single-object encoding writes it little-endian.
    fp = bytes.fromhex(fingerprint('"int"', "CRC-64-AVRO"))
    assert fp == (0x7275D51A3F395C8F).to_bytes(8, "little")


def test_order_round_trips_equal(codec: Codec) -> None:
    order = samples.order_observed("demo", 8, NOW, quantity=3)
    message = codec.decode(codec.encode("woosync.OrderObserved", order))
    assert message.name == "woosync.OrderObserved"
    assert message.body == order
    assert message.body["total"] == order["total"]
    assert isinstance(message.body["lines"][0]["unit_price"], Decimal)


def test_money_keeps_four_decimals(codec: Codec) -> None:
    stock = samples.stock_level_observed("SKU-1", NOW, Decimal("12.3456"))
    decoded = codec.decode(codec.encode("woosync.StockLevelObserved", stock))
    assert decoded.body["warehouses"][0]["on_hand"] == Decimal("12.3456")


def test_money_with_more_than_four_decimals_is_refused(codec: Codec) -> None:
    stock = samples.stock_level_observed("SKU-1", NOW, Decimal("1.23456"))
    with pytest.raises(EncodeError):
        codec.encode("woosync.StockLevelObserved", stock)


def test_a_float_is_not_money(codec: Codec) -> None:
    stock: dict[str, Any] = samples.stock_level_observed("SKU-1", NOW, Decimal(1))
    stock["warehouses"][0]["on_hand"] = 1.5
    with pytest.raises(EncodeError):
        codec.encode("woosync.StockLevelObserved", stock)


def test_missing_field_is_an_encode_error(codec: Codec) -> None:
    order = samples.order_observed("demo", 9, NOW)
    del order["status"]
    with pytest.raises(EncodeError):
        codec.encode("woosync.OrderObserved", order)


def test_unknown_schema_name_is_an_encode_error(codec: Codec) -> None:
    with pytest.raises(EncodeError, match="no schema named"):
        codec.encode("woosync.NoSuchThing", {})


def test_unknown_fingerprint_says_so(codec: Codec) -> None:
    with pytest.raises(UnknownSchemaError, match="unknown writer schema fingerprint 0102"):
        codec.decode(MAGIC + bytes([1, 2, 3, 4, 5, 6, 7, 8]) + b"\x00")


@pytest.mark.parametrize("data", [b"", b"{}", b'{"id": 1}', b"\x00\x00\x00\x00\x01abc"])
def test_non_avro_bytes_are_a_decode_error(codec: Codec, data: bytes) -> None:
    with pytest.raises(DecodeError, match="single-object"):
        codec.decode(data)


def test_truncated_body_is_a_decode_error(codec: Codec) -> None:
    data = codec.encode("woosync.OrderObserved", samples.order_observed("demo", 10, NOW))
    with pytest.raises(DecodeError, match="does not decode"):
        codec.decode(data[: len(data) // 2])


def test_trailing_bytes_are_a_decode_error(codec: Codec) -> None:
    data = codec.encode("woosync.OrderObserved", samples.order_observed("demo", 11, NOW))
    with pytest.raises(DecodeError, match="trailing"):
        codec.decode(data + b"\x00\x00")


def _catalog_with_old_version(tmp_path: Path, old_schema: dict[str, Any]) -> Catalog:
    """A copy of schemas/ with one extra history version of OrderObserved."""
    (tmp_path / "history").mkdir()
    for path in SCHEMA_DIR.glob("*.avsc"):
        (tmp_path / path.name).write_text(path.read_text())
    for path in (SCHEMA_DIR / "history").glob("*.avsc"):
        (tmp_path / "history" / path.name).write_text(path.read_text())
    (tmp_path / "history" / "woosync.OrderObserved.v0.avsc").write_text(json.dumps(old_schema))
    return Catalog(tmp_path)


def test_event_written_with_an_older_schema_is_read_with_the_current_one(
    tmp_path: Path,
) -> None:
    current = Codec().catalog.current["woosync.OrderObserved"].schema
    # The older version lacked two fields the current one adds with defaults.
    old = json.loads(json.dumps(current))
    old["fields"] = [f for f in old["fields"] if f["name"] not in ("payment_method", "refund_ids")]
    codec = Codec(_catalog_with_old_version(tmp_path, old))
    order = samples.order_observed("demo", 12, NOW)
    old_record = {k: v for k, v in order.items() if k not in ("payment_method", "refund_ids")}
    old_fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(old), "CRC-64-AVRO"))
    body = BytesIO()
    schemaless_writer(body, parse_schema(old, _write_hint=False), old_record)

    message = codec.decode(MAGIC + old_fp + body.getvalue())

    assert message.name == "woosync.OrderObserved"
    assert message.body["payment_method"] == ""  # the current schema's default
    assert message.body["refund_ids"] == []
    assert message.body["order_id"] == "woo:demo:12"
    assert message.body["total"] == order["total"]
