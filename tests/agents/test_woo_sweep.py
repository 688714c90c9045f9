"""The store sweep: one bad item or one failing store stops only itself; a webhook the
store disabled is counted and reported; a resource unchanged since the last run is not
published again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from agents import woo_sweep
from tests.agents.conftest import Harness


class Pages:
    """A store client answering each list path with fixed pages, or raising."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    async def pages(self, path: str, **params: str) -> AsyncIterator[list[dict[str, Any]]]:
        answer = self.answers.get(path, [])
        if isinstance(answer, Exception):
            raise answer
        for page in answer:
            yield page


async def test_a_failing_store_and_a_bad_item_stop_only_themselves(
        make_harness: Any, caplog: Any) -> None:
    stores = {name: {"url": f"http://127.0.0.1:1/{name}", "consumer_key": "ck",
                     "consumer_secret": "cs", "webhook_secret": "s"} for name in ("bad", "good")}
    h: Harness = await make_harness([woo_sweep.AGENT], stores=stores)
    h.runtime.stores = {  # type: ignore[assignment]
        "bad": Pages({"/orders": RuntimeError("the store answered a list of strings")}),
        "good": Pages({"/orders": [[
            {"date_modified_gmt": "2026-12-01T10:00:00"},  # no id: cannot be keyed
            {"id": 7, "date_modified_gmt": None},  # published; the normalizer judges it
            {"id": 8, "date_modified_gmt": "2026-12-01T11:00:00"}]],
            "/webhooks": [[{"id": 3, "topic": "order.updated", "status": "disabled"},
                           {"id": 4, "topic": "order.created", "status": "active"}]]}),
    }
    current: dict[str, str] = {}
    await woo_sweep.sweep(h.runtime, current, timedelta(seconds=120))
    raw = [(key, m.body["resource_id"]) for key, m in h.out("woo.raw")]
    assert raw == [("good:order:7", "7"), ("good:order:8", "8")]
    assert current == {"good:orders": "2026-12-01T11:00:00+00:00"}
    polls = h.runtime.metrics.feed_polls
    assert polls.labels("woo:bad:orders", "error")._value.get() == 1
    assert polls.labels("woo:good:orders", "bad_item")._value.get() == 1
    assert polls.labels("woo:bad:products", "ok")._value.get() == 1
    # A webhook WooCommerce disabled is counted and reported.
    hooks = h.runtime.metrics.store_webhooks
    assert hooks.labels("good", "disabled")._value.get() == 1
    assert hooks.labels("good", "active")._value.get() == 1
    assert any("webhooks 3 order.updated are disabled" in r.getMessage()
               for r in caplog.records)


async def test_a_store_whose_webhooks_stay_disabled_opens_a_window_until_re_enabled(
        make_harness: Any) -> None:
    stores = {"shop": {"url": "http://127.0.0.1:1/shop", "consumer_key": "ck",
                       "consumer_secret": "cs", "webhook_secret": "s"}}
    h: Harness = await make_harness([woo_sweep.AGENT], stores=stores,
                                    divergence_sla_seconds={"webhooks": 0.0})
    hooks = [{"id": 3, "topic": "order.updated", "status": "disabled"},
             {"id": 4, "topic": "order.created", "status": "active"}]
    h.runtime.stores = {"shop": Pages({"/webhooks": [hooks]})}  # type: ignore[assignment]
    windows: dict[bytes, Any] = {}
    await woo_sweep.sweep(h.runtime, {}, timedelta(seconds=120), windows)
    opened = h.out("divergence.windows", "DivergenceOpened")
    assert [(m.body["window"]["kind"], m.body["window"]["subject"]) for _, m in opened] == [
        ("webhooks", "shop")]
    assert "3 order.updated (disabled)" in opened[0][1].body["window"]["store_value"]
    assert h.runtime.metrics.divergence_open.labels("webhooks")._value.get() == 1

    hooks[0]["status"] = "active"  # re-enabled in the store
    await woo_sweep.sweep(h.runtime, {}, timedelta(seconds=120), windows)
    assert [m.short_name for _, m in h.out("divergence.windows")] == [
        "DivergenceOpened", "DivergenceClosed"]
    assert windows == {}


async def test_a_resource_the_store_did_not_change_is_not_published_again(
        make_harness: Any) -> None:
    stores = {"s": {"url": "http://127.0.0.1:1/s", "consumer_key": "ck",
                    "consumer_secret": "cs", "webhook_secret": "x"}}
    h: Harness = await make_harness([woo_sweep.AGENT], stores=stores)
    orders = [[{"id": 1, "date_modified_gmt": "2026-12-01T10:00:00", "status": "processing"},
               {"id": 2, "date_modified_gmt": "2026-12-01T10:00:05", "status": "processing"}]]
    h.runtime.stores = {"s": Pages({"/orders": orders})}  # type: ignore[assignment]
    published = woo_sweep.Published()
    current: dict[str, str] = {}
    await woo_sweep.sweep(h.runtime, current, timedelta(seconds=120), None, published)
    assert len(h.out("woo.raw")) == 2
    await woo_sweep.sweep(h.runtime, current, timedelta(seconds=120), None, published)
    assert len(h.out("woo.raw")) == 2  # the same window, nothing changed
    orders[0][1] = {**orders[0][1], "date_modified_gmt": "2026-12-01T10:00:09",
                    "status": "completed"}
    await woo_sweep.sweep(h.runtime, current, timedelta(seconds=120), None, published)
    assert [m.body["resource_id"] for _, m in h.out("woo.raw")] == ["1", "2", "2"]
    assert h.runtime.metrics.feed_polls.labels("woo:s", "unchanged")._value.get() == 3
