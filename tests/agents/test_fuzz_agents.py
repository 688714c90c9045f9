"""Mutated store deliveries and ERP records through the two normalizing agents: nothing
stops them, and every input is accounted for (published, or dead-lettered with a
reason); a good input after all the bad ones still goes through."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from typing import Any

from agents import erp_feed, woo_normalize
from streams.envelope import deterministic_id, envelope
from streams.erp.tryton_rpc import dumps
from tests.agents.conftest import Harness
from tests.unit.test_fuzz import TRYTON, WOO

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ODD = [None, True, -1, 10**25, 1.5, "", "x", "2026-13-40T99:00:00", [], {}, [1, [2]],
       {"id": "x"}]


def mutate(sample: Any, rng: random.Random) -> Any:
    value = copy.deepcopy(sample)
    for _ in range(rng.randint(1, 3)):
        node: Any = value
        parent: Any = None
        step: Any = None
        while isinstance(node, dict | list) and node and (parent is None or rng.random() < 0.6):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            parent, step = node, rng.choice(keys)
            node = node[step]
        if parent is None:
            continue
        if isinstance(parent, dict) and rng.random() < 0.4:
            del parent[step]
        else:
            parent[step] = copy.deepcopy(rng.choice(ODD))
    return value


def _env(n: int) -> dict[str, Any]:
    return envelope(event_id=deterministic_id("fuzz", n), occurred_at=NOW, observed_at=NOW,
                    source="test", source_version=str(n), trace_id="t")


async def test_the_store_normalizer_accounts_for_every_mutated_delivery(
        make_harness: Any) -> None:
    h: Harness = await make_harness([woo_normalize.AGENT])
    rng = random.Random(20261201)
    # No refunds on the order: they would be read from a store this test does not run.
    samples = {"order": {**WOO["order"], "refunds": []}, "product": WOO["product"]}
    inputs = [(kind, mutate(samples[kind], rng)) for kind in ("order", "product") * 40]
    inputs.append(("order", {**samples["order"], "id": 99999}))
    async with h.agent("normalize_woo_deliveries").test_context() as agent:
        for n, (kind, payload) in enumerate(inputs):
            resource_id = payload.get("id") if isinstance(payload, dict) else None
            delivery = {"envelope": _env(n), "store": "demo", "via": "webhook",
                        "topic": f"{kind}.updated", "resource": kind,
                        "resource_id": str(resource_id), "webhook_id": 1,
                        "delivery_id": None, "headers": {},
                        "body": json.dumps(payload).encode(), "received_at": NOW}
            await agent.put(h.encode("woosync.WooDelivery", delivery),
                            key=f"demo:{kind}:{n}".encode())
    letters = h.dead_letters()
    assert letters and all(m.body["error"] for m in letters)
    published = h.out("commerce.orders") + h.out("commerce.products")
    keys = {m.body["value"] for m in letters}
    assert len(keys) == len(letters)  # each refused input once
    # Every input is either published or refused (a product without SKU publishes nothing
    # and is not an error: it is not sold through woosync).
    assert len(letters) + len(published) >= len(inputs) - sum(
        1 for kind, p in inputs if kind == "product" and isinstance(p, dict)
        and not p.get("sku"))
    assert any(m.body["order_id"] == "woo:demo:99999" for _, m in h.out("commerce.orders"))


async def test_the_erp_normalizer_accounts_for_every_mutated_record(make_harness: Any) -> None:
    h: Harness = await make_harness([erp_feed.AGENT])
    rng = random.Random(7)
    models = sorted(TRYTON)
    inputs = [(model, mutate(json.loads(dumps(TRYTON[model])), rng))
              for model in models * 16]
    inputs.append(("product.product", json.loads(dumps(TRYTON["product.product"]))))
    async with h.agent("normalize_erp_records").test_context() as agent:
        for n, (model, row) in enumerate(inputs):
            record = {"envelope": _env(n), "model": model, "record_id": str(n),
                      "body": json.dumps(row).encode(), "read_at": NOW}
            await agent.put(h.encode("woosync.ErpRecord", record),
                            key=f"{model}:{n}".encode())
    letters = h.dead_letters()
    assert letters and all(m.body["stage"] == "erp-normalize" for m in letters)
    assert all("is not a record the feed reads" in m.body["error"]
               or "Error" in m.body["error"] for m in letters)
    assert h.out("erp.catalog")[-1][1].body["sku"] == "HOT-01"  # the good one, last
