"""docker-compose.yml cannot run here (no Docker engine); it must at least parse, use the
official Kafka image in KRaft mode with the local broker's settings, and configure the
worker only through settings that exist."""

from __future__ import annotations

from pathlib import Path

import yaml

from devstack.kafka_broker import KAFKA_VERSION
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, dict[str, dict[str, object]]]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_kafka_service_is_the_official_image_in_kraft_mode() -> None:
    kafka = _compose()["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    env = kafka["environment"]
    assert isinstance(env, dict)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == 0


def test_worker_is_built_here_and_uses_only_known_settings() -> None:
    worker = _compose()["services"]["worker"]
    assert worker["build"] == "."
    env = worker["environment"]
    assert isinstance(env, dict)
    known = {f"WOOSYNC_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known
    assert env["WOOSYNC_BROKER"] == "kafka://kafka:9092"
    assert (ROOT / "Dockerfile").exists()

