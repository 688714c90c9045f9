"""Product master and prices, ERP -> stores: only changed fields are sent, a late or
replayed product never reverts a newer one, each store's sale comes from its own price
list with its dates, and the next scheduled sale follows once one has ended."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tables.catalog import (
    DISCOUNTABLE_META,
    CatalogRow,
    StoreCatalog,
    observe,
    overwrite,
    product_fact,
    refresh,
    store_edits,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
NORTH = StoreCatalog("north", "MUG", "North prices", (("Reduced", "reduced-rate"),))
SOUTH = StoreCatalog("south", "S-MUG", None, (), create=True)


def _product(version: int, price: str = "9.50", name: str = "Mug", **extra: Any
             ) -> dict[str, Any]:
    return {"envelope": {"source_version": f"2026-12-02T08:{version:02d}:00"},
            "sku": "MUG", "name": name, "list_price": Decimal(price), "active": True,
            "description": None, "tax_class": "Reduced", "discountable": True,
            "sales": [], **extra}


def _sale(price: str, starts: date | None, ends: date | None, pl: str = "North prices"
          ) -> dict[str, Any]:
    return {"price_list": pl, "price": Decimal(price), "starts": starts, "ends": ends}


def test_first_publication_sends_everything_then_only_what_changed() -> None:
    row, changes = observe(CatalogRow("MUG"), _product(1), [NORTH, SOUTH], NOW)
    north, south = changes
    assert north.fields == {"name": "Mug", "regular_price": "9.50", "status": "publish",
                            DISCOUNTABLE_META: "yes", "tax_class": "reduced-rate",
                            "sale_price": "", "date_on_sale_from_gmt": "",
                            "date_on_sale_to_gmt": ""}
    assert "tax_class" not in south.fields  # no mapping for this store: left alone
    assert (north.create, south.create) == (False, True)
    assert (south.store, south.store_sku) == ("south", "S-MUG")
    row, changes = observe(row, _product(2, price="10.00"), [NORTH, SOUTH], NOW)
    assert [c.fields for c in changes] == [{"regular_price": "10.00"}] * 2
    assert not changes[1].create  # sent before: the store has it (or was told to make it)
    row, changes = observe(row, _product(3, price="10.00"), [NORTH, SOUTH], NOW)
    assert changes == []  # newer, but nothing a store shows changed


def test_a_late_or_replayed_product_changes_nothing() -> None:
    row, _ = observe(CatalogRow("MUG"), _product(5, price="12.00"), [NORTH], NOW)
    for late in (_product(4, price="8.00"), _product(5, price="8.00")):
        again, changes = observe(row, late, [NORTH], NOW)
        assert again is row and changes == []
    restored = CatalogRow.from_json("MUG", row.to_json())
    assert restored == row


def test_each_store_gets_the_sale_of_its_own_price_list_with_its_dates() -> None:
    start, end = date(2026, 12, 10), date(2026, 12, 12)
    product = _product(1, sales=[_sale("7.00", start, end),
                                 _sale("6.00", None, None, pl="Other list")])
    _, (north, south) = observe(CatalogRow("MUG"), product, [NORTH, SOUTH], NOW)
    assert (north.fields["sale_price"], north.fields["date_on_sale_from_gmt"],
            north.fields["date_on_sale_to_gmt"]) == ("7.00", "2026-12-10T00:00:00",
                                                     "2026-12-12T23:59:59")
    assert south.fields["sale_price"] == ""  # south has no price list


def test_a_price_list_that_raises_the_price_is_no_sale() -> None:
    _, (north,) = observe(CatalogRow("MUG"), _product(1, sales=[_sale("11.00", None, None)]),
                          [NORTH], NOW)
    assert north.fields["sale_price"] == ""


def test_the_next_scheduled_sale_follows_once_one_has_ended() -> None:
    first = _sale("7.00", None, date(2026, 12, 3))
    second = _sale("8.00", date(2026, 12, 20), date(2026, 12, 24))
    row, (north,) = observe(CatalogRow("MUG"), _product(1, sales=[second, first]), [NORTH],
                            NOW)
    assert north.fields["sale_price"] == "7.00"
    row, changes = refresh(row, [NORTH], NOW + timedelta(hours=1))
    assert changes == []  # still running
    row, (north,) = refresh(row, [NORTH], NOW + timedelta(days=2))
    assert north.fields == {"sale_price": "8.00",
                            "date_on_sale_from_gmt": "2026-12-20T00:00:00",
                            "date_on_sale_to_gmt": "2026-12-24T23:59:59"}
    row, (north,) = refresh(row, [NORTH], NOW + timedelta(days=30))
    assert north.fields == {"sale_price": "", "date_on_sale_from_gmt": "",
                            "date_on_sale_to_gmt": ""}


def test_inactive_and_not_discountable_products_show_so() -> None:
    _, (north,) = observe(CatalogRow("MUG"), _product(1, active=False, discountable=False,
                                                      description="Stoneware"), [NORTH], NOW)
    assert north.fields["status"] == "private"
    assert north.fields[DISCOUNTABLE_META] == "no"
    assert north.fields["description"] == "Stoneware"


def test_a_store_added_later_gets_the_product_on_refresh() -> None:
    row, _ = observe(CatalogRow("MUG"), _product(1), [NORTH], NOW)
    row, (south,) = refresh(row, [NORTH, SOUTH], NOW)
    assert south.store == "south" and south.create and south.fields["name"] == "Mug"
    assert refresh(row, [NORTH, SOUTH], NOW)[1] == []


def test_a_store_edit_is_judged_against_what_was_sent_and_healed_by_policy() -> None:
    row, _ = observe(CatalogRow("MUG"), _product(1), [NORTH], NOW)
    snapshot = {"name": "Best Mug", "sale_price": Decimal("4.00"), "status": "publish"}
    edits = store_edits(row, "north", snapshot)
    assert edits == {"name": ("Best Mug", "Mug"), "sale_price": ("4.00", "")}
    fact = product_fact("MUG", "north", edits)
    assert not fact.agreeing and "'Best Mug'" in fact.sides.store
    assert product_fact("MUG", "north", {}).agreeing
    assert store_edits(row, "south", snapshot) is None  # nothing sent there yet
    assert overwrite(row, "north", ("name", "tax_class", "description")) == {
        "name": "Mug", "tax_class": "reduced-rate"}  # description was never sent
