"""The emulator behaves as woocommerce-facts.md says WooCommerce does."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from streams.settings import StoreSettings
from streams.woo.client import WooClient, WooRejected, WooUnavailable
from streams.woo.signature import verify
from tests.emulator.conftest import Receiver
from woo_emulator.runner import EmulatorThread
from woo_emulator.store import Product


def control(emulator: EmulatorThread, path: str, body: dict[str, Any]) -> Any:
    """The emulator's own control API (not WooCommerce's): checkout, faults."""
    request = urllib.request.Request(f"{emulator.url}/__emulator/{path}",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, **json.loads(exc.read())}


def _sku(emulator: EmulatorThread, sku: str) -> Product:
    product = emulator.emulator.store.by_sku(sku)
    assert product is not None
    return product


async def _hook(client: WooClient, receiver: Receiver, topic: str,
                secret: str = "whsec") -> dict[str, Any]:
    hook, _ = await client.request("POST", "/webhooks", body={
        "name": topic, "topic": topic, "delivery_url": receiver.url, "secret": secret})
    return dict(hook)


async def _settle(emulator: EmulatorThread) -> None:
    await asyncio.sleep(0.05)
    emulator.call(emulator.emulator.webhooks.drain())


async def test_webhook_creation_pings_with_a_form_body_and_no_signature(
    emulator: EmulatorThread, receiver: Receiver, client: WooClient
) -> None:
    hook = await _hook(client, receiver, "order.updated")
    headers, body = receiver.received[0]
    assert body == f"webhook_id={hook['id']}".encode()
    assert not any(k.lower().startswith("x-wc-") for k in headers)


async def test_delivery_headers_and_signature(emulator: EmulatorThread, receiver: Receiver,
                                              client: WooClient) -> None:
    hook = await _hook(client, receiver, "product.updated", secret="s3cr&t")
    mug = _sku(emulator, "MUG")
    await client.request("PUT", f"/products/{mug.id}", body={"stock_quantity": 7})
    await _settle(emulator)
    headers, body = receiver.received[-1]
    assert headers["X-WC-Webhook-Topic"] == "product.updated"
    assert headers["X-WC-Webhook-Resource"] == "product"
    assert headers["X-WC-Webhook-Event"] == "updated"
    assert headers["X-WC-Webhook-ID"] == str(hook["id"])
    assert headers["X-WC-Webhook-Source"] == "https://shop.example/"
    assert len(headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert headers["User-Agent"].startswith("WooCommerce/")
    assert verify(body, "s3cr&t", headers["X-WC-Webhook-Signature"])
    assert b"\\/" in body or b"/" not in body  # PHP-escaped slashes
    assert json.loads(body)["stock_quantity"] == 7


async def test_quick_updates_coalesce_into_one_delivery_of_the_latest_state(
    emulator: EmulatorThread, receiver: Receiver, client: WooClient
) -> None:
    await _hook(client, receiver, "product.updated")
    mug = _sku(emulator, "MUG")
    for quantity in (5, 4, 3):
        await client.request("PUT", f"/products/{mug.id}", body={"stock_quantity": quantity})
    await _settle(emulator)
    deliveries = [json.loads(b) for h, b in receiver.received if "X-WC-Webhook-Topic" in h]
    assert [d["stock_quantity"] for d in deliveries] == [3]
    assert emulator.emulator.webhooks.coalesced == 2


async def test_failures_are_never_retried_and_the_seventh_disables(
    emulator: EmulatorThread, receiver: Receiver, client: WooClient
) -> None:
    hook = await _hook(client, receiver, "product.updated")
    receiver.status = 500
    mug = _sku(emulator, "MUG")
    for n in range(8):
        await client.request("PUT", f"/products/{mug.id}", body={"stock_quantity": 50 + n})
        await _settle(emulator)
    deliveries = [h for h, _ in receiver.received if "X-WC-Webhook-Topic" in h]
    assert len(deliveries) == 7  # one attempt per change; the 8th change is not sent
    state = emulator.emulator.webhooks.hooks[hook["id"]]
    assert state.status == "disabled"


async def test_stock_is_reduced_restored_and_restocked_as_woocommerce_does(
    emulator: EmulatorThread, client: WooClient
) -> None:
    cap = _sku(emulator, "CAP")
    start = cap.stock_quantity or 0
    order, _ = await client.request("POST", "/orders", body={
        "line_items": [{"product_id": cap.id, "quantity": 2}]})
    assert order["status"] == "pending" and cap.stock_quantity == start  # REST: no hold
    await client.request("PUT", f"/orders/{order['id']}", body={"status": "on-hold"})
    assert cap.stock_quantity == start - 2
    await client.request("PUT", f"/orders/{order['id']}", body={"status": "processing"})
    assert cap.stock_quantity == start - 2  # reduced once only
    refund, _ = await client.request("POST", f"/orders/{order['id']}/refunds", body={
        "amount": "16.80", "line_items": [{"id": order["line_items"][0]["id"], "quantity": 1}]})
    assert cap.stock_quantity == start - 1  # refund with restock
    assert refund["amount"] == "16.80" and refund["line_items"][0]["quantity"] == -1
    await client.request("PUT", f"/orders/{order['id']}", body={"status": "cancelled"})
    assert cap.stock_quantity == start  # the rest comes back


async def test_checkout_holds_stock_and_refuses_what_is_not_there(
    emulator: EmulatorThread, client: WooClient
) -> None:
    hot = _sku(emulator, "HOT-01")
    emulator.run(emulator.emulator.store.update_product, hot, {"stock_quantity": 3})
    held = control(emulator, "checkout", {
        "items": [{"product_id": hot.id, "quantity": 2}], "pay": False})
    assert held["status"] == "pending" and hot.stock_quantity == 3
    refused = control(emulator, "checkout", {"items": [{"product_id": hot.id, "quantity": 2}]})
    assert refused["status"] == 403
    assert refused["code"] == "woocommerce_product_not_enough_stock"
    paid = control(emulator, "checkout", {"items": [{"product_id": hot.id, "quantity": 1}]})
    assert paid["status"] == "processing" and hot.stock_quantity == 2


async def test_batch_limit_pagination_and_modified_after(emulator: EmulatorThread,
                                                         client: WooClient) -> None:
    items = [{"id": _sku(emulator, "MUG").id, "stock_quantity": 1}] * 101
    with pytest.raises(WooRejected) as too_many:
        await client.request("POST", "/products/batch", body={"update": items})
    assert too_many.value.status == 413
    assert too_many.value.code == "woocommerce_rest_request_entity_too_large"
    updated = await client.batch_update("/products/batch", items)  # the client splits it
    assert len(updated) == 101
    _, headers = await client.request("GET", "/products", {"per_page": "5"})
    assert int(headers["X-WP-Total"]) == 27 and headers["X-WP-TotalPages"] == "6"
    assert 'rel="next"' in headers["Link"]
    pages = [page async for page in client.pages("/products")]
    assert sum(len(p) for p in pages) == 27
    later = await client.get("/products", modified_after="2999-01-01T00:00:00",
                             dates_are_gmt="true")
    assert later == []


async def test_errors_have_woocommerces_shape(emulator: EmulatorThread,
                                              client: WooClient) -> None:
    with pytest.raises(WooRejected) as missing:
        await client.get("/orders/999999")
    assert (missing.value.status, missing.value.code) == (
        404, "woocommerce_rest_shop_order_invalid_id")
    with pytest.raises(WooRejected) as bad_topic:
        await client.request("POST", "/webhooks", body={"topic": "order.exploded",
                                                        "delivery_url": "http://x/"})
    assert bad_topic.value.code == "woocommerce_rest_webhook_invalid_topic"


async def test_oauth_over_http_refuses_bad_keys_and_reused_nonces(
    emulator: EmulatorThread, client: WooClient
) -> None:
    wrong = WooClient("demo", StoreSettings(rest_url=emulator.api,
                                            consumer_key=SecretStr("ck_demo"),
                                            consumer_secret=SecretStr("cs_wrong")))
    try:
        with pytest.raises(WooRejected) as refused:
            await wrong.get("/products")
        assert refused.value.status == 401
    finally:
        await wrong.close()
    # Replaying a signed URL (same nonce) is refused.
    url, _ = client._signed("GET", f"{client.base}/products", {})
    import aiohttp

    async with aiohttp.ClientSession() as session:
        first = await session.get(url)
        again = await session.get(url)
        assert first.status == 200
        assert again.status == 401
        assert "nonce" in (await again.json())["message"]
        basic = await session.get(f"{emulator.api}/products", headers={
            "Authorization": "Basic " + base64.b64encode(b"ck_demo:cs_demo").decode()})
        assert basic.status == 401  # Basic auth only counts over HTTPS


async def test_rest_faults_429_with_retry_after(emulator: EmulatorThread,
                                                client: WooClient) -> None:
    control(emulator, "faults", {"rest_429": 1.0})
    with pytest.raises(WooUnavailable) as busy:
        await client.get("/products")
    assert busy.value.retry_after == 1.0
    control(emulator, "faults", {})
    assert await client.get("/products", sku="MUG")


async def test_dropped_and_duplicated_webhooks(emulator: EmulatorThread, receiver: Receiver,
                                               client: WooClient) -> None:
    await _hook(client, receiver, "order.created")
    control(emulator, "faults", {"duplicate": 1.0})
    mug = _sku(emulator, "MUG")
    await client.request("POST", "/orders", body={"line_items": [{"product_id": mug.id,
                                                                  "quantity": 1}]})
    await _settle(emulator)
    created = [b for h, b in receiver.received if h.get("X-WC-Webhook-Topic") == "order.created"]
    assert len(created) == 2 and created[0] == created[1]
    control(emulator, "faults", {"drop": 1.0})
    await client.request("POST", "/orders", body={"line_items": [{"product_id": mug.id,
                                                                  "quantity": 1}]})
    await _settle(emulator)
    assert len([h for h, _ in receiver.received
                if h.get("X-WC-Webhook-Topic") == "order.created"]) == 2
    assert Decimal(str(json.loads(created[0])["line_items"][0]["price"])) == Decimal("9.5")


async def test_the_official_python_client_is_accepted_over_http(
        emulator: EmulatorThread) -> None:
    """WooCommerce's own client (PyPI woocommerce 3.0.0) signs its parameters and then
    sends them again, so every key appears twice in the query string; WooCommerce
    verifies over $_GET, which keeps one value per key, and accepts it."""
    from woocommerce import API

    def call(secret: str) -> Any:
        api = API(url=emulator.url, consumer_key="ck_demo", consumer_secret=secret,
                  version="wc/v3", timeout=10)
        return api.get("products", params={"sku": "MUG", "per_page": 5})

    accepted = await asyncio.to_thread(call, "cs_demo")
    assert accepted.status_code == 200, accepted.text
    assert "sku=MUG&" in accepted.request.url and accepted.request.url.count("sku=MUG") == 2
    assert [p["sku"] for p in accepted.json()] == ["MUG"]
    refused = await asyncio.to_thread(call, "cs_wrong")
    assert refused.status_code == 401
    assert refused.json()["code"] == "woocommerce_rest_authentication_error"


async def test_order_meta_data_is_kept_and_notes_are_listed(emulator: EmulatorThread,
                                                            client: WooClient) -> None:
    store = emulator.emulator.store
    mug = store.by_sku("MUG")
    assert mug is not None
    order = emulator.run(store.create_order, [(mug.id, 1)], {"email": "n@example.com"})
    tracking = [{"tracking_number": "TRK1", "tracking_provider": "DHL"}]
    updated, _ = await client.request("PUT", f"/orders/{order.id}", body={
        "meta_data": [{"key": "_wc_shipment_tracking_items", "value": tracking}]})
    again, _ = await client.request("PUT", f"/orders/{order.id}", body={
        "meta_data": [{"key": "_wc_shipment_tracking_items", "value": tracking * 2}],
        "status": "completed"})
    items = [m for m in again["meta_data"] if m["key"] == "_wc_shipment_tracking_items"]
    assert len(items) == 1 and items[0]["value"] == tracking * 2  # updated by key, kept
    assert again["status"] == "completed"
    assert updated["meta_data"][0]["id"] == items[0]["id"]
    note, _ = await client.request("POST", f"/orders/{order.id}/notes",
                                   body={"note": "Shipped: TRK1", "customer_note": True})
    assert note["customer_note"] is True and note["note"] == "Shipped: TRK1"
    listed = await client.get(f"/orders/{order.id}/notes")
    assert [n["note"] for n in listed] == ["Shipped: TRK1"]
    with pytest.raises(WooRejected) as refused:
        await client.request("POST", f"/orders/{order.id}/notes", body={"note": " "})
    assert refused.value.status == 400
