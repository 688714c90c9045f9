"""One base exception for woosync, one-line subclasses for each kind of failure.

A business rejection is an output event, never one of these; these are for input that
cannot be read and for the local infrastructure that cannot start.
"""


class WoosyncError(Exception):
    """Base of every error woosync raises on purpose."""


class ConfigError(WoosyncError):
    """Settings are missing or contradict each other."""


class DecodeError(WoosyncError):
    """Bytes on a topic are not a canonical message this build can read."""


class UnknownSchemaError(DecodeError):
    """The writer-schema fingerprint is not in `schemas/` (current or history)."""


class EncodeError(WoosyncError):
    """A record does not fit the schema it is written with."""


class BrokerError(WoosyncError):
    """The local Kafka broker could not be fetched, started or reached."""


class TopicLayoutError(WoosyncError):
    """An existing topic disagrees with the registry (partitions, cleanup policy)."""
