"""The one settings object, read from ``WOOSYNC_*`` environment variables once.

Defaults match the local stack the project starts itself (broker on 127.0.0.1:9092,
the WooCommerce emulator, a throwaway Tryton), so ``woosync demo`` runs with no setup.
Nested values use ``__``: ``WOOSYNC_STORES__DEMO__WEBHOOK_SECRET=...``; a whole map can
also be given as JSON: ``WOOSYNC_STORES='{"demo": {...}}'``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.errors import ConfigError
from tables.order_status import DEFAULT_SEND_STATUSES


class StoreSettings(BaseModel):
    """One WooCommerce store, configured on its own (DESIGN.md section 8)."""

    model_config = ConfigDict(frozen=True)

    rest_url: str = "http://127.0.0.1:8090/wp-json/wc/v3"
    # No defaults for secrets: a worker refuses to start without them (missing_secrets);
    # the demo and the tests set their own.
    consumer_key: SecretStr = SecretStr("")
    consumer_secret: SecretStr = SecretStr("")
    # One secret for the store, or one per webhook id (WooCommerce lets each webhook
    # have its own); a per-id secret wins.
    webhook_secret: SecretStr = SecretStr("")
    webhook_secrets: dict[int, SecretStr] = Field(default_factory=dict)
    # ERP warehouses whose stock sums to this store's stock, and the one it ships from.
    warehouses: tuple[str, ...] = ("WH", "WH2")
    ship_from: str = "WH"
    # Store SKU -> ERP product code, where they differ (default: identical).
    sku_map: dict[str, str] = Field(default_factory=dict)
    # The ERP price list (by name) whose dated lines are this store's sale prices (None:
    # the store gets list prices and no sales).
    price_list: str | None = None
    # Create a product the ERP has and the store lacks (else it is reported missing).
    create_products: bool = False

    @model_validator(mode="after")
    def _ship_from_is_served(self) -> StoreSettings:
        if self.ship_from not in self.warehouses:
            raise ValueError(f"ship_from {self.ship_from!r} is not among warehouses")
        return self

    def secret_for(self, webhook_id: int | None) -> SecretStr | None:
        """The secret a delivery of ``webhook_id`` is signed with; None for a webhook
        this store does not know (once per-webhook secrets are configured, only theirs
        count: an unknown id must not fall back to the store's secret)."""
        if self.webhook_secrets:
            return self.webhook_secrets.get(webhook_id) if webhook_id is not None else None
        return self.webhook_secret

    def erp_code(self, store_sku: str) -> str:
        return self.sku_map.get(store_sku, store_sku)

    @cached_property
    def _store_skus(self) -> dict[str, str]:
        # ERP code -> store SKU (the first store SKU mapped to it), built once: the hot
        # path asks it for every SKU of every batch.
        out: dict[str, str] = {}
        for store_sku, code in self.sku_map.items():
            out.setdefault(code, store_sku)
        return out

    def store_sku(self, erp_code: str) -> str:
        """The store's SKU of an ERP product (the same code unless mapped)."""
        return self._store_skus.get(erp_code, erp_code)


class Settings(BaseSettings):
    """Everything a worker, the demo or a test needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix="WOOSYNC_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    app_id: str = "woosync"
    broker: str = "kafka://127.0.0.1:9092"
    # Every co-partitioned topic has this many partitions (DESIGN.md section 3).
    partitions: int = Field(default=8, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1)
    # Workers that keep a warm copy of each table partition another worker owns, so that
    # a failover serves at once instead of restoring from the changelog (None: 0 on a
    # single broker, 1 with replication; bench-recovery measures both).
    standby_replicas: int | None = Field(default=None, ge=0)
    # Replicas that must have a write before the broker acknowledges it (producers use
    # acks=all). None: 2 when topics have 3 or more replicas, else 1.
    min_insync_replicas: int | None = Field(default=None, ge=1)
    table_store: str = "rocksdb://"
    data_dir: Path = Path(".state/worker")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    # Serve the webhook endpoint alone on this port (and not on web_port), so that the
    # store's side of a firewall reaches nothing else. None: on web_port.
    ingress_port: int | None = Field(default=None, ge=1, le=65535)
    log_level: str = "info"
    # Where a new consumer group starts: the whole history, or only what comes next.
    # "latest" is for tests and trials: it also applies to any partition without a
    # committed offset, so a partition taken over before its first commit would skip
    # what came before the takeover.
    consumer_offset_reset: Literal["earliest", "latest"] = "earliest"
    # How long the broker may hold a fetch that finds nothing new (streams.faust_fixes):
    # the most a record can wait behind a fetch of quiet partitions. Shorter costs CPU
    # while idle (measured, a worker of five agents: 25 ms took 12 % of a core and 11 % of
    # the broker's; 100 ms 4 % and 5 %; Faust's 1.5 s 1 % and 3 %).
    consumer_fetch_wait_seconds: float = Field(default=0.1, gt=0, le=5)
    # Which agents this worker runs (module names in agents/; empty: all). Sinks that
    # wait on outside systems can run in workers of their own (another app_id), so that
    # their backpressure never holds the stateful agents.
    agents: tuple[str, ...] = ()
    # Raw and audit topics are kept long so that decisions can be replayed.
    long_retention_ms: int = 30 * 24 * 3600 * 1000
    stores: dict[str, StoreSettings] = Field(default_factory=lambda: {"demo": StoreSettings()})
    default_safety_stock: Decimal = Decimal(0)
    # Per ERP product code, where it differs from the default.
    safety_stock: dict[str, Decimal] = Field(default_factory=dict)
    # The ERP feed is stale after this long without a heartbeat; then availability is
    # published less this buffer, and marked stale.
    erp_stale_seconds: float = Field(default=60.0, gt=0)
    stale_buffer: Decimal = Decimal(5)
    # The availability agent takes events in batches (one table write and at most one
    # availability per SKU per batch): at most this many; while the input is busy a batch
    # waits for more at most this long (streams.runtime.Runtime.each_batch), never when quiet.
    # Measured with woosync bench at 500 events/s on two cores: with 20 ms the batches
    # stayed small and the worker fell behind (p99 5.9 s); with 50 ms it kept up (p99
    # 0.4 s), the per-SKU work shared by more events.
    inventory_batch_max: int = Field(default=2000, ge=1)
    inventory_batch_seconds: float = Field(default=0.05, gt=0)
    # Rows kept only to recognise replays (released holds, settled orders' holds, old
    # orders' versions) are removed once settled this long; inputs older than what a
    # partition removed are then dropped (streams.retention). Pruning runs this often
    # (0: never).
    replay_horizon_days: float = Field(default=7.0, ge=1)
    prune_interval_seconds: float = Field(default=3600.0, ge=0)
    # Divergence windows: how long each kind may disagree before a window opens (its
    # SLA), the amounts that still agree, and how often suspect subjects are re-judged.
    divergence_sla_seconds: dict[str, float] = Field(default_factory=lambda: {
        "sale": 300.0, "sale-total": 60.0, "status": 900.0, "refund": 900.0,
        "command": 0.0, "stock": 180.0, "feed": 240.0, "price": 300.0, "atp": 300.0,
        "webhooks": 600.0, "product": 300.0})
    divergence_tolerance: dict[str, Decimal] = Field(default_factory=lambda: {
        "sale-total": Decimal("0.01"), "refund": Decimal("0.01")})
    divergence_tick_seconds: float = Field(default=5.0, gt=0)
    # How often each SKU's published availability is audited against its holds (0: off).
    # Well under the atp SLA: a disagreement only the audit sees is judged again (and
    # cleared, if it was in flight) before its SLA runs out.
    divergence_audit_seconds: float = Field(default=120.0, ge=0)
    # Kinds woosync heals itself when their window opens (the owner is clear): "stock"
    # re-sends the published availability to the store, "price" sets the store's price
    # to the ERP's list price (the ERP owns prices), "command" re-sends (same id) a
    # command given up on because its target stayed unavailable (not a refusal),
    # "product" sets back the fields of store_edits_overwrite.
    divergence_heal: tuple[str, ...] = ("stock", "price", "command", "product")
    # Of a product edited in the store against the grain (a "product" window), the
    # fields its healing sets back to the ERP's value; the others are only recorded.
    store_edits_overwrite: tuple[str, ...] = ("name", "sale_price", "status")
    # While a healed window stays open, self-healing acts again this often.
    divergence_heal_retry_seconds: float = Field(default=300.0, gt=0)
    # Anti-entropy: every SKU's availability is sent to the stores again this often,
    # changed or not, so a store converges after a lost command (0: never).
    availability_resync_seconds: float = Field(default=900.0, ge=0)
    # Oversell risk (tables.risk): a SKU is critical, high or medium when its time to
    # stock-out is within that many minutes; judged and published every interval.
    risk_minutes: dict[str, float] = Field(default_factory=lambda: {
        "critical": 5.0, "high": 15.0, "medium": 60.0})
    risk_interval_seconds: float = Field(default=2.0, gt=0)
    # A provisional hold taken by a reservation check at checkout lasts this long unless
    # the order's own hold settles it first; a check may ask for up to the maximum.
    checkout_hold_seconds: float = Field(default=120.0, gt=0)
    checkout_hold_max_seconds: float = Field(default=900.0, gt=0)
    # How long the producer waits to fill a request: changelog rows and outputs of one
    # batch then travel in a few produce requests instead of one each (Faust's default
    # is 0).
    producer_linger_seconds: float = Field(default=0.005, ge=0)
    # A worker that stops heartbeating is out of the group after this long, and its
    # partitions go to the others: how long a dead worker's SKUs go unserved.
    session_timeout_seconds: float = Field(default=30.0, ge=6)
    # Product master: the stores' tax class for each ERP tax class (the product's
    # accounting category); a product of an unmapped one keeps the store's tax class.
    tax_classes: dict[str, str] = Field(default_factory=dict)
    # Every product is judged again this often, so a store gets the next scheduled sale
    # once one has ended (0: never).
    catalog_refresh_seconds: float = Field(default=3600.0, ge=0)
    erp_url: str = "http://127.0.0.1:8000"
    erp_database: str = "woosync"
    erp_user: str = "woosync"
    erp_password: SecretStr = SecretStr("")
    erp_poll_interval: float = Field(default=2.0, gt=0)
    # Longer than the ERP's longest write transaction (tryton-facts.md section 4b).
    erp_overlap_seconds: float = Field(default=90.0, ge=0)
    # Delivery of commands to outside systems: backoff, attempts, circuit breaker.
    retry_base_seconds: float = Field(default=0.5, gt=0)
    retry_cap_seconds: float = Field(default=30.0, gt=0)
    command_max_attempts: int = Field(default=8, ge=1)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=10.0, gt=0)
    # How long a sink waits out an unavailable target before dead-lettering commands.
    delivery_max_wait_seconds: float = Field(default=120.0, gt=0)
    # For operations endpoints (none yet take it); no default either.
    admin_token: SecretStr = SecretStr("")
    # WooCommerce edge: the largest webhook body accepted, the polling sweep, the sink.
    webhook_max_bytes: int = Field(default=1_000_000, ge=1024)
    woo_sweep_interval: float = Field(default=60.0, gt=0)
    # Timestamps have one-second resolution and webhooks come late: look back this far.
    woo_sweep_overlap_seconds: float = Field(default=120.0, ge=0)
    sink_coalesce_seconds: float = Field(default=0.5, gt=0)
    # Order to cash: a store order is sent to the ERP once any snapshot of it has one
    # of these statuses (never pending, checkout-draft or failed: nothing is paid).
    order_send_statuses: tuple[str, ...] = DEFAULT_SEND_STATUSES
    sink_batch_max: int = Field(default=500, ge=1)
    # Returns (a refund with restock): goods are taken back within this many days of
    # payment (None: any time) and not for ERP codes matching these patterns (fnmatch,
    # e.g. "HOT-*"). A refused return is still credited, without taking goods back.
    return_window_days: float | None = Field(default=30.0, gt=0)
    not_returnable: tuple[str, ...] = ()

    @field_validator("order_send_statuses")
    @classmethod
    def _sends_only_paid_orders(cls, statuses: tuple[str, ...]) -> tuple[str, ...]:
        unpaid = sorted(set(statuses) & {"pending", "checkout-draft", "failed"})
        if unpaid:
            raise ValueError(f"order_send_statuses: {unpaid} are not paid; an order in"
                             " them is never sent to the ERP")
        return statuses

    @field_validator("risk_minutes")
    @classmethod
    def _risk_levels_known_and_ordered(cls, minutes: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(minutes) - {"critical", "high", "medium"})
        if unknown:
            raise ValueError(f"risk_minutes: unknown levels {unknown}; use critical, high,"
                             " medium")
        full = {"critical": 5.0, "high": 15.0, "medium": 60.0, **minutes}
        if not 0 <= full["critical"] <= full["high"] <= full["medium"]:
            raise ValueError("risk_minutes: need 0 <= critical <= high <= medium")
        return full

    @field_validator("stores")
    @classmethod
    def _store_ids_are_plain(cls, stores: dict[str, StoreSettings]) -> dict[str, StoreSettings]:
        for store_id in stores:
            # Store ids appear inside keys such as "woo:<store>:1234" and in URL paths.
            if not store_id or not store_id.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"store id {store_id!r}: use letters, digits, '-' or '_'")
        return stores

    @property
    def insync_replicas(self) -> int:
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return 2 if self.replication_factor >= 3 else 1

    @property
    def bootstrap_servers(self) -> str:
        """The broker URL without Faust's ``kafka://`` scheme, for plain Kafka clients."""
        return ",".join(
            part.removeprefix("kafka://").removeprefix("aiokafka://")
            for part in self.broker.split(";")
        )

    @property
    def erp_warehouses(self) -> tuple[str, ...]:
        """Every warehouse some store is served from, in a stable order."""
        return tuple(sorted({wh for store in self.stores.values() for wh in store.warehouses}))

    @cached_property
    def stores_apart(self) -> dict[str, frozenset[str]]:
        """Per store, the stores that share none of its warehouses (built once: the hot
        path asks for every SKU of every batch)."""
        return {store_id: frozenset(
                    other_id for other_id, other in self.stores.items()
                    if not set(other.warehouses) & set(store.warehouses))
                for store_id, store in self.stores.items()}

    def missing_secrets(self, agents: tuple[str, ...] = ()) -> list[str]:
        """The environment variables a worker running ``agents`` (empty: all) needs
        and lacks: each store's REST keys and webhook secret (or per-webhook secrets),
        and the ERP password when an ERP agent runs."""
        missing = []
        for store_id, store in sorted(self.stores.items()):
            prefix = f"WOOSYNC_STORES__{store_id.upper()}__"
            for name in ("consumer_key", "consumer_secret"):
                if not getattr(store, name).get_secret_value():
                    missing.append(prefix + name.upper())
            if not store.webhook_secrets and not store.webhook_secret.get_secret_value():
                missing.append(prefix + "WEBHOOK_SECRET")
        erp_agents = {"erp_commands", "erp_feed"}
        if (not agents or erp_agents & set(agents)) and not self.erp_password.get_secret_value():
            missing.append("WOOSYNC_ERP_PASSWORD")
        return missing

    def store(self, store_id: str) -> StoreSettings:
        try:
            return self.stores[store_id]
        except KeyError:
            raise ConfigError(f"unknown store {store_id!r}") from None


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; keyword overrides win (tests, the demo)."""
    return Settings(**overrides)  # type: ignore[arg-type]
