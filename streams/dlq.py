"""Working the dead-letter topic: list, show and replay what woosync could not process.

Consumes the ``dlq`` topic (DeadLetter: the original record whole, where it came from,
the stage and the reason; DeadLetterReplayed: who sent which letter back, when, with
what edits). Produces, on replay, the original record again on its original topic
(same key, same headers, plus ``woosync-replay-of: dlq:<partition>:<offset>``) and a
DeadLetterReplayed on ``dlq`` that records it.

Replay is idempotent downstream: a replayed message keeps its envelope, hence its event
id and source version, and every consumer already drops what its version checks have
seen and derives command ids from the cause. A letter already replayed is skipped
unless asked again. An edit (``field.path=value``) is applied to the decoded message,
each value read as the type the field already has, and the message is re-encoded
against its schema, so an edit cannot produce what the schema refuses.

Selection, edits and the progress line are pure functions; reading and producing are
the two I/O functions at the end (kafka-python, run in a thread by the web pages).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kafka.producer import KafkaProducer

from streams import topics
from streams.codec import Codec
from streams.compacted import read_topic
from streams.envelope import Cause, deterministic_id, utcnow
from streams.errors import DecodeError, WoosyncError
from streams.settings import Settings

REPLAY_HEADER = "woosync-replay-of"


class ReplayError(WoosyncError):
    """A replay that cannot be done as asked (an edit that does not fit, no value)."""


@dataclass
class Letter:
    id: str
    at: datetime
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    stage: str
    error: str
    attempts: int
    replays: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_class(self) -> str:
        return self.error.partition(":")[0].strip()

    @property
    def replay_of(self) -> str | None:
        """The letter this one's record was replayed from (it failed again), if any."""
        for key, value in self.headers:
            if key == REPLAY_HEADER and value:
                return value.decode(errors="replace")
        return None

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "topic": self.topic,
                "partition": self.partition, "offset": self.offset,
                "key": (self.key or b"").decode(errors="replace"), "stage": self.stage,
                "error_class": self.error_class, "error": self.error,
                "attempts": self.attempts, "replays": self.replays,
                "replay_of": self.replay_of}


@dataclass(frozen=True)
class Selection:
    topic: str | None = None
    stage: str | None = None
    error_class: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    replayed: bool | None = None  # None: either; False: only letters never replayed
    ids: tuple[str, ...] = ()

    def matches(self, letter: Letter) -> bool:
        return ((self.topic is None or letter.topic == self.topic)
                and (self.stage is None or letter.stage == self.stage)
                and (self.error_class is None or letter.error_class == self.error_class)
                and (self.since is None or letter.at >= self.since)
                and (self.until is None or letter.at < self.until)
                and (self.replayed is None or bool(letter.replays) == self.replayed)
                and (not self.ids or letter.id in self.ids))


def select(letters: Iterable[Letter], selection: Selection) -> list[Letter]:
    return [letter for letter in letters if selection.matches(letter)]


def letters_of(records: Iterable[tuple[int, int, Any]]) -> list[Letter]:
    """The dead letters among decoded dlq records ``(partition, offset, message)``, each
    with the replays recorded after it, oldest first."""
    letters: dict[str, Letter] = {}
    for partition, offset, message in records:
        body = message.body
        if message.short_name == "DeadLetter":
            letter_id = f"dlq:{partition}:{offset}"
            letters[letter_id] = Letter(
                letter_id, body["envelope"]["observed_at"], body["topic"], body["partition"],
                body["offset"], body["key"], body["value"],
                [(h["key"], h["value"]) for h in body["headers"]], body["stage"],
                body["error"], body["attempts"])
        elif message.short_name == "DeadLetterReplayed" and body["letter"] in letters:
            letters[body["letter"]].replays.append({
                "by": body["by"], "at": body["envelope"]["observed_at"].isoformat(),
                "offset": body["offset"], "edits": list(body["edits"])})
    return sorted(letters.values(), key=lambda letter: (letter.at, letter.id))


