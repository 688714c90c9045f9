"""Seeds a freshly created Tryton database with woosync's retail data (seed_data.py).

Run in a process of its own, which exits when done so that SQLite's WAL is merged into
the file that becomes the template: ``python -m devstack.tryton_seed CONFIG DB OUT``.
Writes OUT (JSON) with the ids the adapter and tests need. Uses proteus in-process and
the setup helpers that ship inside Tryton's own module wheels.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

from devstack import seed_data


def seed(config_file: str, database: str) -> dict[str, Any]:
    from proteus import Model
    from proteus import config as pconfig
    from trytond.modules.account.tests.tools import (
        create_chart,
        create_fiscalyear,
        create_tax,
        get_accounts,
    )
    from trytond.modules.account_invoice.tests.tools import (
        create_payment_term,
        set_fiscalyear_invoice_sequences,
    )
    from trytond.modules.company.tests.tools import create_company, get_company

    pconfig.set_trytond(database, config_file=config_file)
    Party = Model.get("party.party")
    company_party = Party(name="Woosync Retail")
    company_party.save()
    create_company(party=company_party, currency="EUR")
    company = get_company()
    create_chart(company)
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(company, today=dt.date.today()))
    fiscalyear.click("create_period")
    accounts = get_accounts(company)
    tax = create_tax(seed_data.TAX_RATE)
    tax.save()
    payment_term = create_payment_term()
    payment_term.save()

    Category = Model.get("product.category")
    category = Category(name="Shop goods", accounting=True,
                        account_revenue=accounts["revenue"],
                        account_expense=accounts["expense"])
    category.customer_taxes.append(tax)
    category.save()

    Location = Model.get("stock.location")
    wh, = Location.find([("code", "=", "WH")])
    wh2 = _second_warehouse(Location, wh)

    Uom = Model.get("product.uom")
    unit, = Uom.find([("name", "=", "Unit")])
    Template = Model.get("product.template")
    templates: dict[str, Any] = {}
    products: dict[str, Any] = {}
    for item in seed_data.products():
        template = templates.get(item.template)
        if template is None:
            template = Template(name=item.template, type="goods", default_uom=unit,
                                salable=True, list_price=item.list_price,
                                account_category=category)
            template.save()
            templates[item.template] = template
            product = template.products[0]
        else:
            product = template.products.new()
        product.suffix_code = item.sku
        template.save()
        product = next(p for p in template.products if p.suffix_code == item.sku)
        products[item.sku] = product
    shipping = Template(name="Shipping", type="service", default_uom=unit, salable=True,
                        list_price=Decimal(0), account_category=category)
    shipping.save()
    shipping_product = shipping.products[0]
    shipping_product.suffix_code = seed_data.SHIPPING_SKU
    shipping_product.save()

    Inventory = Model.get("stock.inventory")
    for warehouse in (wh, wh2):
        inventory = Inventory(location=warehouse.storage_location)
        for item in seed_data.products():
            quantity = item.stock.get(warehouse.code, 0)
            if quantity:
                line = inventory.lines.new(product=products[item.sku])
                line.quantity = quantity
        inventory.save()
        inventory.click("confirm")

    _integration_user()
    return {"company": company.id, "warehouses": {"WH": wh.id, "WH2": wh2.id},
            "payment_term": payment_term.id, "tax": tax.id, "unit": unit.id,
            "shipping_product": shipping_product.id,
            "products": {sku: p.id for sku, p in products.items()}}


def _second_warehouse(Location: Any, first: Any) -> Any:
    # A warehouse needs input/output/storage children and a lost-and-found location,
    # or its quantities do not roll up and inventories cannot be confirmed.
    def child(name: str, type_: str = "storage") -> Any:
        location = Location(name=name, type=type_)
        location.save()
        return location

    warehouse = Location(name="Warehouse 2", code="WH2", type="warehouse",
                         input_location=child("WH2 Input"), output_location=child("WH2 Output"),
                         storage_location=child("WH2 Storage"),
                         lost_found_location=first.lost_found_location)
    warehouse.save()
    for location in (warehouse.input_location, warehouse.output_location,
                     warehouse.storage_location):
        location.parent = warehouse
        location.save()
    return warehouse


def _integration_user() -> None:
    from proteus import Model

    User = Model.get("res.user")
    Group = Model.get("res.group")
    ModelData = Model.get("ir.model.data")
    user = User(name="woosync integration", login=seed_data.INTEGRATION_LOGIN)
    user.password = seed_data.INTEGRATION_PASSWORD
    Company = Model.get("company.company")
    for company in Company.find([]):
        user.companies.append(Company(company.id))
        user.company = Company(company.id)
    for module, xml_id in (("sale", "group_sale"), ("sale", "group_sale_admin"),
                           ("stock", "group_stock"), ("stock", "group_stock_admin"),
                           ("account", "group_account"), ("product", "group_product_admin"),
                           ("party", "group_party_admin")):
        user.groups.append(Group(ModelData.get_id(module, xml_id, {})))
    user.save()


if __name__ == "__main__":
    config_file, database, out = sys.argv[1:4]
    with open(out, "w") as fh:
        json.dump(seed(config_file, database), fh, indent=2)
