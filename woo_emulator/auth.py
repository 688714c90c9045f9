"""How WooCommerce checks a REST request's OAuth 1.0a signature over plain HTTP
(woocommerce-facts.md 2.9), written the way its PHP does it and independent of
woosync's client (an emulator that verified with the client's own code could not catch
a signing bug). Also the webhook signature WooCommerce puts on each delivery (1.2).

Consumes the request's method, URL, query pairs and ``Authorization: OAuth`` header
pairs; produces the one set of parameters PHP sees and the signature it expects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

ALGORITHMS = {"HMAC-SHA1": "sha1", "HMAC-SHA256": "sha256"}


def rawurlencode(value: str) -> str:
    """PHP's rawurlencode (RFC 3986: only unreserved characters stay as they are)."""
    return quote(value, safe="-_.~")


def php_params(query: list[tuple[str, str]], header: list[tuple[str, str]]
               ) -> dict[str, str]:
    """The parameters WooCommerce signs over: ``$_GET`` keeps one value per key (the
    last one, so a query string that repeats a key counts it once), and the
    Authorization header's parameters are merged over them."""
    params: dict[str, str] = {}
    for key, value in [*query, *header]:
        params[key] = value
    return params


def expected_signature(method: str, url: str, params: dict[str, str], secret: str,
                       algorithm: str) -> str:
    """``base64(hash_hmac(algo, METHOD&enc(url)&enc(sorted k=v pairs), secret&))``.

    Raises ValueError for a signature method WooCommerce does not accept."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported signature method {algorithm!r}")
    # normalize_parameters(): keys and values are encoded once, sorted by key (strcmp),
    # then each "key=value" is encoded again and the pairs joined with an encoded '&'.
    encoded = {rawurlencode(k): rawurlencode(v) for k, v in params.items()
               if k != "oauth_signature"}
    pairs = [rawurlencode(f"{k}={encoded[k]}") for k in sorted(encoded)]
    to_sign = f"{method.upper()}&{rawurlencode(url)}&{'%26'.join(pairs)}"
    mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), ALGORITHMS[algorithm])
    return base64.b64encode(mac.digest()).decode()


def signature_matches(expected: str, given: str) -> bool:
    """WooCommerce compares with hash_equals, after turning spaces back into '+' (a '+'
    sent unencoded in a query string arrives as a space)."""
    return hmac.compare_digest(expected.encode(), given.replace(" ", "+").encode())


def webhook_signature(body: bytes, secret: str) -> str:
    """``X-WC-Webhook-Signature``: base64 of HMAC-SHA256 over the raw payload."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
