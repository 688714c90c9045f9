"""Versioning of store snapshots: whether a snapshot of a resource is news.

WooCommerce sends state, not events, and sends it duplicated, coalesced, late and out
of order; ``date_modified_gmt`` orders it, with one-second resolution. Pure rule:
given what was last seen of a resource and an incoming snapshot (its modification
time and a digest of its content), say whether it is new, stale, the same, or a
conflict (another body with the same timestamp: the two cannot be ordered, so the
resource must be read again from the store).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    NEW = "new"
    STALE = "stale"
    SAME = "same"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Seen:
    modified: str  # ISO-8601 UTC, second resolution
    digest: str
    sku: str | None = None
    refund_ids: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "refund_ids": list(self.refund_ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Seen | None:
        if not data:
            return None
        return cls(data["modified"], data["digest"], data.get("sku"),
                   tuple(data.get("refund_ids") or ()))


def judge(seen: Seen | None, modified: str, digest: str) -> Verdict:
    if seen is None or modified > seen.modified:
        return Verdict.NEW
    if modified < seen.modified:
        return Verdict.STALE
    return Verdict.SAME if digest == seen.digest else Verdict.CONFLICT


def prunable(key: bytes, seen: Seen | None, horizon: str) -> bool:
    """An order's version row not modified since before ``horizon`` (products are kept:
    their rows are bounded by the catalogue and carry the SKU a deletion needs)."""
    return seen is not None and b":order:" in key and seen.modified < horizon
