"""The ledger: an order's line on both sides, and a day's differences each linked to an
open window, in flight within its SLA, or unexplained."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from streams.codec import Codec
from streams.envelope import envelope
from tables import ledger
from tables.ledger import IN_FLIGHT, LINKED, UNEXPLAINED, OpenWindow, reconcile
from tests.unit.test_orders import LIFE, NOW, OID, T0, erp, order, refund, run, sale

SEND = frozenset({"processing", "completed"})
SLA = {"sale": timedelta(seconds=300), "refund": timedelta(seconds=900),
       "sale-total": timedelta(seconds=60)}
DAY = T0.date().isoformat()


def _line(events: list) -> ledger.Line:  # type: ignore[type-arg]
    found = ledger.line(run(events)[0], SEND)
    assert found is not None
    return found


def test_a_paid_order_without_its_sale_is_in_flight_then_unexplained_then_linked() -> None:
    ln = _line([order("processing", 2)])
    assert (ln.counted_store, ln.counted_erp, ln.store_total) == (True, False,
                                                                  Decimal("106.25"))
    [diff] = ln.differences
    assert (diff.kind, diff.subject, diff.expected) == ("sale", OID, "ERP sale")
    issued = NOW  # run() issues the sale command at NOW
    assert reconcile(DAY, [ln], [], issued + timedelta(seconds=10), SLA)[
        "items"][0]["status"] == IN_FLIGHT
    late = issued + timedelta(seconds=301)
    assert reconcile(DAY, [ln], [], late, SLA)["differences"][UNEXPLAINED] == 1
    window = OpenWindow("sale|x|t", "sale", OID, "refused: no such product")
    day = reconcile(DAY, [ln], [window], late, SLA)
    assert day["differences"] == {LINKED: 1, IN_FLIGHT: 0, UNEXPLAINED: 0}
    assert day["items"][0]["window_id"] == "sale|x|t"


def test_a_whole_life_with_credit_notes_reconciles_to_no_difference() -> None:
    notes = [erp("CreditNoteObserved", 60 + i, refund_id=r, credit_note_id=f"c{r}",
                 number=f"C{r}", state="posted", total=-Decimal(a))
             for i, (r, a) in enumerate([("r1", "20.91"), ("r2", "5.00")])]
    ln = _line([*LIFE, *notes])
    assert ln.differences == ()
    day = reconcile(DAY, [ln], [], NOW, SLA)
    assert day["store"] == {"orders": 1, "total": "106.25", "shipping": "4.90",
                            "tax": "17.71", "refunds": "25.91"}
    assert day["erp"]["total"] == "106.25" and day["erp"]["credited"] == "25.91"
    assert day["erp"]["invoiced"] == "106.25"


def test_a_refund_without_its_credit_note_and_a_wrong_total_are_differences() -> None:
    edited = order("processing", 30)
    edited[1]["total"] = Decimal("110.00")
    ln = _line([order("processing", 2), sale("confirmed", 10), refund("r1", 1, "20.91"),
                edited])
    kinds = sorted((d.kind, d.subject) for d in ln.differences)
    assert kinds == [("refund", f"{OID}|r1"), ("sale-total", OID)]
    # A refused command of the order explains every difference of the order.
    refused = OpenWindow("w", "command", f"{OID}|credit:r1", "refused")
    day = reconcile(DAY, [ln], [refused], NOW + timedelta(days=1), SLA)
    assert day["differences"][LINKED] == 2


def test_cancelled_orders_count_on_neither_side_once_the_sale_is_cancelled() -> None:
    ln = _line([order("processing", 2), sale("confirmed", 10), order("cancelled", 20)])
    assert [d.expected for d in ln.differences] == ["ERP sale cancelled"]
    ln = _line([order("processing", 2), sale("confirmed", 10), order("cancelled", 20),
                sale("cancelled", 30)])
    assert (ln.counted_store, ln.counted_erp, ln.differences) == (False, False, ())


def test_other_days_are_not_counted_and_unpaid_orders_are_not_differences() -> None:
    ln = _line([order("pending", 1)])
    assert ln.differences == () and not ln.counted_store
    assert reconcile("2026-11-30", [ln], [], NOW, SLA)["orders"] == 0


def test_the_line_survives_its_avro_message() -> None:
    ln = _line([order("processing", 2), refund("r1", 1, "20.91")])
    codec = Codec()
    fields = {"envelope": envelope(event_id="e", occurred_at=NOW, observed_at=NOW,
                                   source="woosync", source_version="1", trace_id="t")}
    body = codec.decode(codec.encode("woosync.LedgerLine", {**fields,
                                                           **ledger.to_record(ln)})).body
    assert ledger.from_record(body) == ln


def test_a_store_s_ledger_counts_only_its_orders() -> None:
    ln = _line([order("processing", 2), sale("confirmed", 10)])
    assert reconcile(DAY, [ln], [], NOW, SLA, store="s")["orders"] == 1
    assert reconcile(DAY, [ln], [], NOW, SLA, store="other")["orders"] == 0
