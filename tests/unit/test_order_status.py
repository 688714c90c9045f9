"""The status table: every WooCommerce status, what it does to stock, and the pairs
woosync maps between the store, the canonical lifecycle and the ERP."""

from __future__ import annotations

import pytest

from tables.order_status import (
    DEFAULT_SEND_STATUSES,
    ERP,
    ERP_ALLOCATED,
    ERP_CANCELLABLE,
    SHIPPED_STORE_STATUS,
    STORE,
    Stock,
    may_write,
    stock_taken,
    store_status,
)


@pytest.mark.parametrize(("status", "canonical", "stock"), [
    ("checkout-draft", "placed", Stock.KEEP),
    ("pending", "placed", Stock.RESTORE),
    ("failed", "payment_failed", Stock.KEEP),
    ("on-hold", "awaiting_payment", Stock.REDUCE),
    ("processing", "paid", Stock.REDUCE),
    ("completed", "completed", Stock.REDUCE),
    ("cancelled", "cancelled", Stock.RESTORE),
    ("refunded", "refunded", Stock.KEEP),
    ("trash", "deleted", Stock.KEEP),
])
def test_each_store_status_means_one_thing(status: str, canonical: str, stock: Stock) -> None:
    assert store_status(status).canonical == canonical
    assert store_status(status).stock is stock


def test_every_woocommerce_status_has_a_row() -> None:
    assert set(STORE) == {"pending", "processing", "on-hold", "completed", "cancelled",
                          "refunded", "failed", "checkout-draft", "trash"}
    assert store_status("shipped-by-plugin").canonical == "other"


def test_only_paid_or_awaiting_payment_orders_go_to_the_erp_by_default() -> None:
    assert set(DEFAULT_SEND_STATUSES) == {"processing", "on-hold", "completed"}


@pytest.mark.parametrize(("before", "status", "taken"), [
    (None, "processing", True), (None, "on-hold", True), (None, "completed", True),
    (None, "pending", False), (None, "checkout-draft", False), (None, "failed", False),
    (None, "cancelled", False), (None, "refunded", True), (None, "trash", False),
    (True, "failed", True), (False, "failed", False), (True, "refunded", True),
    (True, "cancelled", False), (True, "pending", False), (False, "completed", True),
])
def test_what_woocommerce_holds_taken_after_each_status(before: bool | None, status: str,
                                                        taken: bool) -> None:
    assert stock_taken(before, status) is taken


@pytest.mark.parametrize(("erp", "canonical"), [
    ("draft", "sent_to_erp"), ("quotation", "sent_to_erp"), ("confirmed", "confirmed"),
    ("processing", "confirmed"), ("done", "completed"), ("cancelled", "cancelled")])
def test_each_erp_state_means_one_thing(erp: str, canonical: str) -> None:
    assert ERP[erp] == canonical


def test_allocated_and_cancellable_erp_states() -> None:
    assert {"confirmed", "processing", "done"} == ERP_ALLOCATED
    assert {"draft", "quotation", "confirmed", "processing"} == ERP_CANCELLABLE


@pytest.mark.parametrize(("current", "target", "allowed"), [
    ("processing", "completed", True), ("on-hold", "completed", True),
    ("pending", "completed", True), ("completed", "completed", False),
    ("cancelled", "completed", False), ("refunded", "completed", False),
    ("completed", "processing", False), ("plugin-status", "completed", False)])
def test_woosync_only_moves_a_store_order_forward(current: str, target: str,
                                                  allowed: bool) -> None:
    assert may_write(current, target) is allowed
    assert SHIPPED_STORE_STATUS == "completed"
