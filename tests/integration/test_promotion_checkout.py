"""The reservation check at checkout, against a real broker, Tryton, the emulator and a
worker: a cart fits within ATP; a signed provisional hold withholds its units from other
carts until released; an unsigned hold is refused; the emulator, asking as a store
plugin would, refuses a checkout woosync cannot promise even though the store still
shows stock; and the order's own hold settles its provisional one (the units are not
counted twice)."""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from streams.erp.tryton_rpc import TrytonClient
from streams.woo.signature import sign
from tests.integration.conftest import SECRET, Stack
from tests.integration.erp_actions import count_stock
from woo_emulator.config import ReservationCheck

pytestmark = [pytest.mark.integration, pytest.mark.fresh]
# SKUs the other tests sell least; counted afresh here, so that their stock is known and
# published to this test's store (the broker and the ERP are shared with earlier tests,
# whose holds every store's ATP still counts).
A, B, C = "HOT-21", "HOT-22", "HOT-23"


def _post(stack: Stack, body: dict[str, Any], signed: bool = False) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-WooSync-Signature"] = sign(raw, SECRET)
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.settings.web_port}/reservations/check", data=raw,
        headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


def _atp(stack: Stack, sku: str) -> int:
    status, body = stack.get(f"/reservations/{sku}")
    assert status == 200, body
    return max(0, math.floor(Decimal(body["stores"][stack.store]["atp"])))


async def _published(stack: Stack, skus: list[str]) -> None:
    deadline = time.monotonic() + 90
    while True:
        found = [stack.get(f"/reservations/{sku}") for sku in skus]
        if all(s == 200 and b["stores"][stack.store]["published"] for s, b in found):
            return
        assert time.monotonic() < deadline, "woosync never published the SKUs"
        await asyncio.sleep(1)


def _check(stack: Stack, sku: str, quantity: int, **more: Any) -> tuple[int, Any]:
    return _post(stack, {"store": stack.store, "lines": [{"sku": sku, "quantity": quantity}],
                         **more}, signed=bool(more.get("hold") or more.get("release")))


async def test_the_reservation_check_holds_refuses_and_settles(
        stack: Stack, erp_admin: TrytonClient) -> None:
    for sku in (A, B, C):
        await count_stock(erp_admin, sku, "WH", 400)
        await count_stock(erp_admin, sku, "WH2", 0)
    await _published(stack, [A, B, C])
    atp = _atp(stack, A)
    assert atp > 2
    status, body = _check(stack, A, atp + 1)
    assert status == 200 and body["fits"] is False and body["hold"] is None
    assert body["lines"] == [{"sku": A, "quantity": str(atp + 1), "available": atp,
                              "fits": False}]
    assert _check(stack, A, 1)[1]["fits"] is True
    # Holding withholds stock from other shoppers: only the store may, signing.
    assert _post(stack, {"store": stack.store, "hold": True,
                         "lines": [{"sku": A, "quantity": 1}]})[0] == 401
    assert _post(stack, {"store": "nope", "lines": [{"sku": A, "quantity": 1}]})[0] == 404
    assert _post(stack, {"store": stack.store, "lines": []})[0] == 400
    assert _post(stack, {"store": stack.store,
                         "lines": [{"sku": A, "quantity": -2}]})[0] == 400

    status, held = _check(stack, A, atp, hold=True, order_id="900001")
    assert status == 200 and held["fits"] and held["hold"]["key"] == (
        f"woo:{stack.store}:900001")
    other = _check(stack, A, 1, order_id="900002")[1]
    assert other["fits"] is False and other["lines"][0]["available"] == 0
    # The same cart asking again is not held back by its own hold.
    assert _check(stack, A, atp, order_id="900001")[1]["fits"] is True
    assert _check(stack, A, atp, release=True, key=held["hold"]["key"])[0] == 200
    assert _check(stack, A, 1, order_id="900002")[1]["fits"] is True

    # The store asks at each checkout, as a plugin would.
    check = ReservationCheck(f"http://127.0.0.1:{stack.settings.web_port}/reservations/check",
                             stack.store, SECRET, timeout_seconds=5)
    emulator = stack.emulator
    await asyncio.to_thread(emulator.run, setattr, emulator.emulator.config,
                            "reservation_check", check)
    store = emulator.emulator.store
    hot2 = store.by_sku(B)
    assert hot2 is not None and (hot2.stock_quantity or 0) > 0
    # Another cart holds everything woosync can promise of B.
    assert _check(stack, B, _atp(stack, B), hold=True,
                  order_id="900003")[1]["fits"]
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.url}/__emulator/checkout", json={
                "items": [{"product_id": hot2.id, "quantity": 1}]}) as response:
            assert response.status == 403
            assert f"Not enough units of {B}" in (await response.json())["message"]
        assert emulator.emulator.reservation_refusals == 1

        hot3 = store.by_sku(C)
        assert hot3 is not None
        held_before = Decimal(stack.get(f"/reservations/{C}")[1]["held"])
        async with session.post(f"{emulator.url}/__emulator/checkout", json={
                "items": [{"product_id": hot3.id, "quantity": 2}]}) as response:
            assert response.status == 201
    # Once the order's own hold is counted, its provisional hold no longer is.
    deadline = time.monotonic() + 30
    while Decimal(stack.get(f"/reservations/{C}")[1]["held"]) < held_before + 2:
        assert time.monotonic() < deadline, "the order's hold never arrived"
        await asyncio.sleep(0.5)
    line = _check(stack, C, 1, order_id="900004")[1]["lines"][0]
    assert line["available"] == _atp(stack, C)
    assert emulator.emulator.check_latencies
