"""Envelopes: deterministic ids (replays give the same id), aware times only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.envelope import Cause, deterministic_id, envelope

T = datetime(2026, 11, 28, tzinfo=UTC)


def test_same_inputs_same_id_and_different_inputs_different_ids() -> None:
    assert deterministic_id("woo:demo:1", "2026") == deterministic_id("woo:demo:1", "2026")
    assert deterministic_id("woo:demo:1", "2026") != deterministic_id("woo:demo:12", "026")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        envelope(event_id="x", occurred_at=datetime(2026, 1, 1), observed_at=T, source="s",
                 source_version="v", trace_id="t")


def test_derived_message_keeps_the_trace_and_gets_its_own_stable_id() -> None:
    parent = envelope(event_id="p", occurred_at=T, observed_at=T, source="woocommerce:demo",
                      source_version="v1", trace_id="trace-1")
    cause = Cause.of(parent)
    child = cause.envelope("HoldSet", 1, observed_at=T)
    assert child["trace_id"] == "trace-1"
    assert child["source"] == "woosync"
    assert child["occurred_at"] == T and child["source_version"] == "v1"
    assert child["event_id"] == Cause.of(parent).envelope("HoldSet", 1, observed_at=T)["event_id"]
    assert child["event_id"] != cause.envelope("HoldSet", 2, observed_at=T)["event_id"]


def test_an_observation_gets_its_id_from_what_was_observed() -> None:
    first = Cause.observed("poll", "demo:order:1", "2026-01-01T00:00:00", occurred_at=T,
                           source="woocommerce:demo", source_version="v",
                           trace_subject="woo:demo:1")
    again = Cause.observed("poll", "demo:order:1", "2026-01-01T00:00:00", occurred_at=T,
                           source="woocommerce:demo", source_version="v",
                           trace_subject="woo:demo:1")
    later = Cause.observed("poll", "demo:order:1", "2026-01-01T00:00:01", occurred_at=T,
                           source="woocommerce:demo", source_version="v",
                           trace_subject="woo:demo:1")
    assert first == again and first.event_id != later.event_id
    assert first.envelope("x", observed_at=T)["source"] == "woocommerce:demo"
