"""Prometheus metrics of one worker, in a registry of its own (several apps can live in
one test process). Served at ``/metrics`` by ``streams.web``.

Named as Prometheus asks (``_total`` on counters, added by the client): each metric
counts one thing, and every label takes a bounded set of values (a store label is a
configured store or ``unknown``, so requests to random paths cannot create series).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

UNKNOWN = "unknown"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_in = Counter(
            "woosync_events_in", "Canonical messages read, by topic and type",
            ["topic", "type"], registry=self.registry)
        self.events_out = Counter(
            "woosync_events_out", "Canonical messages written, by topic and type",
            ["topic", "type"], registry=self.registry)
        self.dead_letters = Counter(
            "woosync_dead_letters", "Messages sent to the dead-letter topic, by stage",
            ["stage"], registry=self.registry)
        self.sink_requests = Counter(
            "woosync_sink_requests", "Calls to outside systems, by target and outcome",
            ["target", "outcome"], registry=self.registry)
        self.circuit_open = Gauge(
            "woosync_circuit_open", "1 while the circuit breaker of a target is open",
            ["target"], registry=self.registry)
        self.webhooks_received = Counter(
            "woosync_webhooks_received", "Webhook requests, by store (configured, or"
            " 'unknown') and outcome", ["store", "outcome"], registry=self.registry)
        self.feed_polls = Counter(
            "woosync_feed_polls", "Runs of a change feed (ERP feed, store sweep), by feed"
            " and outcome", ["feed", "outcome"], registry=self.registry)
        self.timer_errors = Counter(
            "woosync_timer_errors", "Timer runs that raised (the timer runs again next"
            " interval), by timer", ["timer"], registry=self.registry)
        self.store_webhooks = Gauge(
            "woosync_store_webhooks", "The store's webhooks by status (a disabled one"
            " delivers nothing), as last read by the sweep", ["store", "status"],
            registry=self.registry)
        self.divergence_windows = Counter(
            "woosync_divergence_windows", "Divergence window events, by kind and event"
            " (Opened, Updated, Closed)", ["kind", "event"], registry=self.registry)
        self.divergence_actions = Counter(
            "woosync_divergence_actions", "Self-healing actions taken for open windows, by"
            " kind", ["kind"], registry=self.registry)
        self.divergence_duration = Histogram(
            "woosync_divergence_duration_seconds", "How long closed divergence windows"
            " were open (opened to closed), by kind", ["kind"],
            buckets=(30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600, float("inf")),
            registry=self.registry)
        self.divergence_open = Gauge(
            "woosync_divergence_open", "Open divergence windows on this worker's"
            " partitions, by kind", ["kind"], registry=self.registry)
        self.rows_pruned = Counter(
            "woosync_rows_pruned", "Settled rows removed after the replay horizon, by table",
            ["table"], registry=self.registry)
        self.replays_dropped = Counter(
            "woosync_replays_dropped", "Inputs older than what their partition pruned,"
            " dropped unapplied, by stage", ["stage"], registry=self.registry)
        self.staleness_flips = Counter(
            "woosync_staleness_flips", "Times a partition's ERP feed turned stale or fresh"
            " again, by the state it turned to", ["to"], registry=self.registry)
        self.oversold_units = Counter(
            "woosync_oversold_units", "Units a store accepted while woosync's availability"
            " to promise for it was already used up, by store", ["store"],
            registry=self.registry)
        self.risk_skus = Gauge(
            "woosync_risk_skus", "This worker's SKUs by oversell risk level", ["level"],
            registry=self.registry)
        self.sync_latency = Histogram(
            "woosync_sync_latency_seconds", "How long synchronization takes, by workflow:"
            " availability (a stock read or order hold occurred -> SetAvailability"
            " emitted), store_command (a command emitted -> the store confirmed it),"
            " order_to_sale (a store order paid -> its ERP sale seen)", ["workflow"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
                     300, 900, float("inf")), registry=self.registry)
        self.batch_events = Histogram(
            "woosync_batch_events", "Events per batch a batching agent handled, by stage",
            ["stage"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000,
                                float("inf")), registry=self.registry)
        self.table_rows = Gauge(
            "woosync_table_rows", "Rows of each table on this worker's partitions (counted"
            " every minute)", ["table"], registry=self.registry)
        self.checkout_checks = Counter(
            "woosync_checkout_checks", "Reservation checks at checkout, by answer (fits,"
            " refused)", ["answer"], registry=self.registry)
        self.checkout_latency = Histogram(
            "woosync_checkout_check_seconds", "Time to answer a reservation check, on the"
            " worker asked", buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5, 1, float("inf")), registry=self.registry)
