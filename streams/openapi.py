"""The worker's web API described in OpenAPI 3.0, served at ``/openapi.json`` and used by
the API fuzz test (tests/integration/test_api_fuzz.py). Written by hand next to the
pages it describes; a test checks that every page the worker serves is described.
"""

from __future__ import annotations

from typing import Any

from streams.settings import Settings

_JSON = {"application/json": {"schema": {"type": "object"}}}
# What the pages accept (they answer 400 to anything else); the pages use these too.
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
STORE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ORDER_NUMBER_PATTERN = r"^[0-9]{1,18}$"
LETTER_PATTERN = r"^dlq:[0-9]{1,9}:[0-9]{1,19}$"
_LEVEL = "(critical|high|medium|low|none)"
LEVELS_PATTERN = rf"^{_LEVEL}(,{_LEVEL})*$"
CHECK_MAX_LINES = 100


def _answers(*codes: int) -> dict[str, Any]:
    text = {200: "ok", 202: "accepted", 400: "malformed request", 401: "no or wrong token",
            403: "operations endpoints off (no admin token configured)",
            404: "not found", 405: "method not allowed", 413: "body too large",
            409: "not this worker's to answer (partitions moved)",
            422: "edit refused by the schema",
            503: "not ready, or the broker did not take it"}
    return {str(code): {"description": text[code], "content": _JSON} for code in codes}


