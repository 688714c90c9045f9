"""WooCommerce webhook signatures: base64(HMAC-SHA256(raw body, webhook secret)),
compared in constant time over the bytes exactly as they arrived."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())
