"""Working dead letters without a broker: letters with their replays, selection,
edits typed by the field they change and refused when the schema would refuse them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from devstack import samples
from streams import dlq
from streams.codec import Codec, Message
from streams.envelope import envelope, parse_time

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CODEC = Codec()


def _env(at: datetime) -> dict[str, object]:
    return envelope(event_id="e", occurred_at=at, observed_at=at, source="woosync",
                    source_version="1", trace_id="t")


def _letter(at: datetime, topic: str, stage: str, error: str, value: bytes) -> Message:
    return Message("woosync.DeadLetter", {
        "envelope": _env(at), "topic": topic, "partition": 2, "offset": 40, "key": b"k",
        "value": value, "headers": [], "stage": stage, "error": error, "attempts": 1})


def _order() -> bytes:
    body = samples.order_observed("demo", 7, NOW, sku="MUG")
    return CODEC.encode("woosync.OrderObserved", body)


def test_letters_carry_their_replays_and_filter_by_each_field() -> None:
    records = [
        (0, 5, _letter(NOW, "commerce.orders", "holds", "ValueError: bad", _order())),
        (1, 9, _letter(NOW + timedelta(hours=1), "store.commands", "store-sink",
                       "WooUnavailable: down", b"x")),
        (1, 10, Message("woosync.DeadLetterReplayed", {
            "envelope": _env(NOW + timedelta(hours=2)), "letter": "dlq:1:9",
            "topic": "store.commands", "partition": 2, "offset": 77, "by": "ana",
            "edits": []})),
    ]
    letters = dlq.letters_of(records)
    assert [x.id for x in letters] == ["dlq:0:5", "dlq:1:9"]
    assert letters[1].replays[0]["by"] == "ana" and letters[1].replays[0]["offset"] == 77
    assert [x.id for x in dlq.select(letters, dlq.Selection(stage="holds"))] == ["dlq:0:5"]
    assert [x.id for x in dlq.select(letters, dlq.Selection(
        error_class="WooUnavailable"))] == ["dlq:1:9"]
    assert [x.id for x in dlq.select(letters, dlq.Selection(replayed=False))] == ["dlq:0:5"]
    assert [x.id for x in dlq.select(letters, dlq.Selection(
        since=NOW + timedelta(minutes=30)))] == ["dlq:1:9"]
    assert dlq.select(letters, dlq.Selection(topic="erp.raw")) == []


def test_an_edit_is_typed_by_its_field_and_re_encoded() -> None:
    value, applied = dlq.edit(CODEC, _order(), ["lines.0.quantity=3", "status=processing"])
    body = CODEC.decode(value).body
    assert body["lines"][0]["quantity"] == Decimal(3) and body["status"] == "processing"
    assert applied == ["lines.0.quantity=3", "status=processing"]


@pytest.mark.parametrize("assignment, why", [
    ("lines.0.quantity=many", "does not read as int"),
    ("nowhere=1", "no field"),
    ("envelope.event_id=x", "envelope is not edited"),
    ("status", "field.path=value"),
    ("lines.0.quantity=99999999999999999999999", "does not fit"),
])
def test_an_edit_the_message_cannot_take_is_refused(assignment: str, why: str) -> None:
    with pytest.raises(dlq.ReplayError, match=why):
        dlq.edit(CODEC, _order(), [assignment])


def test_progress_line() -> None:
    assert dlq.progress(3, 12, width=12) == "[###.........] 3/12"
    assert dlq.progress(0, 0, width=4) == "[####] 0/0"


def test_a_filter_time_without_a_zone_is_utc() -> None:
    assert parse_time("2026-12-01T12:00") == NOW
    assert parse_time("2026-12-01T13:00+01:00") == NOW
    with pytest.raises(ValueError):
        parse_time("")
