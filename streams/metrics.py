"""Prometheus metrics of one worker, in a registry of its own (several apps can live in
one test process). Served at ``/metrics`` by ``streams.web``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


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
