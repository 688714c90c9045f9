"""Sales and invoices get a unique ``woosync_reference`` that copies do not inherit."""

from trytond.model import Unique, fields
from trytond.pool import PoolMeta


class WoosyncReference:
    woosync_reference = fields.Char(
        "woosync Reference", readonly=True,
        help="The store order or refund this document was made for.")
    _woosync_reference_message = ''

    @classmethod
    def __setup__(cls):
        super().__setup__()
        table = cls.__table__()
        cls._sql_constraints += [
            ('woosync_reference_unique', Unique(table, table.woosync_reference),
                cls._woosync_reference_message),
            ]

    @classmethod
    def copy(cls, records, default=None):
        default = dict(default or {})
        # A copy (the return sale of a refund, a credit note) is another document.
        default.setdefault('woosync_reference', None)
        return super().copy(records, default=default)


class Sale(WoosyncReference, metaclass=PoolMeta):
    __name__ = 'sale.sale'
    _woosync_reference_message = 'woosync.msg_sale_reference_unique'


class Invoice(WoosyncReference, metaclass=PoolMeta):
    __name__ = 'account.invoice'
    _woosync_reference_message = 'woosync.msg_invoice_reference_unique'
