"""Turning facts about subjects into divergence windows, for the agents that hold them.

Consumes facts (tables.order_divergence: kind, subject, agreeing, both sides), a table
of the subjects' suspect and open windows, the settings' rule per kind (SLA as grace
period, tolerance for amounts) and ``now``; produces the windows' rows and their
changes on ``divergence.windows`` (keyed by window id, compacted: every window kept in
its last state), and the metrics ``woosync_divergence_windows_total{kind,event}``,
``woosync_divergence_open{kind}`` and ``woosync_divergence_duration_seconds{kind}`` (how
long closed windows were open).

``windows`` reads every window in its last state back from the topic (for the
divergences page and the ledger).

``judge`` runs when a subject changes; ``tick_all`` runs on a timer over this worker's
partitions, so a disagreement opens its window when its grace period ends even if
nothing else happens to the subject. Self-healing (``heal``, for the kinds settings name
in ``divergence_heal``) acts when a window opens and again every
``divergence_heal_retry_seconds`` while it stays open (a re-sent command may meet the
same outage).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from streams import topics
from streams.codec import Codec
from streams.compacted import read_compacted
from streams.envelope import Cause, deterministic_id, trace_for
from streams.runtime import Runtime
from streams.settings import Settings
from streams.table_scan import partitions_here, rows_in
from tables.divergence import OPEN, Change, Fact, Rule, Window, acted, agree, observe, tick


def rule(settings: Settings, kind: str) -> Rule:
    return Rule(settings.divergence_tolerance.get(kind, Decimal(0)),
                timedelta(seconds=settings.divergence_sla_seconds.get(kind, 60.0)))


def row_key(fact: Fact) -> bytes:
    """The window's row: the subject (an order id first, for its partition) and kind."""
    return f"{fact.subject}|{fact.kind}".encode()


def partition_key(key: bytes) -> bytes:
    return key.split(b"|", 1)[0]


Heal = Callable[[Window], Awaitable[str | None]]


async def judge(runtime: Runtime, table: Any, found: Iterable[Fact], now: datetime,
                cause: Cause, heal: Heal | None = None) -> None:
    """Apply one subject's facts to its windows; the caller set the partition. ``heal``
    is called with each window that opens, for kinds whose owner is clear: what it did
    is recorded on the window (and counted)."""
    for fact in found:
        kind_rule = rule(runtime.settings, fact.kind)
        agreeing = fact.agreeing and (fact.store_amount is None or fact.erp_amount is None
                                      or agree(fact.store_amount, fact.erp_amount,
                                               kind_rule))
        key = row_key(fact)
        before = Window.from_json(table.get(key))
        if before is None and agreeing:
            continue  # the common case: nothing to remember
        after, changes = observe(before, fact.kind, fact.subject, agreeing, fact.sides,
                                 now, kind_rule, fact.since)
        await _store(runtime, table, key, before, after, changes, cause, heal)


async def tick_all(runtime: Runtime, table: Any, stage: str, topic: str,
                   now: datetime, partitions: set[int] | None = None,
                   heal: Heal | None = None, kinds: tuple[str, ...] = ()) -> None:
    """Open the suspect windows of this worker's partitions (of ``topic``, or
    ``partitions``) whose grace period is over; count the open ones by kind (``kinds``:
    the kinds this table holds, each set, to 0 when none is open; other agents' kinds
    are theirs to count)."""
    settings = runtime.settings
    open_by_kind: Counter[str] = Counter()
    for partition in partitions_here(runtime, stage, topic, partitions):
        async for _, key in rows_in(runtime, table, stage, partition, partition_key):
            before = Window.from_json(table.get(key))
            if before is None:
                continue
            after, changes = tick(before, now, rule(settings, before.kind))
            if after is not None and after.state == OPEN:
                open_by_kind[after.kind] += 1
            cause = Cause(deterministic_id("divergence-tick", key, now.isoformat()), now,
                          now.isoformat(), trace_for(before.subject.split("|")[0]))
            retry = timedelta(seconds=settings.divergence_heal_retry_seconds)
            if heal is not None and not changes and after is not None and after.heal_due(
                    now, retry):
                # Still open after an earlier action (or none was possible): try again.
                changes = await _heal(runtime, heal, after, now)
                after = changes[-1].window if changes else after
            await _store(runtime, table, key, before, after, changes, cause, heal)
    for kind in set(kinds) | set(open_by_kind):
        runtime.metrics.divergence_open.labels(kind).set(open_by_kind.get(kind, 0))


async def _store(runtime: Runtime, table: Any, key: bytes, before: Window | None,
                 after: Window | None, changes: list[Change], cause: Cause,
                 heal: Heal | None = None) -> None:
    if heal is not None and after is not None and any(
            c.name == "DivergenceOpened" for c in changes):
        healed = await _heal(runtime, heal, after, datetime.fromisoformat(
            after.opened_at or after.since))
        after = healed[-1].window if healed else after
        changes = [*changes, *healed]
    for change in changes:
        await runtime.emit(topics.DIVERGENCE_WINDOWS, change.window.window_id,
                           f"woosync.{change.name}", {"window": _record(change)}, cause,
                           change.window.window_id, change.name)
        runtime.metrics.divergence_windows.labels(change.window.kind,
                                                  change.name.removeprefix("Divergence")).inc()
        if change.closed_at and change.window.opened_at:
            runtime.metrics.divergence_duration.labels(change.window.kind).observe(max(0.0, (
                datetime.fromisoformat(change.closed_at)
                - datetime.fromisoformat(change.window.opened_at)).total_seconds()))
    if after is None:
        if before is not None:
            del table[key]
    elif after != before:
        table[key] = after.to_json()


async def _heal(runtime: Runtime, heal: Heal, window: Window, now: datetime
                ) -> list[Change]:
    if window.kind not in runtime.settings.divergence_heal:
        return []
    action = await heal(window)
    if action is None:
        return []
    runtime.metrics.divergence_actions.labels(window.kind).inc()
    return acted(window, action, now)[1]


def _record(change: Change) -> dict[str, Any]:
    window = change.window
    return {"window_id": window.window_id, "kind": window.kind, "subject": window.subject,
            "first_seen_at": datetime.fromisoformat(window.since),
            "opened_at": datetime.fromisoformat(window.opened_at or window.since),
            "closed_at": datetime.fromisoformat(change.closed_at) if change.closed_at
            else None,
            "store_value": window.sides.store[:500], "erp_value": window.sides.erp[:500],
            "cause": window.sides.cause[:500], "action": window.action}


def windows(settings: Settings, codec: Codec) -> list[dict[str, Any]]:
    """Every window in its last state, newest opened first."""
    read = read_compacted(settings, codec, topics.DIVERGENCE_WINDOWS.name)
    rows = []
    for message in read.latest.values():
        window = message.body["window"]
        rows.append({
            **{k: window[k] for k in ("window_id", "kind", "subject", "store_value",
                                      "erp_value", "cause", "action")},
            "state": "closed" if window["closed_at"] else "open",
            "first_seen_at": window["first_seen_at"].isoformat(),
            "opened_at": window["opened_at"].isoformat(),
            "closed_at": window["closed_at"].isoformat() if window["closed_at"] else None})
    return sorted(rows, key=lambda r: (r["opened_at"], r["window_id"]), reverse=True)
