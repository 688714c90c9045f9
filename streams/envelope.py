"""Builds the envelope every canonical message carries, and deterministic ids.

Pure: the caller passes every time in (a replay of the same input must give the same
``event_id``, so ids are derived from what was observed, never from the clock or
randomness).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Cause:
    """What a message is emitted because of: the message it derives from (``of``), or an
    observation of an outside system (``observed``). Everything its envelope carries but
    the moment woosync writes it."""

    event_id: str
    occurred_at: datetime
    source_version: str
    trace_id: str
    source: str = "woosync"

    @classmethod
    def of(cls, parent: dict[str, Any], subject: str = "") -> Cause:
        """Derived from a message with envelope ``parent``: same trace (or ``subject``'s
        when the parent has none), same occurrence and version; woosync is the source."""
        return cls(parent["event_id"], parent["occurred_at"], parent["source_version"],
                   parent.get("trace_id") or trace_for(subject))

    @classmethod
    def observed(cls, *id_parts: object, occurred_at: datetime, source: str,
                 source_version: str, trace_subject: str) -> Cause:
        """An observation of ``source``: the id comes from what was observed
        (``id_parts``), so observing the same thing again gives the same id."""
        return cls(deterministic_id(source, *id_parts), occurred_at, source_version,
                   trace_for(trace_subject), source)

    def id_for(self, *parts: object) -> str:
        """The event id of the message this cause produces, told apart from the cause's
        other messages by ``parts`` (its type, its subject). A command's id is its
        message's event id, so a replayed cause resends the same command id."""
        return deterministic_id(self.event_id, *parts)

    def envelope(self, *parts: object, observed_at: datetime) -> dict[str, Any]:
        """The envelope of the message with the id ``id_for(*parts)``."""
        return envelope(event_id=self.id_for(*parts),
                        occurred_at=self.occurred_at, observed_at=observed_at,
                        source=self.source, source_version=self.source_version,
                        trace_id=self.trace_id)


def utcnow() -> datetime:
    """The wall clock, for edges only: rules take ``now`` as an argument."""
    return datetime.now(UTC)


def parse_time(text: str) -> datetime:
    """An ISO-8601 time a person typed (a filter); one without a zone is UTC. ValueError
    when it is not a time."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def trace_for(subject: str) -> str:
    """The trace id of everything about one subject (an order, a SKU's stock), so that
    the store's and the ERP's events of the same order share a trace."""
    return deterministic_id("trace", subject)
