"""Product master and prices, ERP -> store. Pure; ``now`` is passed in.

Consumes ProductObserved (one ERP product's master data, list price, tax class, active
flag, promotional eligibility and its sale prices in the ERP's dated price lists) and
the SKU's catalog row; produces the new row and, per store, the WooCommerce fields that
differ from the ones last sent to it (a SetProduct's fields). The ERP owns all of them
(DESIGN.md section 1), so the store is told only what changed, never asked.

Versioned: the row keeps the ERP version (the time of the ERP's read) of the last
product applied; an older or equal one (a late or replayed event) changes nothing, so
it cannot put back an older price. A store's scheduled sale is the first sale price of
its price list that has not ended and is below the list price; WooCommerce applies and
ends it itself on its dates (``date_on_sale_from_gmt``/``_to_gmt``). ``refresh`` looks
again at a later time, so the next scheduled sale follows once one has ended.

Edits against the grain: ``store_edits`` compares a store's own snapshot of the product
(StorefrontProductObserved) with the fields last sent to it (name, sale price, status;
the regular price has its own ``price`` window, tables.stock_divergence), for a
``product`` divergence window; healing sends the ERP's values of the fields settings
say to overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tables.divergence import Fact, Sides

CENT = Decimal("0.01")
# A field "meta:<key>" is the product meta <key> (WooCommerce updates meta by key).
DISCOUNTABLE_META = "meta:_woosync_discountable"


@dataclass(frozen=True)
class StoreCatalog:
    """How one store shows the ERP's products."""

    store: str
    store_sku: str
    price_list: str | None = None  # the ERP price list giving its sale prices
    tax_classes: tuple[tuple[str, str], ...] = ()  # ERP tax class -> store tax class
    create: bool = False  # create the product in the store when it lacks it


@dataclass(frozen=True)
class Sale:
    price_list: str
    price: Decimal
    starts: date | None
    ends: date | None  # inclusive


@dataclass(frozen=True)
class Product:
    """What the row keeps of the ERP's product (enough to judge again later)."""

    name: str
    description: str | None
    list_price: Decimal
    active: bool
    tax_class: str | None
    discountable: bool
    sales: tuple[Sale, ...] = ()
    # One variant of a template with several: a variation in the store, named by its
    # parent and attributes there (so its name is not sent).
    variant: bool = False

    @classmethod
    def observed(cls, body: dict[str, Any]) -> Product:
        return cls(body["name"], body.get("description"), body["list_price"], body["active"],
                   body.get("tax_class"), body.get("discountable", True),
                   tuple(Sale(s["price_list"], s["price"], s.get("starts"), s.get("ends"))
                         for s in body.get("sales") or ()),
                   body.get("template") is not None)


@dataclass(frozen=True)
class CatalogRow:
    sku: str
    version: str | None = None
    product: Product | None = None
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # store -> field -> value

    def to_json(self) -> dict[str, Any]:
        p = self.product
        return {"version": self.version, "sent": self.sent,
                "product": None if p is None else {
                    "name": p.name, "description": p.description,
                    "list_price": str(p.list_price), "active": p.active,
                    "tax_class": p.tax_class, "discountable": p.discountable,
                    "sales": [[s.price_list, str(s.price),
                               s.starts.isoformat() if s.starts else None,
                               s.ends.isoformat() if s.ends else None] for s in p.sales],
                    "variant": p.variant}}

    @classmethod
    def from_json(cls, sku: str, data: dict[str, Any] | None) -> CatalogRow:
        if not data:
            return cls(sku)
        raw = data.get("product")
        product = None if raw is None else Product(
            raw["name"], raw["description"], Decimal(raw["list_price"]), raw["active"],
            raw["tax_class"], raw["discountable"],
            tuple(Sale(pl, Decimal(price), date.fromisoformat(a) if a else None,
                       date.fromisoformat(b) if b else None)
                  for pl, price, a, b in raw["sales"]), bool(raw.get("variant")))
        return cls(sku, data.get("version"), product,
                   {s: dict(f) for s, f in (data.get("sent") or {}).items()})


@dataclass(frozen=True)
class Change:
    """The fields of one store to set: only those that changed."""

    store: str
    store_sku: str
    fields: dict[str, str]
    create: bool


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def sale_for(product: Product, price_list: str | None, today: date) -> Sale | None:
    """The store's sale: the first of its price list's sales not ended yet that is below
    the list price (a price list may also raise prices; that is no sale)."""
    if price_list is None:
        return None
    ahead = [s for s in product.sales if s.price_list == price_list
             and (s.ends is None or s.ends >= today) and s.price < product.list_price]
    return min(ahead, key=lambda s: (s.starts or date.min, s.ends or date.max), default=None)


