"""Our Tryton JSON types against Tryton's own encoder and decoder (trytond's
protocols.jsonrpc), and how the client sorts Tryton's error replies."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from trytond.protocols.jsonrpc import JSONDecoder, JSONEncoder

from streams.erp.tryton_rpc import (
    TrytonClient,
    TrytonUnavailable,
    TrytonUserError,
    _raise_error,
    _Warning,
    dumps,
    loads,
)

VALUES = {
    "price": Decimal("19.9000"),
    "when": dt.datetime(2026, 11, 28, 6, 35, 56, 498816),
    "day": dt.date(2026, 11, 28),
    "blob": b"\x00\xffwoosync",
    "nested": [{"qty": Decimal("-1"), "at": dt.date(2026, 1, 2)}],
}


def test_what_we_send_is_what_tryton_reads() -> None:
    assert json.loads(dumps(VALUES), object_hook=JSONDecoder()) == VALUES


def test_what_tryton_sends_is_what_we_read() -> None:
    assert loads(json.dumps(VALUES, cls=JSONEncoder)) == VALUES


def test_user_error_is_not_retryable() -> None:
    with pytest.raises(TrytonUserError, match="must be unique"):
        _raise_error("m", ["UserError", ["The code must be unique.", "", None]])


def test_warning_carries_its_name_for_skipping() -> None:
    with pytest.raises(_Warning) as caught:
        _raise_error("m", ["UserWarning", ["stock_1", "Forecast is lower", ""]])
    assert caught.value.name == "stock_1"


@pytest.mark.parametrize("error", [["ConcurrencyException", "Records were modified"],
                                   ["'res.user'", "Traceback ..."]])
def test_concurrency_and_server_faults_are_retryable(error: list[str]) -> None:
    with pytest.raises(TrytonUnavailable):
        _raise_error("m", error)


class _Flaky(TrytonClient):
    """Answers like Tryton, except that the ERP goes down between the first login and
    the preferences that give every later call its company."""

    def __init__(self) -> None:
        super().__init__("http://erp.invalid", "db", "woosync", SecretStr("pw"))
        self.seen: list[tuple[str, list[Any]]] = []
        self.preferences_down = True

    async def _post(self, method: str, params: list[Any]) -> Any:
        self.seen.append((method, params))
        if method == "common.db.login":
            return [7, "session"]
        if method == "model.res.user.get_preferences":
            if self.preferences_down:
                self.preferences_down = False
                raise TrytonUnavailable("connection refused")
            return {"company": 1, "language": "en"}
        return "ok"


async def test_a_login_that_did_not_get_the_preferences_is_done_again() -> None:
    client = _Flaky()
    with pytest.raises(TrytonUnavailable):
        await client.model("sale.sale", "create", [{}])
    assert await client.model("sale.sale", "create", [{}]) == "ok"
    method, params = client.seen[-1]
    assert method == "model.sale.sale.create" and params[-1]["company"] == 1
