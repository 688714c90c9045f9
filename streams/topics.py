"""The topic registry: every topic woosync uses, declared once.

Each entry says the topic's name, what its key is, which canonical messages its values
may be, and its cleanup policy. Partition counts come from the settings (one number for
every co-partitioned topic), so topics read together always agree. Code refers to a
topic through its constant here; no topic name is written anywhere else.

Produces Faust topic objects for an app (``declare``) and the topic configuration the
admin step creates and checks (``streams.admin``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import faust

    from streams.settings import Settings


class Cleanup(StrEnum):
    DELETE = "delete"
    COMPACT = "compact"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    values: tuple[str, ...]
    cleanup: Cleanup = Cleanup.DELETE
    long_retention: bool = False

    def config(self, settings: Settings) -> dict[str, str]:
        config = {"cleanup.policy": str(self.cleanup)}
        if self.long_retention and self.cleanup is Cleanup.DELETE:
            config["retention.ms"] = str(settings.long_retention_ms)
        if settings.replication_factor > 1:
            config["min.insync.replicas"] = str(settings.insync_replicas)
        return config


def _names(*short: str) -> tuple[str, ...]:
    return tuple(f"woosync.{name}" for name in short)


WOO_RAW = TopicSpec("woo.raw", "<store>:<resource>:<id>", _names("WooDelivery"),
                    long_retention=True)
ERP_RAW = TopicSpec("erp.raw", "<model>:<id>", _names("ErpRecord"), long_retention=True)
COMMERCE_ORDERS = TopicSpec("commerce.orders", "order id",
                            _names("OrderObserved", "RefundObserved"))
COMMERCE_CUSTOMERS = TopicSpec("commerce.customers", "customer id (woo:<store>:customer:<id>)",
                               _names("CustomerObserved"))
COMMERCE_PRODUCTS = TopicSpec("commerce.products", "sku",
                              _names("StorefrontProductObserved"))
ERP_STOCK = TopicSpec("erp.stock", "sku", _names("StockLevelObserved", "ErpFeedPolled"))
ERP_DOCUMENTS = TopicSpec(
    "erp.documents", "order id",
    _names("SalesOrderObserved", "ShipmentObserved", "InvoiceObserved", "CreditNoteObserved",
           "ReturnShipmentObserved"),
)
ERP_CATALOG = TopicSpec("erp.catalog", "sku", _names("ProductObserved"), Cleanup.COMPACT)
INVENTORY_HOLDS = TopicSpec("inventory.holds", "sku",
                            _names("HoldSet", "HoldReleased", "HoldConverted"))
INVENTORY_AVAILABILITY = TopicSpec("inventory.availability", "sku",
                                   _names("AvailabilityChanged"), Cleanup.COMPACT)
ERP_COMMANDS = TopicSpec("erp.commands", "order id, or customer id",
                         _names("CreateSalesOrder", "CancelSalesOrder", "CreateCreditNote",
                                "UpsertParty"))
STORE_COMMANDS = TopicSpec("store.commands", "sku or order id",
                           _names("SetAvailability", "SetOrderStatus", "AddTracking", "SetPrice",
                                  "SetProduct"))
# An order's command results are keyed by its order id, so that they reach the order's
# row (co-partitioned with commerce.orders); other results by command id.
DELIVERY_RESULTS = TopicSpec("delivery.results", "order id, or command id",
                             _names("CommandDelivered", "CommandFailed"))
DLQ = TopicSpec("dlq", "original key", _names("DeadLetter", "DeadLetterReplayed"),
                long_retention=True)
FEED_CURSORS = TopicSpec("feed.cursors", "feed name", _names("FeedCursor"), Cleanup.COMPACT)
# Every window kept in its last state (for the ledger and the /divergences page).
DIVERGENCE_WINDOWS = TopicSpec("divergence.windows", "window id (kind|subject|since)",
                               _names("DivergenceOpened", "DivergenceUpdated",
                                      "DivergenceClosed"), Cleanup.COMPACT)
# Each order's last ledger line (tables.ledger): the reconciliation ledger's source.
LEDGER_ORDERS = TopicSpec("ledger.orders", "order id", _names("LedgerLine"), Cleanup.COMPACT)
# Each SKU's last oversell risk (tables.risk), which every worker reads whole.
INVENTORY_RISK = TopicSpec("inventory.risk", "sku", _names("SkuRisk"), Cleanup.COMPACT)

ALL: tuple[TopicSpec, ...] = (
    WOO_RAW, ERP_RAW, COMMERCE_ORDERS, COMMERCE_CUSTOMERS, COMMERCE_PRODUCTS, ERP_STOCK,
    ERP_DOCUMENTS,
    ERP_CATALOG, INVENTORY_HOLDS, INVENTORY_AVAILABILITY, ERP_COMMANDS, STORE_COMMANDS,
    DELIVERY_RESULTS, DLQ, FEED_CURSORS, DIVERGENCE_WINDOWS, LEDGER_ORDERS, INVENTORY_RISK,
)
CANONICAL: tuple[TopicSpec, ...] = (
    COMMERCE_ORDERS, COMMERCE_CUSTOMERS, COMMERCE_PRODUCTS, ERP_STOCK, ERP_DOCUMENTS,
    ERP_CATALOG,
)


class Topics(Mapping[TopicSpec, "faust.TopicT"]):
    """The Faust topic object of each registered topic, for one app."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        # Keys and values are bytes on the wire: keys are UTF-8 ids, values are
        # single-object Avro that agents decode themselves so that a bad value becomes
        # a dead letter instead of a Faust decode error.
        self._topics = {
            spec: app.topic(
                spec.name,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.partitions,
                internal=False,
            )
            for spec in ALL
        }

    def __getitem__(self, spec: TopicSpec) -> faust.TopicT:
        return self._topics[spec]

    def __iter__(self) -> Iterator[TopicSpec]:
        return iter(self._topics)

    def __len__(self) -> int:
        return len(self._topics)
