"""Our Tryton JSON types against Tryton's own encoder and decoder (trytond's
protocols.jsonrpc), and how the client sorts Tryton's error replies."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from trytond.protocols.jsonrpc import JSONDecoder, JSONEncoder

from streams.erp.tryton_rpc import (
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