def edit(codec: Codec, value: bytes, assignments: Iterable[str]) -> tuple[bytes, list[str]]:
    """The message ``value`` with each ``path=value`` applied (dotted path, list items
    by index), re-encoded against its schema; and the edits as applied."""
    applied = [a for a in assignments]
    if not applied:
        return value, []
    message = codec.decode(value)
    for assignment in applied:
        path, sep, text = assignment.partition("=")
        if not sep or not path:
            raise ReplayError(f"edit {assignment!r}: write field.path=value")
        if path.split(".")[0] == "envelope":
            raise ReplayError("the envelope is not edited: it carries the event's identity")
        _assign(message.body, path.split("."), text)
    try:
        return codec.encode(message.name, message.body), applied
    except WoosyncError as exc:
        raise ReplayError(f"the edited message does not fit {message.name}: {exc}") from exc


def _assign(node: Any, path: list[str], text: str) -> None:
    step, rest = path[0], path[1:]
    container: Any = node
    key: Any = int(step) if isinstance(container, list) and step.isdigit() else step
    try:
        current = container[key]
    except (KeyError, IndexError, TypeError):
        raise ReplayError(f"no field {step!r} here") from None
    if rest:
        _assign(current, rest, text)
        return
    container[key] = _typed(current, text, step)


def _typed(current: Any, text: str, name: str) -> Any:
    """``text`` as the type the field holds now."""
    if text == "null":
        return None
    try:
        if isinstance(current, bool):
            return text.lower() in ("1", "true", "yes")
        if isinstance(current, int):
            return int(text)
        if isinstance(current, Decimal):
            return Decimal(text)
        if isinstance(current, datetime):
            return datetime.fromisoformat(text)
        if isinstance(current, bytes):
            return text.encode()
    except ValueError as exc:
        raise ReplayError(f"{name}: {text!r} does not read as {type(current).__name__}") from exc
    return text


def progress(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def load(settings: Settings, codec: Codec, deadline_seconds: float = 30.0
         ) -> tuple[list[Letter], int, bool]:
    """Every dead letter with its replays; how many records did not decode; whether the
    read reached the end before its deadline."""
    records: list[tuple[int, int, Any]] = []
    undecodable = 0

    def visit(record: Any) -> None:
        nonlocal undecodable
        try:
            records.append((record.partition, record.offset, codec.decode(record.value)))
        except (DecodeError, TypeError):
            undecodable += 1

    complete = read_topic(settings, topics.DLQ.name, visit, deadline_seconds)
    return letters_of(records), undecodable, complete


def replay(settings: Settings, codec: Codec, letters: list[Letter], by: str | None = None,
           edits: Iterable[str] = (), again: bool = False,
           report: Callable[[int, int, dict[str, Any]], None] | None = None
           ) -> list[dict[str, Any]]:
    """Send each letter's record back to its topic and record the replay on ``dlq``;
    one outcome per letter (replayed with its new offset, or skipped with why)."""
    who = by or getpass.getuser()
    edits = list(edits)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                             retries=5)
    outcomes: list[dict[str, Any]] = []
    try:
        for done, letter in enumerate(letters, start=1):
            outcome = _replay_one(producer, codec, letter, who, edits, again)
            outcomes.append(outcome)
            if report is not None:
                report(done, len(letters), outcome)
    finally:
        producer.close()
    return outcomes


def _replay_one(producer: KafkaProducer, codec: Codec, letter: Letter, who: str,
                edits: list[str], again: bool) -> dict[str, Any]:
    if letter.replays and not again:
        return {"id": letter.id, "skipped": "already replayed (ask again to resend)"}
    if letter.value is None:
        return {"id": letter.id, "skipped": "the dead letter kept no value"}
    value, applied = edit(codec, letter.value, edits) if edits else (letter.value, [])
    headers = [(k, v or b"") for k, v in letter.headers if k != REPLAY_HEADER]
    sent = producer.send(letter.topic, key=letter.key, value=value, partition=letter.partition,
                         headers=[*headers, (REPLAY_HEADER, letter.id.encode())])
    offset = sent.get(timeout=30).offset
    now = utcnow()
    cause = Cause(deterministic_id("replay", letter.id, offset), now, letter.id,
                  deterministic_id("trace", letter.id), f"operator:{who}")
    record = codec.encode("woosync.DeadLetterReplayed", {
        "envelope": cause.envelope("DeadLetterReplayed", observed_at=now),
        "letter": letter.id, "topic": letter.topic, "partition": letter.partition,
        "offset": offset, "by": who, "edits": applied})
    producer.send(topics.DLQ.name, key=letter.key, value=record).get(timeout=30)
    return {"id": letter.id, "replayed": f"{letter.topic}@{offset}", "edits": applied}
