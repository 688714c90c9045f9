"""The orders agent's divergence windows: a paid order without its ERP sale is suspect,
opens a window once its SLA has passed (on the timer's tick), and the sale closes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents import orders
from streams import divergence
from streams.envelope import utcnow
from tables.divergence import OPEN, SUSPECT, Window
from tables.registry import ORDER_WINDOWS
from tests.agents.conftest import Harness
from tests.unit.test_orders import OID, order, sale


async def test_a_missing_sale_opens_a_window_after_its_sla_and_the_sale_closes_it(
        make_harness: Any) -> None:
    h: Harness = await make_harness([orders.AGENT], partitions=1,
                                    divergence_sla_seconds={"sale": 300.0})
    windows = h.runtime.table(ORDER_WINDOWS)
    key = f"{OID}|sale".encode()
    async with h.agent("track_orders").test_context() as agent:
        name, body = order("processing", 1)
        await agent.put(h.encode(f"woosync.{name}", body), key=OID.encode())
        suspect = Window.from_json(windows.get(key))
        assert suspect is not None and suspect.state == SUSPECT
        assert h.out("divergence.windows") == []  # in flight, not a divergence yet

        await divergence.tick_all(h.runtime, windows, "orders", "commerce.orders",
                                  utcnow() + timedelta(seconds=301), partitions={0})
        opened = h.out("divergence.windows", "DivergenceOpened")
        assert [m.body["window"]["kind"] for _, m in opened] == ["sale"]
        assert opened[0][1].body["window"]["erp_value"] == "no sale"
        window = Window.from_json(windows.get(key))
        assert window is not None and window.state == OPEN
        gauge = h.runtime.metrics.divergence_open.labels("sale")._value.get()
        assert gauge == 1

        name, body = sale("processing", 2)
        await agent.put(h.encode(f"woosync.{name}", body), key=OID.encode())
    closed = h.out("divergence.windows", "DivergenceClosed")
    assert [(key_, m.body["window"]["closed_at"] is not None) for key_, m in closed] == [
        (opened[0][0], True)]
    assert not windows.get(key)  # forgotten: the next disagreement is a new episode
    closed_count = h.runtime.metrics.registry.get_sample_value(
        "woosync_divergence_duration_seconds_count", {"kind": "sale"})
    assert closed_count == 1  # its duration is counted


async def test_each_change_of_the_ledger_line_is_published_once(make_harness: Any) -> None:
    h: Harness = await make_harness([orders.AGENT], partitions=1)
    async with h.agent("track_orders").test_context() as agent:
        for name, body in (order("processing", 1), order("processing", 2),
                           sale("processing", 3)):
            await agent.put(h.encode(f"woosync.{name}", body), key=OID.encode())
    lines = [m.body for _, m in h.out("ledger.orders", "LedgerLine")]
    # The second snapshot changes the row (its version) but not the line: not published.
    assert [(ln["counted_erp"], [d["kind"] for d in ln["differences"]]) for ln in lines
            ] == [(False, ["sale"]), (True, [])]
    assert lines[1]["erp_sale"] == "S9" and lines[1]["day"] == "2026-12-01"


def _failed(command_id: str, retryable: bool, n: int) -> dict[str, Any]:
    from streams.envelope import envelope
    return {"envelope": envelope(event_id=f"f{n}", occurred_at=utcnow(),
                                 observed_at=utcnow(), source="woosync",
                                 source_version="1", trace_id="t"),
            "command_id": command_id, "command_type": "CreateSalesOrder",
            "target": "erp:tryton", "attempts": 3, "retryable": retryable,
            "error": "erp:tryton unavailable for more than 120s" if retryable
            else "no ERP product with code TEE-ERP"}


async def test_a_command_given_up_on_is_re_sent_and_a_refusal_is_not(
        make_harness: Any) -> None:
    h: Harness = await make_harness([orders.AGENT], partitions=1,
                                    divergence_sla_seconds={"command": 0.0})
    windows = h.runtime.table(ORDER_WINDOWS)
    async with h.agent("track_orders").test_context() as agent:
        name, body = order("processing", 1)
        await agent.put(h.encode(f"woosync.{name}", body), key=OID.encode())
        [(_, sent)] = h.out("erp.commands", "CreateSalesOrder")
        cid = sent.body["command_id"]
        await agent.put(h.encode("woosync.CommandFailed", _failed(cid, True, 1)),
                        key=OID.encode())
        resent = h.out("erp.commands", "CreateSalesOrder")
        assert [m.body["command_id"] for _, m in resent] == [cid, cid]
        healed = h.out("divergence.windows", "DivergenceUpdated")[-1][1].body["window"]
        assert healed["action"] == "re-sent sale (re-send 1)"

        # Refused this time: nothing to re-send, even when the retry interval passed.
        await agent.put(h.encode("woosync.CommandFailed", _failed(cid, False, 2)),
                        key=OID.encode())
        await divergence.tick_all(h.runtime, windows, "orders", "commerce.orders",
                                  utcnow() + timedelta(seconds=301), partitions={0},
                                  heal=None)
    assert len(h.out("erp.commands", "CreateSalesOrder")) == 2
