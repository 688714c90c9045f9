"""Avro single-object encoding of canonical messages.

Consumes a message name and a record (a dict as the schema describes it: Decimal for
money and quantities, aware datetimes for timestamps) and produces
``C3 01`` + the writer schema's 8-byte CRC-64-AVRO fingerprint + the Avro body.
Decoding looks the fingerprint up among the current and historical schemas and reads the
body with the current schema of that message (Avro schema resolution), so events written
by an older release stay readable. Anything else raises a ``DecodeError`` with a reason
fit for a dead letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from streams.catalog import Catalog, default_catalog
from streams.errors import DecodeError, EncodeError, UnknownSchemaError

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded canonical event or command: its full schema name and its fields."""

    name: str
    body: dict[str, Any]

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class Codec:
    """Encodes and decodes messages against one schema catalogue."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or default_catalog()

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        version = self.catalog.current.get(name)
        if version is None:
            raise EncodeError(f"no schema named {name!r} in {self.catalog.directory}")
        out = BytesIO()
        out.write(MAGIC)
        out.write(version.fingerprint)
        try:
            schemaless_writer(out, self.catalog.parsed(version), record)
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            # ArithmeticError: a long out of range (OverflowError, struct.error is a
            # ValueError) or a decimal that does not fit (decimal.InvalidOperation).
            raise EncodeError(f"{name}: record does not fit the schema: {exc!r}") from exc
        return out.getvalue()

    def decode(self, data: bytes) -> Message:
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise DecodeError(
                f"not Avro single-object encoding: expected marker C3 01, got {data[:2].hex()}"
                f" ({len(data)} bytes)"
            )
        fp = data[2:HEADER_SIZE]
        writer = self.catalog.by_fingerprint.get(fp)
        if writer is None:
            raise UnknownSchemaError(
                f"unknown writer schema fingerprint {fp.hex()}: not in schemas/ or"
                " schemas/history/ of this build"
            )
        reader = self.catalog.current.get(writer.name)
        if reader is None:
            raise UnknownSchemaError(f"{writer.name} is no longer a current message")
        body = BytesIO(data[HEADER_SIZE:])
        try:
            if reader.fingerprint == writer.fingerprint:
                record = schemaless_reader(body, self.catalog.parsed(writer), None)
            else:
                record = schemaless_reader(
                    body, self.catalog.parsed(writer), self.catalog.parsed(reader)
                )
        except Exception as exc:  # fastavro raises many types on a corrupt body
            raise DecodeError(f"{writer.name}: body does not decode: {exc!r}") from exc
        if body.tell() != len(data) - HEADER_SIZE:
            raise DecodeError(f"{writer.name}: {len(data) - HEADER_SIZE - body.tell()}"
                              " trailing bytes after the body")
        if not isinstance(record, dict):
            raise DecodeError(f"{writer.name}: body is not a record")
        return Message(writer.name, record)
