"""The table registry: every Faust table woosync keeps, declared once, with the helpers
that name its rows.

Each entry says the table's name, what a row's key is, the type of its rows (a class
with ``to_json``/``from_json`` in this package), whether every worker holds all of it
(global) or only its partitions' rows, and the one agent that writes it. Partition
counts come from the settings (the same as the topics it is co-partitioned with).
Agents and web pages get a table through its entry here (``Runtime.table``), never by a
string, and a worker refuses to start when one of its agents reads a partitioned table
that none of its agents writes (``streams.app``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tables.catalog import CatalogRow
from tables.divergence import Window
from tables.holds import OrderHolds
from tables.inventory import Hold, SkuState
from tables.orders import OrderState
from tables.snapshots import Seen
from tables.stock import StockOwner


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: str
    row: type
    writer: str  # the agent module (agents/<writer>.py) that writes it
    is_global: bool = False
    # Raw bytes keys: web pages route a request to the owner of a key by the same
    # murmur2 partitioner the producers use (a str key would be hashed as JSON).
    raw_keys: bool = True


INVENTORY = TableSpec("inventory", "SKU; __feed__:<partition> for the feed's heartbeat",
                      SkuState, writer="availability")
HOLD_LINES = TableSpec("hold_lines", "SKU|order|line", Hold, writer="availability")
ORDER_HOLDS = TableSpec("order_holds", "order id", OrderHolds, writer="holds")
WOO_VERSIONS = TableSpec("woo_versions", "<store>:<resource>:<id>", Seen,
                         writer="woo_normalize", raw_keys=False)
STOCK_OWNERS = TableSpec("stock_owners", "<store>|<product id>", StockOwner,
                         writer="stock_owners", is_global=True, raw_keys=False)

ORDERS = TableSpec("orders", "order id (woo:<store>:<id>)", OrderState, writer="orders")
# An order's suspect and open divergence windows (tables.divergence), on its partition.
ORDER_WINDOWS = TableSpec("order_windows", "<order id>[|<refund or intent>]|<kind>", Window,
                          writer="orders")

# A SKU's suspect and open stock windows, one per store (store stock vs published).
STOCK_WINDOWS = TableSpec("stock_windows", "<ERP SKU>|<store>|stock", Window,
                          writer="availability")

# A product's last ERP version and the fields last sent to each store (tables.catalog).
CATALOG = TableSpec("catalog", "ERP SKU", CatalogRow, writer="catalog")
# A product's suspect and open windows of store edits against the grain, per store.
CATALOG_WINDOWS = TableSpec("catalog_windows", "<ERP SKU>|<store>|product", Window,
                            writer="catalog")

ALL: tuple[TableSpec, ...] = (INVENTORY, HOLD_LINES, ORDER_HOLDS, WOO_VERSIONS, STOCK_OWNERS,
                              ORDERS, ORDER_WINDOWS, STOCK_WINDOWS, CATALOG,
                              CATALOG_WINDOWS)


def feed_key(partition: int) -> bytes:
    """INVENTORY: where a partition keeps its last ERP heartbeat (each has its own)."""
    return f"__feed__:{partition}".encode()


def is_feed_key(key: bytes) -> bool:
    return key.startswith(b"__feed__:")


def hold_row(sku: str, key: str) -> bytes:
    """HOLD_LINES: a hold's row, the SKU first so that the SKU's holds sort together."""
    return f"{sku}|{key}".encode()


def owner_key(store: str, product_id: int) -> str:
    """STOCK_OWNERS: a store product's row."""
    return f"{store}|{product_id}"
