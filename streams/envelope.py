"""Builds the envelope every canonical message carries, and deterministic ids.

Pure: the caller passes every time in (a replay of the same input must give the same
``event_id``, so ids are derived from what was observed, never from the clock or
randomness).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

_NAMESPACE = uuid.UUID("6f1c54c6-4a59-4d0e-9b1e-4f3d2f7f0a11")


def deterministic_id(*parts: object) -> str:
    """A UUID5 over the parts: the same inputs always give the same id."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def envelope(*, event_id: str, occurred_at: datetime, observed_at: datetime, source: str,
             source_version: str, trace_id: str) -> dict[str, Any]:
    for name, moment in (("occurred_at", occurred_at), ("observed_at", observed_at)):
        if moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "observed_at": observed_at,
        "source": source,
        "source_version": source_version,
        "trace_id": trace_id,
    }


def derived(parent: dict[str, Any], *, kind: str, observed_at: datetime,
            source: str = "woosync") -> dict[str, Any]:
    """The envelope of a message woosync derives from another: same trace, new id."""
    return envelope(
        event_id=deterministic_id(parent["event_id"], kind),
        occurred_at=parent["occurred_at"],
        observed_at=observed_at,
        source=source,
        source_version=parent["source_version"],
        trace_id=parent["trace_id"],
    )


def utcnow() -> datetime:
    """The wall clock, for edges only: rules take ``now`` as an argument."""
    return datetime.now(UTC)


def trace_for(subject: str) -> str:
    """The trace id of everything about one subject (an order, a SKU's stock), so that
    the store's and the ERP's events of the same order share a trace."""
    return deterministic_id("trace", subject)
