"""What each order status means, on both sides, in one table. Pure; data only.

Store rows (woocommerce-facts.md 2.3 and 3): every status WooCommerce has, with its
canonical meaning, what WooCommerce does to its own stock when an order reaches it
(reduce: processing, on-hold, completed; restore: cancelled, pending; nothing else), whether
an order first seen in it has had its stock taken (a ``refunded`` order was paid first:
WooCommerce took its stock, and only refunded quantities come back), whether reaching it
sends the order to the ERP by default, and its rank: woosync only ever moves a store
order forward in rank, never back.

ERP rows (tryton-facts.md): each sale state and its canonical meaning. The write-back
row says which store status a fully shipped ERP sale sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stock(StrEnum):
    REDUCE = "reduce"
    RESTORE = "restore"
    KEEP = "keep"


@dataclass(frozen=True)
class StoreStatus:
    canonical: str
    stock: Stock
    taken_if_first_seen: bool
    sends_to_erp: bool
    rank: int
    final: bool = False  # woosync never writes a status over it


STORE: dict[str, StoreStatus] = {
    "checkout-draft": StoreStatus("placed", Stock.KEEP, False, False, 0),
    "pending": StoreStatus("placed", Stock.RESTORE, False, False, 0),
    "failed": StoreStatus("payment_failed", Stock.KEEP, False, False, 0),
    "on-hold": StoreStatus("awaiting_payment", Stock.REDUCE, True, True, 1),
    "processing": StoreStatus("paid", Stock.REDUCE, True, True, 2),
    "completed": StoreStatus("completed", Stock.REDUCE, True, True, 3, final=True),
    "cancelled": StoreStatus("cancelled", Stock.RESTORE, False, False, 4, final=True),
    "refunded": StoreStatus("refunded", Stock.KEEP, True, False, 4, final=True),
    "trash": StoreStatus("deleted", Stock.KEEP, False, False, 4, final=True),
}
# A status WooCommerce plugins add (e.g. "shipped"): kept as it is, never sent, never
# overwritten, stock untouched.
UNKNOWN_STORE = StoreStatus("other", Stock.KEEP, False, False, 4, final=True)

DEFAULT_SEND_STATUSES: tuple[str, ...] = tuple(s for s, m in STORE.items() if m.sends_to_erp)

# Tryton's sale states (sale.sale.state).
ERP: dict[str, str] = {
    "draft": "sent_to_erp",
    "quotation": "sent_to_erp",
    "confirmed": "confirmed",
    "processing": "confirmed",  # its shipments and invoices exist; stock is allocated
    "done": "completed",
    "cancelled": "cancelled",
}
ERP_ALLOCATED = frozenset(s for s, c in ERP.items() if c in ("confirmed", "completed"))
# Until something ships: a processing sale is cancelled by cancelling its shipments and
# draft invoices (the adapter refuses once anything shipped or an invoice is posted).
ERP_CANCELLABLE = frozenset({"draft", "quotation", "confirmed", "processing"})

# When every shipment of the ERP sale is done, the store order becomes:
SHIPPED_STORE_STATUS = "completed"


def store_status(status: str) -> StoreStatus:
    return STORE.get(status, UNKNOWN_STORE)


def may_write(current: str, target: str) -> bool:
    """Whether woosync may set the store order from ``current`` to ``target``: only
    forward, and never over a final status."""
    now, then = store_status(current), store_status(target)
    return not now.final and then.rank > now.rank


def stock_taken(reduced_before: bool | None, status: str) -> bool:
    """Whether WooCommerce holds the order's stock taken after it reaches ``status``
    (``reduced_before``: as it stood, None when the order is seen for the first time)."""
    meaning = store_status(status)
    if meaning.stock is Stock.REDUCE:
        return True
    if meaning.stock is Stock.RESTORE:
        return False
    if reduced_before is None:
        return meaning.taken_if_first_seen
    return reduced_before
