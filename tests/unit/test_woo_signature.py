"""Webhook signatures and OAuth 1.0a, checked against vectors computed independently of
this code (openssl for the HMACs; Twitter's published OAuth 1.0a example)."""

from __future__ import annotations

from streams.woo import oauth
from streams.woo.signature import sign, verify
from woo_emulator import phpjson

# PHP's wp_json_encode escapes "/" and non-ASCII; the signature covers those bytes.
PHP_BODY = b'{"id":1,"name":"Caf\\u00e9 \\/ Bar","sku":"HOT-01"}'
# printf '%s' "$PHP_BODY" | openssl dgst -sha256 -hmac 'demo-webhook-secret' -binary | base64
PHP_BODY_SIGNATURE = "juBaivjmObmNljKnEe/5I9r4EcOaVfohpCH43Tpe2Ug="
# The same content re-serialized as plain UTF-8 JSON signs differently.
REENCODED_SIGNATURE = "724Ku2IsRTLZ4Og7GmU2+pkbxs0dCT0DzCf+GP1EUfY="


def test_signature_is_over_the_raw_php_escaped_bytes() -> None:
    assert sign(PHP_BODY, "demo-webhook-secret") == PHP_BODY_SIGNATURE
    assert verify(PHP_BODY, "demo-webhook-secret", PHP_BODY_SIGNATURE)


def test_a_reencoded_body_does_not_verify() -> None:
    reencoded = '{"id":1,"name":"Café / Bar","sku":"HOT-01"}'.encode()
    assert sign(reencoded, "demo-webhook-secret") == REENCODED_SIGNATURE
    assert not verify(reencoded, "demo-webhook-secret", PHP_BODY_SIGNATURE)


def test_secret_with_quotes_and_ampersand_is_used_as_typed() -> None:
    assert sign(b'{"id":7}', "s3cr&t\"'x") == "Tzz3LsoRrL7mEMdhlzjrjk3QVxIjRm/mJhgWjXcUO44="


def test_missing_wrong_or_other_secret_signatures_fail() -> None:
    assert not verify(PHP_BODY, "demo-webhook-secret", None)
    assert not verify(PHP_BODY, "demo-webhook-secret", "")
    assert not verify(PHP_BODY, "other-secret", PHP_BODY_SIGNATURE)
    assert not verify(PHP_BODY + b" ", "demo-webhook-secret", PHP_BODY_SIGNATURE)


def test_emulator_writes_json_the_way_php_does() -> None:
    assert phpjson.encode({"id": 1, "name": "Café / Bar", "sku": "HOT-01"}) == PHP_BODY


def test_oauth_signature_matches_twitters_published_example() -> None:
    # https://developer.twitter.com/en/docs/authentication/oauth-1-0a/creating-a-signature
    params = [
        ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        ("include_entities", "true"),
        ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
        ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1318622958"),
        ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
        ("oauth_version", "1.0"),
    ]
    url = "https://api.twitter.com/1.1/statuses/update.json"
    assert oauth.base_string("POST", url, params).startswith(
        "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&"
        "include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog")
    signature = oauth.signature("POST", url, params,
                                "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
                                "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE", "HMAC-SHA1")
    assert signature == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