def store_fields(product: Product, store: StoreCatalog, today: date) -> dict[str, str]:
    """The product as this store should show it, in WooCommerce's terms."""
    out = {"regular_price": money(product.list_price),
           "status": "publish" if product.active else "private",
           DISCOUNTABLE_META: "yes" if product.discountable else "no"}
    if not product.variant:
        out["name"] = product.name
    if product.description is not None:
        out["description"] = product.description
    classes = dict(store.tax_classes)
    if product.tax_class is not None and product.tax_class in classes:
        out["tax_class"] = classes[product.tax_class]
    sale = sale_for(product, store.price_list, today)
    out["sale_price"] = money(sale.price) if sale else ""
    out["date_on_sale_from_gmt"] = (f"{sale.starts.isoformat()}T00:00:00"
                                    if sale and sale.starts else "")
    out["date_on_sale_to_gmt"] = (f"{sale.ends.isoformat()}T23:59:59"
                                  if sale and sale.ends else "")
    return out


def _changes(row: CatalogRow, product: Product, stores: list[StoreCatalog], now: datetime
             ) -> tuple[dict[str, dict[str, str]], list[Change]]:
    sent = dict(row.sent)
    changes = []
    for store in stores:
        wanted = store_fields(product, store, now.date())
        before = sent.get(store.store, {})
        changed = {k: v for k, v in wanted.items() if before.get(k) != v}
        if changed:
            # Created in the store only when it was never sent there (the sink looks the
            # SKU up first, so a product the store already has is updated instead).
            changes.append(Change(store.store, store.store_sku, changed,
                                  store.create and not before))
            sent[store.store] = {**before, **changed}
    return sent, changes


def observe(row: CatalogRow, body: dict[str, Any], stores: list[StoreCatalog],
            now: datetime) -> tuple[CatalogRow, list[Change]]:
    """One ProductObserved: the row and what each store must be told (nothing when the
    event is not newer than the version applied)."""
    version = body["envelope"]["source_version"]
    if row.version is not None and version <= row.version:
        return row, []
    product = Product.observed(body)
    sent, changes = _changes(row, product, stores, now)
    return replace(row, version=version, product=product, sent=sent), changes


def refresh(row: CatalogRow, stores: list[StoreCatalog], now: datetime
            ) -> tuple[CatalogRow, list[Change]]:
    """The same product judged again at ``now`` (a sale ended, the next one is due, or a
    store was added): what changed since last sent."""
    if row.product is None:
        return row, []
    sent, changes = _changes(row, row.product, stores, now)
    return replace(row, sent=sent), changes



# Fields a store snapshot shows that are compared with what was sent (the regular price
# is judged by the inventory agent's ``price`` window).
COMPARED = ("name", "sale_price", "status")


def _shown(snapshot: dict[str, Any]) -> dict[str, str]:
    sale = snapshot.get("sale_price")
    return {"name": snapshot.get("name") or "",
            "sale_price": money(Decimal(sale)) if sale is not None else "",
            "status": snapshot.get("status") or ""}


def store_edits(row: CatalogRow, store: str, snapshot: dict[str, Any]
                ) -> dict[str, tuple[str, str]] | None:
    """Field -> (store's value, value sent) where the store's snapshot differs from
    what was last sent to it; None when nothing was sent to the store yet (nothing to
    judge against) or the product is deleted."""
    sent = row.sent.get(store)
    if not sent or snapshot.get("deleted"):
        return None
    shown = _shown(snapshot)
    return {f: (shown[f], sent[f]) for f in COMPARED if f in sent and shown[f] != sent[f]}


def product_fact(sku: str, store: str, edits: dict[str, tuple[str, str]]) -> Fact:
    """The ``product`` divergence kind's judgement of one store's snapshot: agreeing
    when nothing differs from what was sent, else both sides' values of what differs."""
    return Fact("product", f"{sku}|{store}", not edits, Sides(
        "; ".join(f"{f} {shown!r}" for f, (shown, _) in sorted(edits.items())) or "as sent",
        "; ".join(f"{f} {sent!r}" for f, (_, sent) in sorted(edits.items())) or "as sent",
        "edited in the store admin against the ERP, or a product command has not"
        " reached it" if edits else ""))


def overwrite(row: CatalogRow, store: str, fields: tuple[str, ...]) -> dict[str, str]:
    """What healing a product window sends ``store``: the ERP's values (as last sent
    there) of the fields the policy overwrites."""
    sent = row.sent.get(store) or {}
    return {f: sent[f] for f in fields if f in sent}
