"""Webhook delivery as WooCommerce does it (woocommerce-facts.md section 1):

- a change queues one action per (webhook, resource id); while one is pending a new one
  is not added (coalescing, PR #22088), and the payload is built when the action runs,
  so several quick changes become one delivery of the latest state;
- the action runs later (the Action Scheduler queue), POSTs once, and is never retried;
- headers X-WC-Webhook-*, the body as wp_json_encode writes it, and the signature
  base64(HMAC-SHA256(body, secret));
- 200..302 counts as success and resets the failure count; on a failure with
  failure_count > max_failures the webhook is disabled, else the count goes up;
- a ping (``webhook_id=N`` form body, no X-WC headers) when a webhook is created.
Faults (drop, duplicate, reorder, delay) are applied on the way out.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from woo_emulator import phpjson
from woo_emulator.auth import webhook_signature
from woo_emulator.config import EmulatorConfig

RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str = "active"
    failure_count: int = 0
    pending_delivery: bool = True
    date_created: datetime | None = None


@dataclass
class DeliveryRecord:
    webhook_id: int
    topic: str
    resource_id: int
    status: int | None
    fault: str | None
    body: bytes = b""


@dataclass
class WebhookEngine:
    config: EmulatorConfig
    payload_for: Callable[[str, int], dict[str, Any]]
    hooks: dict[int, Webhook] = field(default_factory=dict)
    log: list[DeliveryRecord] = field(default_factory=list)
    coalesced: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)
        self._pending: set[tuple[int, int]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    @staticmethod
    def valid_topic(topic: str) -> bool:
        resource, _, event = topic.partition(".")
        return resource in RESOURCES and event in EVENTS

    def on_change(self, resource: str, event: str, resource_id: int) -> None:
        topic = f"{resource}.{event}"
        for hook in self.hooks.values():
            if hook.status == "active" and hook.topic == topic:
                self._enqueue(hook, resource_id)

    def _enqueue(self, hook: Webhook, resource_id: int) -> None:
        key = (hook.id, resource_id)
        if key in self._pending:
            self.coalesced += 1
            return
        self._pending.add(key)
        self._spawn(self._run(hook, resource_id))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sleep(self, emulated_seconds: float) -> None:
        await asyncio.sleep(emulated_seconds * self.config.time_scale)

    async def _run(self, hook: Webhook, resource_id: int) -> None:
        faults = self.config.faults
        delay = self.config.queue_delay_seconds
        if faults.delay_seconds:
            delay += self.rng.uniform(0, faults.delay_seconds)
        if self.rng.random() < faults.reorder:
            delay += 2 * self.config.queue_delay_seconds + faults.delay_seconds
        await self._sleep(delay)
        self._pending.discard((hook.id, resource_id))
        if hook.status != "active":
            return
        # Built now, not when the change happened (woocommerce-facts.md 1.5).
        resource, _, event = hook.topic.partition(".")
        payload = ({"id": resource_id} if event == "deleted"
                   else self.payload_for(resource, resource_id))
        body = phpjson.encode(payload)
        if self.rng.random() < faults.drop:
            self.log.append(DeliveryRecord(hook.id, hook.topic, resource_id, None, "dropped",
                                           body))
            return
        copies = 2 if self.rng.random() < faults.duplicate else 1
        for copy in range(copies):
            status = await self._post(hook, body)
            self.log.append(DeliveryRecord(hook.id, hook.topic, resource_id, status,
                                           "duplicate" if copy else None, body))
            self._account(hook, status)

    def headers(self, hook: Webhook, body: bytes) -> dict[str, str]:
        resource, _, event = hook.topic.partition(".")
        # wp_hash(webhook id . unix time): the same for two deliveries in one second.
        delivery_id = hashlib.md5(f"{hook.id}{int(time.time())}".encode()).hexdigest()
        return {
            "User-Agent": f"WooCommerce/{self.config.wc_version} Hookshot (WordPress/6.8)",
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": self.config.site_url,
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": webhook_signature(body, hook.secret),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }

    async def _post(self, hook: Webhook, body: bytes) -> int | None:
        try:
            async with self._client().post(hook.delivery_url, data=body,
                                           headers=self.headers(hook, body),
                                           allow_redirects=False) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self._session

    def _account(self, hook: Webhook, status: int | None) -> None:
        if status is not None and 200 <= status <= 302:
            hook.failure_count = 0
        elif hook.failure_count > self.config.max_delivery_failures:
            hook.status = "disabled"
        else:
            hook.failure_count += 1

    async def ping(self, hook: Webhook) -> int | None:
        """WH::deliver_ping(): a form body, no X-WC headers, success only on 200."""
        try:
            async with self._client().post(
                hook.delivery_url, data=f"webhook_id={hook.id}".encode(),
                headers={"User-Agent": f"WooCommerce/{self.config.wc_version} Hookshot",
                         "Content-Type": "application/x-www-form-urlencoded"},
                allow_redirects=False) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = None
        if status == 200:
            hook.pending_delivery = False
        return status

    async def drain(self) -> None:
        """Wait until every queued delivery has run (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
