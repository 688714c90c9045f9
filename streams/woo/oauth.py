"""OAuth 1.0a "one-legged" request signing, as WooCommerce requires over plain HTTP
(woocommerce-facts.md 2.9): HMAC-SHA1 or HMAC-SHA256 over the signature base string,
keyed with ``consumer_secret&`` (no token); the body is not signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlsplit, urlunsplit

_DIGESTS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}


def _enc(value: str) -> str:
    return quote(value, safe="~-._")


def base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    base_url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
    pairs = sorted((_enc(k), _enc(v)) for k, v in params if k != "oauth_signature")
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), _enc(base_url), _enc(normalized)))


def signature(method: str, url: str, params: list[tuple[str, str]], consumer_secret: str,
              token_secret: str = "", algorithm: str = "HMAC-SHA256") -> str:
    digest = _DIGESTS.get(algorithm)
    if digest is None:
        raise ValueError(f"unsupported oauth_signature_method {algorithm!r}")
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}".encode()
    mac = hmac.new(key, base_string(method, url, params).encode(), digest)
    return base64.b64encode(mac.digest()).decode()
