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
                'sale_prices': RPC(readonly=True),
                })

    @classmethod
    def clock(cls):
        "The server's clock, on the same scale as last_modified_at (naive UTC)."
        return datetime.datetime.utcnow()

    @classmethod
    def stock_levels(cls, codes, warehouse_codes):
        """On hand (quantity) and on hand minus allocated (forecast_quantity up to
        today, less customer returns not received yet) of each product code in each
        warehouse, with the time of the read."""
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
            returning = cls._returning(products, warehouse, today)
            with Transaction().set_context(
                    locations=[warehouse.id], stock_date_end=today,
                    with_childs=True):
                for product in Product.browse(products):
                    levels[product.code][warehouse.code] = [
                        product.quantity,
                        product.forecast_quantity - returning.get(product.id, 0)]
        return {'read_at': read_at, 'levels': levels}

    @classmethod
    def _returning(cls, products, warehouse, today):
        """Per product, the units customers are returning to ``warehouse`` that it has
        not received yet. Tryton's forecast counts a confirmed return as soon as it is
        planned; a store must not sell them before they are in."""
        Move = Pool().get('stock.move')
        moves = Move.search([
                ('product', 'in', [p.id for p in products]),
                ('from_location.type', '=', 'customer'),
                ('to_location', 'child_of', [warehouse.id], 'parent'),
                ('state', 'not in', ['done', 'cancelled']),
                ('planned_date', '<=', today),
                ])
        returning = {}
        for move in moves:
            returning[move.product.id] = (
                returning.get(move.product.id, 0) + move.internal_quantity)
        return returning

    @classmethod
    def sale_prices(cls, codes):
        """Per product code (``prices``), its prices below the list price in each price
        list, as periods of days: ``[price list name, price, first day or None, last
        day or None]``, from today on; ``errors``: ``[code, price list, message]`` of
        the prices that could not be computed. A price list's price only changes on a day one of its
        lines starts or the day after one ends, so it is computed on those days."""
        pool = Pool()
        Product = pool.get('product.product')
        PriceList = pool.get('product.price_list')
        Date = pool.get('ir.date')
        today = Date.today()
        products = Product.search([('code', 'in', list(codes))])
        out = {p.code: [] for p in products}
        errors = []
        for price_list in PriceList.search([]):
            days = {today}
            for line in price_list.lines:
                if line.start_date and line.start_date > today:
                    days.add(line.start_date)
                if line.end_date and line.end_date >= today:
                    days.add(line.end_date + datetime.timedelta(days=1))
            days = sorted(days)
            for product in products:
                # A variant's own list price, else its template's (as sales use it).
                list_price = product.list_price_used
                if list_price is None:
                    continue
                for n, day in enumerate(days):
                    try:
                        with Transaction().set_context(date=day):
                            price = price_list.compute(
                                product, 1, product.default_uom,
                                pattern={'date': day})
                    except Exception as exc:
                        # A formula that cannot be computed for this product (a
                        # person's typo) must not stop the feed of every product: it
                        # gives no sale, and is reported with the answer.
                        errors.append([product.code, price_list.name, str(exc)])
                        break
                    if price is None or price >= list_price:
                        continue
                    last = (days[n + 1] - datetime.timedelta(days=1)
                            if n + 1 < len(days) else None)
                    periods = out[product.code]
                    if (periods and periods[-1][0] == price_list.name
                            and periods[-1][1] == price and periods[-1][3]
                            == day - datetime.timedelta(days=1)):
                        periods[-1][3] = last  # the same price goes on
                    else:
                        periods.append([price_list.name, price,
                                day if day > today else None, last])
        return {'prices': out, 'errors': errors}
