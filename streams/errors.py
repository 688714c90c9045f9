"""One base exception for woosync, one-line subclasses for each kind of failure.

A business rejection is an output event, never one of these; these are for input that
cannot be read and for the local infrastructure that cannot start.
"""

from __future__ import annotations

import re

from pydantic import ValidationError


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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_SECRETS = re.compile(r"(c[ks]_[A-Za-z0-9]{4,}|(?i:password|secret|token)[\"']?\s*[:=]\s*\S+)")


def reason(exc: BaseException, limit: int = 1000) -> str:
    """A dead letter's reason for ``exc``: its class and what went wrong, without the
    input's values where the exception would quote them (pydantic quotes the input; any
    message may quote an e-mail address or a key), so that the dlq holds no personal data
    or secrets beyond the original bytes it keeps."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False))
        text = f"ValidationError: {problems}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = _SECRETS.sub("[redacted]", _EMAIL.sub("[e-mail]", text))
    return text[:limit]
