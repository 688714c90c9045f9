"""Product templates get ``woosync_discountable``: whether the stores may discount the
product (coupons, sales); woosync sends it to every store with the product."""

from trytond.model import fields
from trytond.pool import PoolMeta


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'
    woosync_discountable = fields.Boolean(
        "Discountable in Stores",
        help="Whether the web stores may discount this product (promotions, coupons).")

    @staticmethod
    def default_woosync_discountable():
        return True
