"""pydantic models of the WooCommerce JSON woosync reads (woocommerce-facts.md 2.2, 2.5,
2.6), validated at the edge: money arrives as strings, an order line's ``price`` as a
number, refund line quantities and totals negative, dates without offset (the ``_gmt``
ones are UTC), a deleted resource as ``{"id": N}``. Unknown fields are ignored;
missing or mistyped ones fail validation, and the delivery goes to the dead-letter
topic with the reason.

Numbers are bounded to what the canonical schemas hold: money and quantities fit
``decimal(18,4)`` (under 10**14 in size, finite), ids fit Avro's ``long``; anything
larger fails validation here instead of failing to encode later."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _gmt(value: object) -> object:
    # WooCommerce writes "2026-11-28T06:35:56" (no offset); *_gmt fields are UTC.
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", ""))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    return value


def _money(value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Gmt = Annotated[datetime, BeforeValidator(_gmt)]
OptionalGmt = Annotated[datetime | None, BeforeValidator(_gmt)]
# decimal(18,4): 14 digits before the point.
LIMIT = 10**14
Bounded = Annotated[Decimal, Field(allow_inf_nan=False, gt=-LIMIT, lt=LIMIT)]
Money = Annotated[Bounded, BeforeValidator(_money)]
OptionalMoney = Annotated[Bounded | None, BeforeValidator(_money)]
Quantity = Annotated[int, Field(gt=-LIMIT, lt=LIMIT)]
Id = Annotated[int, Field(ge=0, le=2**63 - 1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Address(_Model):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""


class MetaData(_Model):
    key: str
    value: object = None


class LineItem(_Model):
    id: Id
    name: str = ""
    product_id: Id
    variation_id: Id = 0
    quantity: Quantity
    subtotal: Money
    total: Money
    total_tax: Money
    sku: str | None = None
    price: Money
    meta_data: list[MetaData] = []


class RefundSummary(_Model):
    id: Id
    total: Money


class Order(_Model):
    id: Id
    number: str
    status: str
    currency: str
    date_created_gmt: Gmt
    date_modified_gmt: Gmt
    date_paid_gmt: OptionalGmt = None
    customer_id: Id = 0
    billing: Address
    shipping: Address
    prices_include_tax: bool = False
    line_items: list[LineItem]
    shipping_total: Money
    shipping_tax: Money
    discount_total: Money
    total_tax: Money
    total: Money
    payment_method: str = ""
    refunds: list[RefundSummary] = []


class Customer(_Model):
    id: Id
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    billing: Address = Address()
    shipping: Address = Address()
    date_modified_gmt: Gmt


class Refund(_Model):
    id: Id
    date_created_gmt: Gmt
    amount: Money
    reason: str = ""
    line_items: list[LineItem] = []

    def refunded_item(self, line: LineItem) -> str:
        """The order line a refund line refunds (its ``_refunded_item_id`` meta)."""
        for meta in line.meta_data:
            if meta.key == "_refunded_item_id":
                return str(meta.value)
        return str(line.id)


class Product(_Model):
    id: Id
    sku: str
    type: str
    name: str | None = None
    status: str = "publish"
    parent_id: Id = 0
    price: OptionalMoney = None
    regular_price: OptionalMoney = None
    sale_price: OptionalMoney = None
    manage_stock: bool | Literal["parent"] = False
    stock_quantity: Quantity | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    date_modified_gmt: Gmt


class Deleted(_Model):
    id: Id
