"""Canonical events through real Faust workers on the real broker."""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack import samples
from devstack.producer import CanonicalProducer
from devstack.supervise import WORKER_READY, ManagedProcess, worker_process
from streams import topics as t
from streams.codec import MAGIC
from streams.settings import Settings
from tests.integration.conftest import worker_env
from tests.integration.echo_app import ECHO_TOPIC
from tests.integration.kafka_io import read_until

pytestmark = pytest.mark.integration


@pytest.fixture
def echo_worker(settings: Settings, tmp_path: Path) -> Iterator[ManagedProcess]:
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    with contextlib.suppress(TopicAlreadyExistsError):
        admin.create_topics([NewTopic(ECHO_TOPIC, settings.partitions, 1)])
    admin.close()
    # Every agent runs here: start at the end of the topics rather than behind every
    # earlier test's history on the shared broker (the tests produce after the start).
    env = {**worker_env(settings), "WOOSYNC_CONSUMER_OFFSET_RESET": "latest"}
    worker = worker_process(tmp_path / "worker.log", env, module="tests.integration.echo_app")
    worker.start(WORKER_READY)
    yield worker
    worker.stop()


def test_event_goes_through_a_faust_agent_and_comes_out_equal(
    settings: Settings, echo_worker: ManagedProcess
) -> None:
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the schema keeps ms
    sent = [samples.order_observed("pipe", n, now, quantity=n) for n in range(1, 6)]
    with CanonicalProducer(settings) as producer:
        for order in sent:
            producer.send(t.COMMERCE_ORDERS, order["order_id"], "woosync.OrderObserved", order)

    echoed = read_until(settings, ECHO_TOPIC, lambda got: len(got) >= len(sent),
                        keep=lambda key, m: key.startswith("woo:pipe:"))

    assert {key for key, _ in echoed} == {o["order_id"] for o in sent}
    by_id = {m.body["order_id"]: m.body for _, m in echoed}
    for order in sent:
        assert by_id[order["order_id"]] == order


def test_undecodable_bytes_become_a_dead_letter_and_the_worker_carries_on(
    settings: Settings, echo_worker: ManagedProcess
) -> None:
    now = datetime.now(UTC)
    unknown_fp = MAGIC + bytes(8) + b"\x02"
    before = samples.order_observed("dlq", 1, now)
    after = samples.order_observed("dlq", 2, now)
    with CanonicalProducer(settings) as producer:
        # One key, so all three land on one partition in this order.
        producer.send(t.COMMERCE_ORDERS, "woo:dlq:1", "woosync.OrderObserved", before)
        producer.send_bytes(t.COMMERCE_ORDERS, "woo:dlq:1", unknown_fp)
        producer.send_bytes(t.COMMERCE_ORDERS, "woo:dlq:1", b'{"id": 1}')
        producer.send(t.COMMERCE_ORDERS, "woo:dlq:1", "woosync.OrderObserved", after)

    letters = read_until(
        settings, t.DLQ.name, lambda got: len(got) >= 2,
        keep=lambda key, m: key == "woo:dlq:1" and m.body["stage"] == "echo:commerce.orders")
    assert sorted(m.body["value"] for _, m in letters) == sorted([unknown_fp, b'{"id": 1}'])
    errors = " | ".join(m.body["error"] for _, m in letters)
    assert "unknown writer schema fingerprint 0000000000000000" in errors
    assert "not Avro single-object encoding" in errors
    assert all(m.body["topic"] == t.COMMERCE_ORDERS.name for _, m in letters)

    echoed = read_until(settings, ECHO_TOPIC, lambda got: len(got) >= 2,
                        keep=lambda key, m: key == "woo:dlq:1")
    assert [m.body["number"] for _, m in echoed] == ["1", "2"]
    assert echo_worker.running

    metrics = urllib.request.urlopen(
        f"http://127.0.0.1:{settings.web_port}/metrics", timeout=10).read().decode()
    assert 'woosync_dead_letters_total{stage="echo:commerce.orders"} 2.0' in metrics
