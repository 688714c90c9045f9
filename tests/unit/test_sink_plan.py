"""The sink's plan: the last availability per (store, SKU) wins, the rest are
superseded; variations go to their parent's batch endpoint."""

from __future__ import annotations

from streams.codec import Message
from streams.woo.sink_plan import ProductRef, availability_requests, coalesce


def _set(command_id: str, sku: str, quantity: int, store: str = "eu") -> Message:
    return Message("woosync.SetAvailability", {"command_id": command_id, "store": store,
                                               "sku": sku, "quantity": quantity,
                                               "stock_status": "instock"})


def test_last_value_per_sku_wins() -> None:
    plan = coalesce([_set("1", "A", 5), _set("2", "B", 1), _set("3", "A", 4),
                     _set("4", "A", 3, store="us"),
                     Message("woosync.SetOrderStatus", {"command_id": "5"})])
    assert {k: m.body["quantity"] for k, m in plan.latest.items()} == {
        ("eu", "A"): 4, ("eu", "B"): 1, ("us", "A"): 3}
    assert [(a.body["command_id"], b.body["command_id"]) for a, b in plan.superseded] == [
        ("1", "3")]
    assert [m.body["command_id"] for m in plan.others] == ["5"]


def test_variations_use_their_parents_batch_endpoint() -> None:
    refs = {"A": ProductRef(10), "S": ProductRef(21, parent_id=20, variation=True)}
    requests = availability_requests([_set("1", "A", 5), _set("2", "S", 0)], refs)
    assert {path: [item for _, item in pairs] for path, pairs in requests.items()} == {
        "/products/batch": [{"id": 10, "manage_stock": True, "stock_quantity": 5}],
        "/products/20/variations/batch": [{"id": 21, "manage_stock": True,
                                           "stock_quantity": 0}]}


def test_a_command_issued_before_the_newest_applied_is_stale() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def issued(command_id: str, quantity: int, at: datetime) -> Message:
        message = _set(command_id, "A", quantity)
        message.body["envelope"] = {"observed_at": at}
        return message

    applied = {("eu", "A"): t0}
    plan = coalesce([issued("old", 9, t0 - timedelta(minutes=5)),
                     issued("new", 4, t0 + timedelta(seconds=1))], applied)
    assert [m.body["command_id"] for m in plan.stale] == ["old"]  # a replay of the past
    assert plan.latest[("eu", "A")].body["command_id"] == "new"
