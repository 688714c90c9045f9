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

from streams.woo.signature import sign
from tests.integration.conftest import SECRET, Stack
from woo_emulator.config import ReservationCheck

pytestmark = [pytest.mark.integration, pytest.mark.fresh]


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


async def test_the_reservation_check_holds_refuses_and_settles(stack: Stack) -> None:
    await _published(stack, ["HOT-01", "HOT-02", "HOT-03"])
    atp = _atp(stack, "HOT-01")
    assert atp > 2
    status, body = _check(stack, "HOT-01", atp + 1)
    assert status == 200 and body["fits"] is False and body["hold"] is None
    assert body["lines"] == [{"sku": "HOT-01", "quantity": str(atp + 1), "available": atp,
                              "fits": False}]
    assert _check(stack, "HOT-01", 1)[1]["fits"] is True
    # Holding withholds stock from other shoppers: only the store may, signing.
    assert _post(stack, {"store": stack.store, "hold": True,
                         "lines": [{"sku": "HOT-01", "quantity": 1}]})[0] == 401
    assert _post(stack, {"store": "nope", "lines": [{"sku": "HOT-01", "quantity": 1}]})[0] == 404
    assert _post(stack, {"store": stack.store, "lines": []})[0] == 400
    assert _post(stack, {"store": stack.store,
                         "lines": [{"sku": "HOT-01", "quantity": -2}]})[0] == 400

    status, held = _check(stack, "HOT-01", atp, hold=True, order_id="900001")
    assert status == 200 and held["fits"] and held["hold"]["key"] == (
        f"woo:{stack.store}:900001")
    other = _check(stack, "HOT-01", 1, order_id="900002")[1]
    assert other["fits"] is False and other["lines"][0]["available"] == 0
    # The same cart asking again is not held back by its own hold.
    assert _check(stack, "HOT-01", atp, order_id="900001")[1]["fits"] is True
    assert _check(stack, "HOT-01", atp, release=True, key=held["hold"]["key"])[0] == 200
    assert _check(stack, "HOT-01", 1, order_id="900002")[1]["fits"] is True

    # The store asks at each checkout, as a plugin would.
    check = ReservationCheck(f"http://127.0.0.1:{stack.settings.web_port}/reservations/check",
                             stack.store, SECRET, timeout_seconds=5)
    emulator = stack.emulator
    await asyncio.to_thread(emulator.run, setattr, emulator.emulator.config,
                            "reservation_check", check)
    store = emulator.emulator.store
    hot2 = store.by_sku("HOT-02")
    assert hot2 is not None and (hot2.stock_quantity or 0) > 0
    # Another cart holds everything woosync can promise of HOT-02.
    assert _check(stack, "HOT-02", _atp(stack, "HOT-02"), hold=True,
                  order_id="900003")[1]["fits"]
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.url}/__emulator/checkout", json={
                "items": [{"product_id": hot2.id, "quantity": 1}]}) as response:
            assert response.status == 403
            assert "Not enough units of HOT-02" in (await response.json())["message"]
        assert emulator.emulator.reservation_refusals == 1

        hot3 = store.by_sku("HOT-03")
        assert hot3 is not None
        held_before = Decimal(stack.get("/reservations/HOT-03")[1]["held"])
        async with session.post(f"{emulator.url}/__emulator/checkout", json={
                "items": [{"product_id": hot3.id, "quantity": 2}]}) as response:
            assert response.status == 201
    # Once the order's own hold is counted, its provisional hold no longer is.
    deadline = time.monotonic() + 30
    while Decimal(stack.get("/reservations/HOT-03")[1]["held"]) < held_before + 2:
        assert time.monotonic() < deadline, "the order's hold never arrived"
        await asyncio.sleep(0.5)
    line = _check(stack, "HOT-03", 1, order_id="900004")[1]["lines"][0]
    assert line["available"] == _atp(stack, "HOT-03")
    assert emulator.emulator.check_latencies
