"""The emulated store's data and WooCommerce's rules for it: products and variations,
orders and their stock reduction and restoration, refunds with restock, held stock for
checkout orders (woocommerce-facts.md section 3). In memory; every change calls
``on_change(resource, event, id)`` so that webhooks can be queued."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
REDUCING = ("processing", "on-hold", "completed")
RESTORING = ("cancelled", "pending")
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded",
            "failed", "checkout-draft", "trash")


class StoreError(Exception):
    """A request WooCommerce would refuse: code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Product:
    id: int
    name: str
    sku: str
    type: str = "simple"  # simple | variable | variation
    parent_id: int = 0
    status: str = "publish"
    regular_price: Decimal = Decimal("10.00")
    sale_price: Decimal | None = None
    # True, False, or "parent" (a variation whose stock the parent manages).
    manage_stock: bool | str = True
    stock_quantity: int | None = 0
    backorders: str = "no"
    variations: list[int] = field(default_factory=list)
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    description: str = ""
    tax_class: str = ""
    # A scheduled sale: the sale price applies from/to these moments (None: open).
    sale_from: datetime | None = None
    sale_to: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def on_sale(self, now: datetime) -> bool:
        """WooCommerce's ``is_on_sale``: a sale price inside its dates."""
        return (self.sale_price is not None
                and (self.sale_from is None or self.sale_from <= now)
                and (self.sale_to is None or now <= self.sale_to))

    def price_at(self, now: datetime) -> Decimal:
        return self.sale_price if self.sale_price is not None and self.on_sale(now) \
            else self.regular_price


@dataclass
class LineItem:
    id: int
    product_id: int
    variation_id: int
    quantity: int
    price: Decimal
    sku: str | None
    name: str
    reduced_stock: int = 0


@dataclass
class Refund:
    id: int
    amount: Decimal
    reason: str
    lines: list[tuple[int, int]]  # (line item id, quantity)
    date_created: datetime


@dataclass
class Order:
    id: int
    status: str
    created_via: str
    lines: list[LineItem]
    billing: dict[str, str]
    shipping_total: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal("0.20")
    stock_reduced: bool = False
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_paid: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    hold_expires: datetime | None = None
    meta: list[dict[str, Any]] = field(default_factory=list)  # {id, key, value}
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.lines), Decimal(0))

    @property
    def total_tax(self) -> Decimal:
        return ((self.subtotal + self.shipping_total) * self.tax_rate).quantize(CENT)

    @property
    def total(self) -> Decimal:
        return (self.subtotal + self.shipping_total + self.total_tax).quantize(CENT)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal(0))


Clock = Callable[[], datetime]


