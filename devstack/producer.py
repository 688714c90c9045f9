"""A plain (non-Faust) producer of canonical messages, for the CLI, the demo, the sample
feed and tests: encodes with the codec and publishes to a registered topic, waiting for
the broker's acknowledgement."""

from __future__ import annotations

from typing import Any

from kafka.producer import KafkaProducer

from streams.codec import Codec
from streams.errors import EncodeError
from streams.settings import Settings
from streams.topics import TopicSpec


class CanonicalProducer:
    def __init__(self, settings: Settings, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self._producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                                       acks="all", linger_ms=5)

    def send(self, spec: TopicSpec, key: str, name: str, body: dict[str, Any],
             partition: int | None = None) -> None:
        if name not in spec.values:
            raise EncodeError(f"{name} is not a value of topic {spec.name}")
        self.send_bytes(spec, key, self.codec.encode(name, body), partition)

    def send_bytes(self, spec: TopicSpec, key: str, value: bytes,
                   partition: int | None = None) -> None:
        """Publish bytes as they are (tests use it to send what the codec would refuse)."""
        self._producer.send(spec.name, key=key.encode(), value=value, partition=partition)

    def flush(self, timeout: float = 30.0) -> None:
        self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.close()

    def __enter__(self) -> CanonicalProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
        self.close()
