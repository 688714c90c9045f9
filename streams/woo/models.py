"""pydantic models of the WooCommerce JSON woosync reads (woocommerce-facts.md 2.2, 2.5,
2.6), validated at the edge: money arrives as strings, an order line's ``price`` as a
number, refund line quantities and totals negative, dates without offset (the ``_gmt``
ones are UTC), a deleted resource as ``{"id": N}``. Unknown fields are ignored;
missing or mistyped ones fail validation, and the delivery goes to the dead-letter
topic with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict


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
Money = Annotated[Decimal, BeforeValidator(_money)]
OptionalMoney = Annotated[Decimal | None, BeforeValidator(_money)]


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
    id: int
    name: str = ""
    product_id: int
    variation_id: int = 0
    quantity: int
    subtotal: Money
    total: Money
    total_tax: Money
    sku: str | None = None
    price: Money
    meta_data: list[MetaData] = []


class RefundSummary(_Model):
    id: int
    total: Money


class Order(_Model):
    id: int
    number: str
    status: str
    currency: str
    date_created_gmt: Gmt
    date_modified_gmt: Gmt
    date_paid_gmt: OptionalGmt = None
    customer_id: int = 0
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


class Refund(_Model):
    id: int
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
    id: int
    sku: str
    type: str
    status: str = "publish"
    parent_id: int = 0
    price: OptionalMoney = None
    regular_price: OptionalMoney = None
    sale_price: OptionalMoney = None
    manage_stock: bool | Literal["parent"] = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    date_modified_gmt: Gmt


class Deleted(_Model):
    id: int
