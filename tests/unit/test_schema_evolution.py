"""The schema contract: every change is recorded in schemas/history and stays
backward compatible (the current schema reads everything any older version wrote)."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.utils import generate_many

from streams.catalog import Catalog, SchemaVersion, default_catalog
from streams.topics import ALL

CATALOG = default_catalog()
PAIRS = [(name, old) for name, versions in CATALOG.history.items() for old in versions]


def _compatible(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(  # type: ignore[no-untyped-call]
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is SchemaCompatibilityType.compatible


def test_every_current_schema_is_recorded_in_history() -> None:
    # A failure here means a schema changed: run `woosync schemas snapshot`, which
    # records the new version so that the compatibility tests below cover it.
    assert CATALOG.unreleased_changes() == []


def test_history_versions_are_numbered_without_gaps() -> None:
    for name, versions in CATALOG.history.items():
        assert [v.version for v in versions] == list(range(1, len(versions) + 1)), name


@pytest.mark.parametrize(("name", "old"), PAIRS, ids=[f"{n}.v{o.version}" for n, o in PAIRS])
def test_current_schema_reads_every_older_version(name: str, old: SchemaVersion) -> None:
    current = CATALOG.current[name].schema
    assert _compatible(current, old.schema), f"{name} v{old.version} is not readable any more"
    # And in practice: data written with the old version decodes with the current one.
    writer, reader = parse_schema(old.schema, _write_hint=False), parse_schema(current)
    for record in generate_many(old.schema, 5):
        buf = BytesIO()
        schemaless_writer(buf, writer, record)
        buf.seek(0)
        assert isinstance(schemaless_reader(buf, writer, reader), dict)


def test_checker_rejects_a_field_added_without_default() -> None:
    current = CATALOG.current["woosync.SetAvailability"].schema
    changed = json.loads(json.dumps(current))
    changed["fields"].append({"name": "warehouse", "type": "string"})
    assert not _compatible(changed, current)
    changed["fields"][-1]["default"] = ""
    assert _compatible(changed, current)


def test_checker_rejects_a_money_field_turned_into_float() -> None:
    current = CATALOG.current["woosync.ProductObserved"].schema
    changed = json.loads(json.dumps(current))
    for field in changed["fields"]:
        if field["name"] == "sale_price":  # list_price keeps defining woosync.Money
            field["type"] = ["null", "double"]
    assert not _compatible(changed, current)


def test_every_topic_value_has_a_schema_and_every_message_a_topic() -> None:
    on_topics = {name for spec in ALL for name in spec.values}
    assert on_topics <= set(CATALOG.current)
    assert set(CATALOG.current) <= on_topics


def test_money_is_never_a_float() -> None:
    def floats(schema: Any, path: str) -> list[str]:
        if isinstance(schema, dict):
            if schema.get("type") in ("float", "double"):
                return [path]
            found = []
            for field in schema.get("fields", []):
                found += floats(field["type"], f"{path}.{field['name']}")
            for key in ("items", "values"):
                if key in schema:
                    found += floats(schema[key], path)
            return found
        if isinstance(schema, list):
            return [p for branch in schema for p in floats(branch, path)]
        return [path] if schema in ("float", "double") else []

    assert [p for v in CATALOG.current.values() for p in floats(v.schema, v.name)] == []


def test_every_message_carries_the_envelope() -> None:
    envelope_fields = {"event_id", "occurred_at", "observed_at", "source", "source_version",
                       "trace_id"}
    for version in Catalog().current.values():
        first = version.schema["fields"][0]
        assert first["name"] == "envelope"
        assert {f["name"] for f in first["type"]["fields"]} == envelope_fields, version.name
