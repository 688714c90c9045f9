"""woosync.feed: read-only RPC calls for woosync's change feed."""

import datetime

from trytond.model import Model
from trytond.pool import Pool
from trytond.rpc import RPC
from trytond.transaction import Transaction


class Feed(Model):
    "woosync change feed"
    __name__ = 'woosync.feed'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'clock': RPC(readonly=True),
                'stock_levels': RPC(readonly=True),
                })

    @classmethod
    def clock(cls):
        "The server's clock, on the same scale as last_modified_at (naive UTC)."
        return datetime.datetime.utcnow()

    @classmethod
    def stock_levels(cls, codes, warehouse_codes):
        """On hand (quantity) and on hand minus allocated (forecast_quantity up to
        today) of each product code in each warehouse, with the time of the read."""
        pool = Pool()
        Product = pool.get('product.product')
        Location = pool.get('stock.location')
        Date = pool.get('ir.date')
        read_at = cls.clock()
        today = Date.today()
        warehouses = Location.search([
                ('type', '=', 'warehouse'),
                ('code', 'in', list(warehouse_codes)),
                ])
        products = Product.search([('code', 'in', list(codes))])
        levels = {p.code: {} for p in products}
        for warehouse in warehouses:
            with Transaction().set_context(
                    locations=[warehouse.id], stock_date_end=today,
                    with_childs=True):
                for product in Product.browse(products):
                    levels[product.code][warehouse.code] = [
                        product.quantity, product.forecast_quantity]
        return {'read_at': read_at, 'levels': levels}
