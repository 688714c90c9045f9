"""Feed cursors on the compacted ``feed.cursors`` topic: where each poller of an outside
system got to. A poller runs on whichever worker leads the group; when leadership moves,
the new leader reads the topic back (streams.compacted: last value per key wins).
"""

from __future__ import annotations

import time

from streams import topics
from streams.codec import Codec
from streams.compacted import load_compacted
from streams.settings import Settings


class LeaderCursors:
    """A leader poller's cursors under ``prefix`` (keys without it), read back from the
    topic on first use and whenever the poller missed a few ticks (leadership may have
    been elsewhere meanwhile and another worker moved them on)."""

    def __init__(self, settings: Settings, codec: Codec, prefix: str, interval: float) -> None:
        self.settings, self.codec, self.prefix, self.interval = settings, codec, prefix, interval
        self.values: dict[str, str] | None = None
        self.last_tick = 0.0

    async def current(self) -> dict[str, str]:
        now = time.monotonic()
        if self.values is None or now - self.last_tick > 3 * self.interval:
            stored = await load_cursors(self.settings, self.codec, self.prefix)
            self.values = {k.removeprefix(self.prefix): v for k, v in stored.items()}
        self.last_tick = now
        return self.values


async def load_cursors(settings: Settings, codec: Codec, prefix: str) -> dict[str, str]:
    """Every cursor whose feed name starts with ``prefix``, as last written (a cursor
    that does not decode is a cursor we do not have: the poller starts that feed over)."""
    read = await load_compacted(settings, codec, topics.FEED_CURSORS.name)
    return {m.body["feed"]: m.body["cursor"] for m in read.latest.values()
            if m.body["feed"].startswith(prefix)}