class Store:
    def __init__(self, clock: Clock,
                 on_change: Callable[[str, str, int], None] = lambda r, e, i: None,
                 hold_minutes: float = 60.0) -> None:
        self.clock = clock
        self.on_change = on_change
        self.hold_minutes = hold_minutes
        self.products: dict[int, Product] = {}
        self.orders: dict[int, Order] = {}
        self._ids = itertools.count(100)

    def _now(self) -> datetime:
        # WooCommerce stores modification times with one-second resolution.
        return self.clock().replace(microsecond=0)

    def next_id(self) -> int:
        return next(self._ids)

    # -- products -------------------------------------------------------------------

    def add_product(self, **values: Any) -> Product:
        parent = self.products.get(values.get("parent_id", 0))
        product = Product(id=self.next_id(), date_created=self._now(),
                          date_modified=self._now(), **values)
        if product.sku and self.by_sku(product.sku) is not None:
            raise StoreError("product_invalid_sku", "Invalid or duplicated SKU.")
        self.products[product.id] = product
        if parent is not None:
            parent.variations.append(product.id)
        self.on_change("product", "created", product.id)
        return product

    def by_sku(self, sku: str) -> Product | None:
        return next((p for p in self.products.values() if p.sku == sku), None)

    def product(self, product_id: int) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise StoreError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return product

    def update_product(self, product: Product, values: dict[str, Any]) -> Product:
        for name, value in values.items():
            # Meta is updated by key; other meta stays.
            setattr(product, name, {**product.meta, **value} if name == "meta" else value)
        if product.manage_stock is False:
            product.stock_quantity = None
        product.date_modified = self._now()
        self.on_change("product", "updated", product.id)
        return product

    def stock_owner(self, product: Product) -> Product:
        """Where a product's stock lives: the parent, for a parent-managed variation."""
        if product.type == "variation" and product.manage_stock == "parent":
            return self.products[product.parent_id]
        return product

    def stock_status(self, product: Product) -> str:
        owner = self.stock_owner(product)
        if owner.manage_stock is not True or owner.backorders != "no":
            return "instock" if owner.backorders == "no" else "onbackorder"
        return "instock" if (owner.stock_quantity or 0) > 0 else "outofstock"

    def _change_stock(self, product: Product, delta: int) -> None:
        owner = self.stock_owner(product)
        if owner.manage_stock is not True:
            return
        owner.stock_quantity = (owner.stock_quantity or 0) + delta
        owner.date_modified = self._now()
        self.on_change("product", "updated", owner.id)

    def held(self, owner: Product, excluding: int | None = None) -> int:
        """Stock held by unexpired checkout orders (wc_get_held_stock_quantity)."""
        now = self.clock()
        total = 0
        for order in self.orders.values():
            if order.id == excluding or order.status not in ("pending", "checkout-draft"):
                continue
            if order.hold_expires is None or order.hold_expires <= now:
                continue
            for line in order.lines:
                if self.stock_owner(self._line_product(line)).id == owner.id:
                    total += line.quantity
        return total

    # -- orders ---------------------------------------------------------------------

    def _line_product(self, line: LineItem) -> Product:
        return self.product(line.variation_id or line.product_id)

    def create_order(self, items: list[tuple[int, int]], billing: dict[str, str],
                     status: str = "pending", created_via: str = "rest-api",
                     shipping_total: Decimal = Decimal(0)) -> Order:
        lines = []
        for product_id, quantity in items:
            product = self.product(product_id)
            if product.type == "variable":
                raise StoreError("woocommerce_rest_invalid_product_id",
                                 "A variable product cannot be ordered, choose a variation.")
            lines.append(LineItem(
                id=self.next_id(), product_id=product.parent_id or product.id,
                variation_id=product.id if product.type == "variation" else 0,
                quantity=quantity, price=product.price_at(self._now()), sku=product.sku or None,
                name=product.name))
        now = self._now()
        order = Order(id=self.next_id(), status="pending", created_via=created_via,
                      lines=lines, billing=billing, shipping_total=shipping_total,
                      date_created=now, date_modified=now)
        self.orders[order.id] = order
        self.on_change("order", "created", order.id)
        if status != "pending":
            self.set_status(order, status)
        return order

    def order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise StoreError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return order

    def set_status(self, order: Order, status: str) -> None:
        if status not in STATUSES:
            raise StoreError("rest_invalid_param", f"Invalid parameter(s): status ({status})")
        order.status = status
        if status in REDUCING and not order.stock_reduced:
            for line in order.lines:  # wc_maybe_reduce_stock_levels
                self._change_stock(self._line_product(line), -line.quantity)
                line.reduced_stock = line.quantity
            order.stock_reduced = True
        elif status in RESTORING and order.stock_reduced:
            for line in order.lines:  # wc_maybe_increase_stock_levels
                self._change_stock(self._line_product(line), line.reduced_stock)
                line.reduced_stock = 0
            order.stock_reduced = False
        if status in ("processing", "completed") and order.date_paid is None:
            order.date_paid = self._now()
        if status not in ("pending", "checkout-draft"):
            order.hold_expires = None  # the reservation is released
        order.date_modified = self._now()
        # Every save fires the update hooks, changed or not (issue #20047).
        self.on_change("order", "updated", order.id)

    def update_meta(self, order: Order, items: list[dict[str, Any]]) -> None:
        """``meta_data`` of a REST update: an item with an id updates that entry, one
        with only a key updates the first entry of that key or adds one
        (WC_Data::update_meta_data); the order is saved."""
        for item in items:
            entry = next((m for m in order.meta
                          if ("id" in item and m["id"] == item["id"])
                          or ("id" not in item and m["key"] == item.get("key"))), None)
            if entry is None:
                order.meta.append({"id": self.next_id(), "key": str(item["key"]),
                                   "value": item.get("value")})
            else:
                entry["value"] = item.get("value")
        order.date_modified = self._now()
        self.on_change("order", "updated", order.id)

    def add_note(self, order: Order, note: str, customer_note: bool) -> dict[str, Any]:
        """An order note (wc_create_order_note): the order itself is not saved."""
        entry = {"id": self.next_id(), "author": "woosync", "date_created": self._now(),
                 "note": note, "customer_note": customer_note}
        order.notes.append(entry)
        return entry

    def refund(self, order: Order, amount: Decimal, lines: list[tuple[int, int]],
               reason: str = "", restock: bool = True) -> Refund:
        remaining = order.total - order.refunded
        if amount < 0 or amount > remaining:
            raise StoreError("woocommerce_rest_cannot_create_order_refund",
                             "Invalid refund amount.")
        refund = Refund(self.next_id(), amount.quantize(CENT), reason, lines, self._now())
        order.refunds.append(refund)
        if restock:  # wc_restock_refunded_items
            for item_id, quantity in lines:
                line = next((li for li in order.lines if li.id == item_id), None)
                if line is None or line.reduced_stock <= 0:
                    continue
                back = min(quantity, line.reduced_stock)
                self._change_stock(self._line_product(line), back)
                line.reduced_stock -= back
        if order.total - order.refunded <= 0:
            order.status = "refunded"
        order.date_modified = self._now()
        self.on_change("order", "updated", order.id)  # woocommerce_order_refunded
        return refund

    # -- checkout -------------------------------------------------------------------

    def checkout(self, items: list[tuple[int, int]], billing: dict[str, str]) -> Order:
        """A shopper's checkout: stock held for the order (pending) if there is enough,
        else WooCommerce's 'not enough stock' refusal."""
        for product_id, quantity in items:
            product = self.product(product_id)
            owner = self.stock_owner(product)
            if owner.manage_stock is not True or owner.backorders != "no":
                continue
            available = (owner.stock_quantity or 0) - self.held(owner)
            if available <= 0:
                raise StoreError("woocommerce_product_out_of_stock",
                                 f"Sorry, {product.name} is out of stock.", 403)
            if available < quantity:
                raise StoreError("woocommerce_product_not_enough_stock",
                                 f"Not enough units of {product.name} are available in stock"
                                 " to fulfil this order.", 403)
        order = self.create_order(items, billing, created_via="checkout")
        order.hold_expires = self.clock() + timedelta(minutes=self.hold_minutes)
        return order

    def pay(self, order: Order) -> None:
        """payment_complete(): processing, stock reduced, hold released."""
        self.set_status(order, "processing")