def _param(name: str, where: str = "path", pattern: str | None = None,
           kind: str = "string", fmt: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if pattern:
        schema["pattern"] = pattern
    if fmt:
        schema["format"] = fmt
    return {"name": name, "in": where, "required": where == "path", "schema": schema}


def document(settings: Settings) -> dict[str, Any]:
    admin: list[dict[str, list[str]]] = [{"admin": []}]
    dlq_filters = [*(_param(n, "query") for n in ("topic", "stage", "error_class")),
                   *(_param(n, "query", fmt="date-time") for n in ("since", "until")),
                   {**_param("not_replayed", "query"),
                    "schema": {"type": "string", "enum": ["0", "1", "true", "false"]}}]
    order = [_param("store", pattern=STORE_PATTERN),
             _param("woo_id", pattern=ORDER_NUMBER_PATTERN)]
    return {
        "openapi": "3.0.3",
        "info": {"title": "woosync worker", "version": "1"},
        "components": {"securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/health": {"get": {"summary": "liveness", "responses": _answers(200, 503)}},
            "/ready": {"get": {"summary": "readiness: recovered, broker, agents",
                               "responses": _answers(200, 503)}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
                "200": {"description": "ok", "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": {"summary": "this document",
                                      "responses": _answers(200)}},
            "/reservations/{sku}": {"get": {
                "summary": "a SKU's holds and ATP (routed to the SKU's owner)",
                "parameters": [_param("sku", pattern=SKU_PATTERN)],
                "responses": _answers(200, 400, 404, 503)}},
            "/reservations/check": {"get": {"summary": "(the check is a POST)",
                                            "responses": _answers(405)}, "post": {
                "summary": "does a cart fit ATP now; optionally a provisional hold (signed)",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["store", "lines"],
                               "properties": {
                                   "store": {"type": "string", "pattern": STORE_PATTERN},
                                   "lines": {"type": "array", "minItems": 1,
                                             "maxItems": CHECK_MAX_LINES, "items": {
                                                 "type": "object",
                                                 "required": ["sku", "quantity"],
                                                 "properties": {
                                                     "sku": {"type": "string",
                                                             "pattern": SKU_PATTERN},
                                                     "quantity": {
                                                         "type": "integer", "minimum": 1,
                                                         "maximum": 1_000_000}}}},
                                   "order_id": {"type": "string",
                                                "pattern": ORDER_NUMBER_PATTERN},
                                   "hold": {"type": "boolean"},
                                   "hold_seconds": {
                                       "type": "number", "exclusiveMinimum": True,
                                       "minimum": 0,
                                       "maximum": settings.checkout_hold_max_seconds}}}}}},
                "responses": _answers(200, 400, 401, 404, 503)}},
            "/reservations/check/local": {"post": {
                "summary": "(between workers) the owner's answer for its own SKUs, signed",
                "requestBody": {"content": {"application/json": {
                    "schema": {"type": "object"}}}},
                "responses": _answers(200, 400, 401, 409)}},
            "/availability": {"get": {
                "summary": "every SKU's last published availability, paged",
                "parameters": [_param("page", "query", kind="integer"),
                               _param("per_page", "query", kind="integer")],
                "responses": _answers(200, 400)}},
            "/risk": {"get": {
                "summary": "SKUs by oversell risk, most at risk first, paged",
                "parameters": [{**_param("level", "query"), "schema": {
                                   "type": "string", "pattern": LEVELS_PATTERN,
                                   "description": "comma separated: critical, high,"
                                   " medium, low, none"}},
                               _param("page", "query", kind="integer"),
                               _param("per_page", "query", kind="integer")],
                "responses": _answers(200, 400)}},
            "/risk/{sku}": {"get": {
                "summary": "one SKU's oversell risk, with its oversold orders",
                "parameters": [_param("sku", pattern=SKU_PATTERN)],
                "responses": _answers(200, 400, 404)}},
            "/dashboard": {"get": {"summary": "the promotion-day dashboard (HTML)",
                                   "responses": {"200": {"description": "ok", "content": {
                                       "text/html": {}}}}}},
            "/dashboard/data": {"get": {
                "summary": "what the dashboard shows: risk, rates, latency, business",
                "responses": _answers(200)}},
            "/orders/{store}/{woo_id}": {"get": {
                "summary": "an order's row: both systems and woosync's commands",
                "security": admin, "parameters": order,
                "responses": _answers(200, 400, 401, 403, 404, 503)}},
            "/orders/{store}/{woo_id}/trace": {"get": {
                "summary": "every event of both systems about an order, in time order",
                "security": admin, "parameters": order,
                "responses": _answers(200, 400, 401, 403, 404, 503)}},
            "/divergences": {"get": {
                "summary": "divergence windows, newest first (JSON pages or CSV)",
                "security": admin,
                "parameters": [_param("kind", "query"),
                               {**_param("open", "query"),
                                "schema": {"type": "string", "enum": ["0", "1"]}},
                               _param("since", "query", fmt="date-time"),
                               _param("page", "query", kind="integer"),
                               _param("per_page", "query", kind="integer"),
                               {**_param("format", "query"),
                                "schema": {"type": "string", "enum": ["json", "csv"]}}],
                "responses": {**_answers(200, 400, 401, 403),
                              "200": {"description": "ok", "content": {
                                  **_JSON, "text/csv": {}}}}}},
            "/ledger/{day}": {"get": {
                "summary": "the reconciliation ledger of one day (JSON or CSV)",
                "security": admin,
                # A calendar day (an impossible one, 2026-02-30, is a 404) or "today".
                "parameters": [{**_param("day"), "schema": {"anyOf": [
                                   {"type": "string", "format": "date"},
                                   {"type": "string", "enum": ["today"]}]}},
                               _param("store", "query"),
                               {**_param("format", "query"),
                                "schema": {"type": "string", "enum": ["json", "csv"]}}],
                "responses": {**_answers(200, 400, 401, 403, 404),
                              "200": {"description": "ok", "content": {
                                  **_JSON, "text/csv": {}}}}}},
            "/dlq": {"get": {"summary": "dead letters, filtered", "security": admin,
                             "parameters": dlq_filters,
                             "responses": _answers(200, 400, 401, 403)}},
            "/dlq/{letter}": {"get": {
                "summary": "one dead letter, its message decoded", "security": admin,
                "parameters": [_param("letter", pattern=LETTER_PATTERN)],
                "responses": _answers(200, 401, 403, 404)}},
            "/dlq/replay": {"get": {"summary": "(replay is a POST)", "security": admin,
                                    "responses": _answers(401, 403, 405)}, "post": {
                "summary": "replay dead letters to their topics", "security": admin,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["ids"], "properties": {
                        "ids": {"type": "array", "minItems": 1,
                                "items": {"type": "string"}},
                        "set": {"type": "array", "items": {"type": "string"}},
                        "again": {"type": "boolean"}, "dry_run": {"type": "boolean"},
                        "by": {"type": "string"}}}}}},
                "responses": _answers(200, 400, 401, 403, 404, 422)}},
            "/webhooks/woocommerce/{store}": {"post": {
                "summary": "WooCommerce webhook deliveries (HMAC-signed)",
                "parameters": [_param("store", pattern=STORE_PATTERN)],
                "requestBody": {"content": {"application/json": {
                    "schema": {"type": "object"}}}},
                "responses": _answers(200, 400, 401, 404, 413, 503)}},
        },
    }
