"""Canonical ids of store resources, made and parsed here only.

An order is ``woo:<store>:<id>``, a refund ``woo:<store>:refund:<id>``, a customer
``woo:<store>:customer:<id>`` (also the ERP party's identifier); a raw delivery
of any resource is keyed ``<store>:<resource>:<id>`` on ``woo.raw``. Store ids are
letters, digits, '-' and '_' (settings check it), so ':' separates safely.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "woo"


@dataclass(frozen=True)
class WooRef:
    """What a canonical id names: a store, a kind (order or refund) and the store's id."""

    store: str
    kind: str
    woo_id: int


def order_id(store: str, woo_id: int) -> str:
    return f"{PREFIX}:{store}:{woo_id}"


def refund_id(store: str, woo_id: int) -> str:
    return f"{PREFIX}:{store}:refund:{woo_id}"


def customer_id(store: str, woo_id: int) -> str:
    return f"{PREFIX}:{store}:customer:{woo_id}"


def raw_key(store: str, resource: str, resource_id: int | str) -> str:
    return f"{store}:{resource}:{resource_id}"


def parse(canonical: str) -> WooRef:
    """The parts of an order or refund id; ValueError for anything else."""
    parts = canonical.split(":")
    if len(parts) == 3 and parts[0] == PREFIX and parts[2].isdigit():
        return WooRef(parts[1], "order", int(parts[2]))
    if len(parts) == 4 and parts[0] == PREFIX and parts[2] == "refund" and parts[3].isdigit():
        return WooRef(parts[1], "refund", int(parts[3]))
    raise ValueError(f"not a canonical store order or refund id: {canonical[:80]!r}")


def is_order_id(key: str) -> bool:
    try:
        return parse(key).kind == "order"
    except ValueError:
        return False


def trace_subject(store: str, resource: str, resource_id: int | str) -> str:
    """What a delivery's trace is about: an order shares its trace with the ERP's events
    about it (the canonical order id); other resources are traced by their raw key."""
    if resource == "order":
        return order_id(store, int(resource_id))
    return raw_key(store, resource, resource_id)
