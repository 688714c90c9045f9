"""Settings of one emulated store, including the fault injection knobs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    """Webhook and REST faults, as probabilities (0..1) and seconds."""

    drop: float = 0.0  # a delivery is lost on the way
    duplicate: float = 0.0  # a delivery arrives twice
    reorder: float = 0.0  # a delivery is held back and sent after the next one
    delay_seconds: float = 0.0  # extra random delay before a delivery, up to this
    rest_429: float = 0.0
    rest_5xx: float = 0.0
    rest_latency_seconds: float = 0.0


@dataclass
class ReservationCheck:
    """Not WooCommerce itself: what a store plugin hooked on checkout would do with
    woosync's reservation check (``POST /reservations/check``, signed with the store's
    webhook secret). Each checkout asks with the new order's lines and a provisional
    hold; a line that does not fit refuses the checkout as WooCommerce refuses one
    without stock (the pending order is cancelled, nothing was reduced). When woosync
    does not answer within the timeout the checkout goes ahead: a plugin must not stop
    a shop from selling when its integration is down."""

    url: str
    store: str
    secret: str
    hold: bool = True
    timeout_seconds: float = 0.5


@dataclass
class EmulatorConfig:
    site_url: str = "https://shop.example/"
    # WooCommerce only accepts Basic auth over HTTPS; over plain HTTP it wants OAuth 1.0a.
    # The emulator listens on HTTP; ``https`` says which one it behaves as.
    https: bool = False
    keys: dict[str, str] = field(default_factory=lambda: {"ck_demo": "cs_demo"})
    site_utc_offset_hours: int = 2  # plain dates are site time; *_gmt are UTC
    # Real seconds per emulated second (0.05: the one-second queue delay runs in 50 ms).
    time_scale: float = 1.0
    # How long after a change the queue runs. Until it has run, further changes of the
    # same resource join the pending delivery (woocommerce-facts.md 1.6: an action is not
    # added while one with the same args is pending and due before now + 600 s, and a
    # pending one is always due at once), so the delivery carries the latest state.
    queue_delay_seconds: float = 1.0
    hold_stock_minutes: float = 60.0
    # failed_delivery(): disabled when failure_count > max_failures at a failure, so the
    # 7th consecutive failure disables (the docs say 5): the source-code value.
    max_delivery_failures: int = 5
    # Whether creating a webhook over REST pings its URL: UNCONFIRMED for current
    # WooCommerce; the WC 2.6-era REST controller did.
    ping_on_create: bool = True
    batch_limit: int = 100
    per_page_max: int = 100
    seed: int = 7
    faults: Faults = field(default_factory=Faults)
    reservation_check: ReservationCheck | None = None
    wc_version: str = "9.9.0"
