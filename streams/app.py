"""The composition root: builds the Faust app, its topics and agents from settings.

Nothing here runs at import time; ``create_app`` is called by the CLI (worker, demo) and
by tests. Agent modules plug in through ``register(runtime)``; the default list is the
production set, tests may pass their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import faust

from streams.codec import Codec
from streams.erp.adapter import ErpAdapter
from streams.erp.tryton import TrytonAdapter
from streams.errors import ConfigError
from streams.metrics import Metrics
from streams.runtime import Runtime
from streams.settings import Settings
from streams.topics import Topics
from streams.woo.client import StoreClients

Registrar = Callable[[Runtime], None]


def default_agents(only: tuple[str, ...] = ()) -> list[Registrar]:
    from agents import (
        availability,
        erp_commands,
        erp_feed,
        holds,
        stock_owners,
        store_sink,
        trace,
        woo_normalize,
        woo_sweep,
    )
    from streams import inventory_web

    every = {"trace": trace.register, "erp_commands": erp_commands.register,
             "erp_feed": erp_feed.register, "woo_normalize": woo_normalize.register,
             "woo_sweep": woo_sweep.register, "store_sink": store_sink.register,
             "stock_owners": stock_owners.register, "holds": holds.register,
             "availability": availability.register,
             "inventory_web": inventory_web.register}
    unknown = set(only) - set(every)
    if unknown:
        raise ConfigError(f"unknown agents {sorted(unknown)}; choose from {sorted(every)}")
    return [register for name, register in every.items() if not only or name in only]


def create_app(settings: Settings, agents: Sequence[Registrar] | None = None) -> Runtime:
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store=settings.table_store,
        datadir=str(settings.data_dir),
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        # One broker in development: no standby copies of the tables to keep warm.
        table_standby_replicas=0 if settings.replication_factor == 1 else 1,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset=settings.consumer_offset_reset,
        producer_acks=-1,
        producer_linger=settings.producer_linger_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 10,
        autodiscover=False,
    )
    runtime = Runtime(app, settings, Topics(app, settings), Codec(), Metrics(),
                      erp=make_adapter(settings), stores=StoreClients(dict(settings.stores)))
    from streams import web
    from streams.woo import ingress

    web.register(runtime)
    ingress.register(runtime)
    for register in default_agents(settings.agents) if agents is None else agents:
        register(runtime)
    return runtime


def make_adapter(settings: Settings) -> ErpAdapter:
    """The ERP adapter the settings name (only Tryton so far)."""
    return TrytonAdapter(settings)
