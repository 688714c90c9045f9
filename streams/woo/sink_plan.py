"""How a batch of store commands becomes requests. Pure.

Availability is coalesced: within a batch, only the last SetAvailability of each
(store, SKU) is sent (absolute values, so the last one is the truth); the earlier ones
are reported as superseded. Across batches, a SetAvailability issued before the newest
one already applied to its (store, SKU) (``applied``: the issue time of each) is stale:
a late or replayed command must not put back an older number. Updates are grouped by
endpoint: simple products (and
parents holding a variation's stock) on ``/products/batch``, variations on their
parent's ``/products/<parent>/variations/batch``, each cut into requests of at most 100
items by the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.codec import Message


@dataclass(frozen=True)
class ProductRef:
    """Where a SKU's stock lives in one store."""

    product_id: int
    parent_id: int = 0
    variation: bool = False


@dataclass
class Plan:
    latest: dict[tuple[str, str], Message] = field(default_factory=dict)
    superseded: list[tuple[Message, Message]] = field(default_factory=list)
    stale: list[Message] = field(default_factory=list)
    others: list[Message] = field(default_factory=list)


def issued_at(command: Message) -> datetime:
    when: datetime = command.body["envelope"]["observed_at"]
    return when


def coalesce(commands: list[Message],
             applied: dict[tuple[str, str], datetime] | None = None) -> Plan:
    plan = Plan()
    for command in commands:
        if command.short_name != "SetAvailability":
            plan.others.append(command)
            continue
        key = (command.body["store"], command.body["sku"])
        newest = (applied or {}).get(key)
        if newest is not None and issued_at(command) < newest:
            plan.stale.append(command)
            continue
        previous = plan.latest.get(key)
        plan.latest[key] = command
        if previous is not None:
            plan.superseded.append((previous, command))
    return plan


def availability_requests(commands: list[Message], refs: dict[str, ProductRef]
                          ) -> dict[str, list[tuple[Message, dict[str, Any]]]]:
    """Batch path -> [(command, update item)] for one store's availability commands."""
    by_path: dict[str, list[tuple[Message, dict[str, Any]]]] = {}
    for command in commands:
        ref = refs[command.body["sku"]]
        path = (f"/products/{ref.parent_id}/variations/batch" if ref.variation
                else "/products/batch")
        item = {"id": ref.product_id, "manage_stock": True,
                "stock_quantity": int(command.body["quantity"])}
        by_path.setdefault(path, []).append((command, item))
    return by_path
