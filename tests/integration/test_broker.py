"""The local broker: starts from Maven Central jars, serves clients, refuses clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.consumer import KafkaConsumer
from kafka.producer import KafkaProducer
from kafka.structs import TopicPartition

from devstack.kafka_broker import LocalKafka, answers_metadata
from streams.admin import ensure_topics
from streams.errors import BrokerError, TopicLayoutError
from streams.settings import Settings
from streams.topics import ALL, Cleanup, TopicSpec

pytestmark = pytest.mark.integration


def test_broker_answers_and_keeps_what_it_acknowledged(kafka: LocalKafka) -> None:
    assert answers_metadata(kafka.bootstrap)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    spec = TopicSpec("test.ack", "k", ())
    from streams.settings import load_settings

    settings = load_settings(broker=f"kafka://{kafka.bootstrap}", partitions=2)
    ensure_topics(settings, (spec,))
    for i in range(500):
        producer.send(spec.name, key=b"k%d" % (i % 7), value=b"v%d" % i)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap)
    ends = consumer.end_offsets([TopicPartition(spec.name, p) for p in (0, 1)])
    consumer.close()
    assert sum(ends.values()) == 500


def test_registry_topics_exist_with_partitions_and_policies(settings: Settings) -> None:
    # `settings` ran ensure_topics; running it again creates nothing and passes the check.
    assert ensure_topics(settings) == []
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    described = {t["name"]: t for t in admin.describe_topics([s.name for s in ALL])}
    configs = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, s.name) for s in ALL])["topic"]
    admin.close()
    for spec in ALL:
        assert len(described[spec.name]["partitions"]) == settings.partitions
        assert configs[spec.name]["cleanup.policy"]["value"] == str(spec.cleanup)
    assert configs["erp.catalog"]["cleanup.policy"]["value"] == str(Cleanup.COMPACT)


def test_a_topic_with_another_partition_count_is_refused(settings: Settings) -> None:
    spec = TopicSpec("test.copartition", "k", ())
    ensure_topics(settings, (spec,))
    wider = settings.model_copy(update={"partitions": settings.partitions * 2})
    with pytest.raises(TopicLayoutError, match="partitions"):
        ensure_topics(wider, (spec,), settle_seconds=0)


def test_taken_port_is_a_clear_error_not_a_hang(kafka: LocalKafka, tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match=f"port {kafka.port} is taken"):
        LocalKafka(tmp_path, port=kafka.port).start(timeout=10)


def test_missing_java_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(BrokerError, match="Java not found"):
        LocalKafka(tmp_path).start(timeout=10)


def test_unreachable_maven_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    # An empty jar cache and a Maven whose only repository refuses connections.
    home = tmp_path / "home"
    (home / ".m2").mkdir(parents=True)
    (home / ".m2" / "settings.xml").write_text(
        "<settings><mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf>"
        "<url>http://127.0.0.1:9/maven2</url></mirror></mirrors></settings>")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MAVEN_OPTS", f"-Duser.home={home}")
    with pytest.raises(BrokerError, match="Maven could not resolve Kafka"):
        LocalKafka(tmp_path / "data").start(timeout=10)
