"""An async client for WooCommerce's REST API v3, one per store.

Authentication as WooCommerce wants it: HTTP Basic with the consumer key and secret
over HTTPS, OAuth 1.0a one-legged (query parameters, HMAC-SHA256) over plain HTTP.
Lists are followed page by page (``X-WP-TotalPages``); batch writes are cut into
requests of at most 100 items. Errors come back in WooCommerce's shape
``{"code", "message", "data": {"status"}}``: 429 and 5xx (and no answer at all) raise
``WooUnavailable`` with any ``Retry-After``, other 4xx raise ``WooRejected``. Retrying
is the caller's business (streams.delivery).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from streams.errors import WoosyncError
from streams.settings import StoreSettings
from streams.woo import oauth

BATCH_LIMIT = 100


class WooError(WoosyncError):
    """Base of the REST client's errors."""


class WooUnavailable(WooError):
    """The store cannot serve now (429, 5xx, no answer): retry later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WooRejected(WooError):
    """The store refused the request (4xx other than 429): do not retry as is."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class WooClient:
    def __init__(self, store_id: str, store: StoreSettings, timeout: float = 30.0) -> None:
        self.store_id = store_id
        self.base = store.rest_url.rstrip("/")
        self.key = store.consumer_key.get_secret_value()
        self.secret = store.consumer_secret.get_secret_value()
        self.https = urlsplit(self.base).scheme == "https"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _signed(self, method: str, url: str, params: dict[str, str]
                ) -> tuple[str, dict[str, str]]:
        """The URL to call and the headers that authenticate it."""
        if self.https:
            token = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
            return (url + ("?" + urlencode(params) if params else ""),
                    {"Authorization": f"Basic {token}"})
        oauth_params = {
            "oauth_consumer_key": self.key, "oauth_nonce": secrets.token_hex(16),
            "oauth_signature_method": "HMAC-SHA256", "oauth_timestamp": str(int(time.time())),
        }
        every = {**params, **oauth_params}
        every["oauth_signature"] = oauth.signature(method, url, list(every.items()),
                                                   self.secret)
        return url + "?" + urlencode(every), {}

    async def request(self, method: str, path: str, params: dict[str, str] | None = None,
                      body: Any = None) -> tuple[Any, dict[str, str]]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        url, headers = self._signed(method, f"{self.base}{path}", params or {})
        try:
            async with self._session.request(method, url, json=body,
                                             headers=headers) as response:
                text = await response.text()
                status = response.status
                headers = dict(response.headers)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise WooUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if status == 429 or status >= 500:
            raise WooUnavailable(f"{method} {path}: HTTP {status}",
                                 retry_after_seconds(headers.get("Retry-After")))
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise WooUnavailable(f"{method} {path}: HTTP {status}, not JSON") from exc
        if status >= 400:
            error = data if isinstance(data, dict) else {}
            raise WooRejected(status, str(error.get("code", "")), str(error.get("message", text)))
        return data, headers

    async def get(self, path: str, **params: str) -> Any:
        data, _ = await self.request("GET", path, params)
        return data

    async def pages(self, path: str, **params: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a list, following X-WP-TotalPages."""
        page = 1
        while True:
            data, headers = await self.request("GET", path,
                                               {**params, "page": str(page), "per_page": "100"})
            yield list(data)
            if page >= int(headers.get("X-WP-TotalPages", "1")):
                return
            page += 1

    async def batch_update(self, path: str, items: list[dict[str, Any]]
                           ) -> list[dict[str, Any]]:
        """POST ``{"update": [...]}`` to a batch endpoint, at most 100 items a request;
        returns the per-item results (an object, or ``{"id", "error"}``)."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), BATCH_LIMIT):
            data, _ = await self.request("POST", path,
                                         body={"update": items[start:start + BATCH_LIMIT]})
            results += data.get("update", [])
        return results


class StoreClients:
    """One REST client per configured store, made on first use (no I/O at start)."""

    def __init__(self, stores: dict[str, StoreSettings]) -> None:
        self._stores = stores
        self._clients: dict[str, WooClient] = {}

    def __getitem__(self, store_id: str) -> WooClient:
        if store_id not in self._clients:
            self._clients[store_id] = WooClient(store_id, self._stores[store_id])
        return self._clients[store_id]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in either form RFC 9110 allows (seconds, or an HTTP date), as
    seconds from ``now``; None when absent or unreadable. Capping is the caller's."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
