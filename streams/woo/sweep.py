"""Reading what changed in a WooCommerce store since a cursor, for the polling sweep.

Consumes a store's REST client, a resource kind and a cursor (the newest
``date_modified_gmt`` seen, the store's own clock); produces every order or product
(variations included) modified since the cursor less an overlap, read with
``modified_after`` and ``dates_are_gmt=true``, page by page (woocommerce-facts.md 2.7).
``webhook_health`` reads the store's webhooks: WooCommerce disables one after repeated
failed deliveries and never delivers again on it (facts 1, "no retry"; issue #8876), so
a disabled or paused webhook must be seen and reported, not discovered by its silence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.woo.client import WooClient


async def changed(client: WooClient, kind: str, cursor: str | None, overlap: timedelta
                  ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Each (resource, item) of ``kind`` ("orders" or "products") modified since
    ``cursor`` less ``overlap`` (everything when there is no cursor), page by page."""
    params = {"dates_are_gmt": "true", "orderby": "id", "order": "asc"}
    if cursor:
        since = datetime.fromisoformat(cursor) - overlap
        params["modified_after"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    resource = "order" if kind == "orders" else "product"
    variable: list[int] = []
    async for page in client.pages(f"/{kind}", **params):
        for item in page:
            yield resource, item
            if item.get("type") == "variable":
                variable.append(int(item["id"]))
    if kind == "products":
        # Variations are not in /products lists, and a variation's stock change does not
        # touch its parent's date: sweep the variations of every variable product.
        if cursor:
            async for page in client.pages("/products", type="variable"):
                variable += [int(p["id"]) for p in page]
        for parent in sorted(set(variable)):
            async for page in client.pages(f"/products/{parent}/variations", **params):
                for item in page:
                    yield resource, item


def modified(item: dict[str, Any]) -> str | None:
    """The item's date_modified_gmt as an aware ISO timestamp (UTC); None when it has
    none or it cannot be read (the item is still published: the normalizer judges it,
    and one bad item must not stop the sweep)."""
    try:
        moment = datetime.fromisoformat(str(item["date_modified_gmt"]).replace("Z", ""))
    except (KeyError, TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC).isoformat()


async def webhook_health(client: WooClient) -> dict[str, list[str]]:
    """The store's webhooks by status (active, paused, disabled), each as
    ``<id> <topic>``."""
    found: dict[str, list[str]] = {}
    async for page in client.pages("/webhooks", status="all"):
        for hook in page:
            found.setdefault(str(hook.get("status")), []).append(
                f"{hook.get('id')} {hook.get('topic')}")
    return found
