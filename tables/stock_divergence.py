"""A store's stock of a SKU against what woosync last published to it, and whether the
ERP's feed is heard from. Pure.

Consumes a SKU's row (tables.inventory.SkuState: what was published to each store) and
one StorefrontProductObserved of that SKU (the store's own stock, from a webhook or the
sweep's read-back); produces the ``stock`` fact for tables.divergence, subject
``<ERP SKU>|<store>``. Nothing to judge (None) when the store does not manage this
product's stock itself (a parent holds it: the parent's snapshot is judged), when it is
deleted, or before anything was published to that store.

``raised_by_store``: the store shows more than was published, and the publication is
settled (older than a few seconds): a restock on refund or an edit in the store, which
the agent corrects at once (selling stock woosync did not publish risks overselling).

``recompute`` and ``atp_facts``: the ``atp`` kind, an audit. The SKU's sums (open holds,
converted holds a stock read does not cover yet) recomputed from its hold rows, and the
availability they give each store, against what was published to it: a hold or a read
lost or counted twice, or a publication skipped, shows as a disagreement.

``price_fact``: the same product's regular price in the store against the ERP's list
price (kept on the SKU's row by ``with_list_price``, newest ERP version wins), subject
``<ERP SKU>|<store>``; nothing to judge before the ERP's product was read or when the
store product has no price of its own (a variable product's parent).

``webhooks_fact``: a store's webhooks as the sweep reads them, all active or not.

``feed_fact``: from a partition's feed row (the last ERP heartbeat) and whether it is
stale, the ``feed`` fact about the one ERP feed (subject ``erp-feed``): silent beyond the
stale age is a disagreement that began at the last poll heard; a window once the feed's
SLA has passed since then.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tables.divergence import Fact, Sides
from tables.inventory import (
    ZERO,
    Channel,
    Hold,
    Policy,
    SkuState,
    availability,
    counts,
)


def stock_fact(state: SkuState, product: dict[str, Any]) -> Fact | None:
    store = product["store"]
    published = state.published.get(store)
    managed_here = product["manage_stock"] and product["stock_managed_by"] == product[
        "product_id"]
    if published is None or not managed_here or product["deleted"]:
        return None
    shown = Decimal(product["stock_quantity"] or 0)
    return Fact("stock", f"{state.sku}|{store}", True,
                Sides(f"store shows {shown}", f"woosync published {published.quantity}",
                      "the stock was edited in the store, or an availability command was"
                      " lost"), shown, Decimal(published.quantity))


KINDS = ("stock", "price", "feed", "atp")  # judged by the inventory agent
SETTLED = timedelta(seconds=5)  # a publication younger than this may still be in flight


def raised_by_store(state: SkuState, fact: Fact, now: datetime) -> bool:
    """The store shows more than woosync published to it, and the publication is old
    enough not to be on its way: the store raised the stock itself."""
    store = fact.subject.split("|", 1)[1]
    published = state.published.get(store)
    return (published is not None and fact.store_amount is not None
            and fact.erp_amount is not None and fact.store_amount > fact.erp_amount
            and now - datetime.fromisoformat(published.at) >= SETTLED)


def recompute(state: SkuState, holds: list[Hold]) -> SkuState:
    """The row with its sums taken again from its holds (tables.inventory.account's
    rules: an unconverted hold counts; a converted one until a read covers it)."""
    open_: dict[str, Decimal] = {}
    for h in holds:
        if h.converted_at is None and h.quantity:
            open_[h.store] = open_.get(h.store, ZERO) + h.quantity
    converting = {str(n): (h.quantity, h.converted_at, h.store) for n, h in enumerate(holds)
                  if h.converted_at is not None and counts(h.converted_at, state.read_at)}
    return replace(state, open=open_, converting=converting)


def atp_facts(state: SkuState, again: SkuState, channels: list[Channel], policy: Policy
              ) -> list[Fact]:
    """Each store's published value against the recomputed one, as the publication
    judged the feed (stale or not: the staleness timer re-publishes on a change)."""
    out = []
    for channel in channels:
        published = state.published.get(channel.store)
        if published is None or state.read_at is None:
            continue
        item, = availability(again, [channel], policy, published.stale)
        out.append(Fact("atp", f"{state.sku}|{item.store}", True, Sides(
            f"woosync published {published.quantity}",
            f"{item.quantity} recomputed from the ERP's levels and the holds",
            "a hold or a stock read was lost or counted twice, or a publication was"
            " skipped"), Decimal(published.quantity), Decimal(item.quantity)))
    return out


def with_list_price(state: SkuState, product: dict[str, Any]) -> SkuState:
    """The row after the ERP's ProductObserved (an older version changes nothing)."""
    version = product["modified_at"].isoformat()
    if state.list_price is not None and state.list_price[1] >= version:
        return state
    return replace(state, list_price=(str(product["list_price"]), version))


def price_fact(state: SkuState, product: dict[str, Any]) -> Fact | None:
    if state.list_price is None or product["deleted"] or product["regular_price"] is None:
        return None
    shown, erp = Decimal(product["regular_price"]), Decimal(state.list_price[0])
    return Fact("price", f"{state.sku}|{product['store']}", True,
                Sides(f"store price {shown}", f"ERP list price {erp}",
                      "the price was edited in the store, or an ERP repricing has not"
                      " reached it"), shown, erp)


FEED_SUBJECT = "erp-feed"


def feed_fact(row: dict[str, Any], stale: bool) -> Fact:
    polled = row.get("polled_at")
    # The sides stay the same through one silence (the last poll does not move), so an
    # open window is not updated on every tick.
    # The silence began at the last poll heard: the SLA counts from there.
    return Fact("feed", FEED_SUBJECT, not stale,
                Sides(f"no ERP poll since {polled or 'the worker started'}",
                      "ERP feed silent" if stale else "ERP feed polling",
                      "the ERP is down or unreachable, or its poller stopped" if stale
                      else ""), since=polled)


def webhooks_fact(store: str, health: dict[str, list[str]]) -> Fact:
    """The ``webhooks`` kind (judged by the store sweep, subject the store): every one of
    the store's webhooks active, and at least one. A paused, disabled or missing webhook
    delivers nothing; the sweep still reads every change, later."""
    idle = sorted(f"{hook} ({status})" for status, hooks in health.items()
                  if status != "active" for hook in hooks)
    silent = bool(idle) or not health.get("active")
    return Fact("webhooks", store, not silent, Sides(
        "webhooks not delivering: " + ", ".join(idle) if idle else
        ("no active webhook" if silent else "webhooks active"),
        "woosync expects the store's webhooks active",
        "WooCommerce disables a webhook after repeated failed deliveries; or someone"
        " paused or deleted it: re-enable it in the store" if silent else ""))
