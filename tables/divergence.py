"""Divergence windows: when two systems disagree about one subject, and for how long. Pure.

A window is about one (kind, subject): a SKU's stock in one store against what woosync
published, an order's sale in the ERP, a command the outside system refused. Each
observation gives both sides' values (as text, for people; as numbers where the kind
compares amounts) and whether they agree within the kind's tolerance:

- a first disagreement only makes the subject *suspect* (nothing is published): a
  disagreement that ends within the kind's grace period (its SLA) was a change in
  flight, not a divergence, and never opens a window; so a window never flaps on noise;
- a disagreement still there once the grace period has passed opens the window
  (DivergenceOpened), once per episode; the window's id is derived from the kind, the
  subject and when the disagreement began, so a replay opens the same window;
- while open, a change of either side's value is a DivergenceUpdated;
- agreement closes it (DivergenceClosed) and the subject is forgotten, so the next
  disagreement is a new episode with a new window.

Time only moves forward through ``now`` (observation or tick); nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

SUSPECT, OPEN = "suspect", "open"


@dataclass(frozen=True)
class Rule:
    """How a kind is judged: the largest difference that is still agreement, and how long
    a disagreement may last before it is a divergence (the kind's SLA)."""

    tolerance: Decimal = Decimal(0)
    grace: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Sides:
    """Both systems' views of the subject, as people read them, and the likely cause."""

    store: str
    erp: str
    cause: str = ""


@dataclass(frozen=True)
class Window:
    kind: str
    subject: str
    state: str  # suspect | open
    since: str  # when the disagreement began (ISO, UTC)
    sides: Sides
    window_id: str = ""
    opened_at: str | None = None
    action: str | None = None
    acted_at: str | None = None  # when self-healing last acted on it

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "sides": asdict(self.sides)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Window | None:
        if not data:
            return None
        return cls(**{**data, "sides": Sides(**data["sides"])})

    def heal_due(self, now: datetime, every: timedelta) -> bool:
        """Open, and self-healing has not acted on it within ``every``."""
        return self.state == OPEN and (self.acted_at is None or now - datetime.fromisoformat(
            self.acted_at) >= every)


@dataclass(frozen=True)
class Fact:
    """One judgement of a subject by a kind's rule: whether the sides agree (apart from
    amounts), both sides, and the amounts when the kind compares amounts (the rule's
    tolerance applies). The subject starts with the key of the partition it lives on."""

    kind: str
    subject: str
    agreeing: bool
    sides: Sides
    store_amount: Decimal | None = None
    erp_amount: Decimal | None = None
    since: str | None = None  # when the disagreement began, if known better than "now"


@dataclass(frozen=True)
class Change:
    """A window event to publish: DivergenceOpened, DivergenceUpdated, DivergenceClosed,
    with the window as it stands (closed_at set on a close)."""

    name: str
    window: Window
    closed_at: str | None = None


def agree(store: Decimal | str | None, erp: Decimal | str | None, rule: Rule) -> bool:
    """Numbers agree within the tolerance; anything else agrees when equal."""
    if isinstance(store, Decimal) and isinstance(erp, Decimal):
        return abs(store - erp) <= rule.tolerance
    return store == erp


def window_id(kind: str, subject: str, since: str) -> str:
    return f"{kind}|{subject}|{since}"


def observe(window: Window | None, kind: str, subject: str, agreeing: bool, sides: Sides,
            now: datetime, rule: Rule, since: str | None = None
            ) -> tuple[Window | None, list[Change]]:
    """One observation of both sides of ``subject``: the window's next state (None: no
    disagreement) and what to publish. ``since``: when a new disagreement began, when
    the observation knows (a silence began at the last thing heard); else now."""
    at = now.isoformat()
    if agreeing:
        if window is not None and window.state == OPEN:
            return None, [Change("DivergenceClosed", replace(window, sides=sides), at)]
        return None, []
    if window is None:
        window = Window(kind, subject, SUSPECT, min(since or at, at), sides)
        return tick(window, now, rule)
    if window.state == OPEN:
        if sides != window.sides:
            window = replace(window, sides=sides)
            return window, [Change("DivergenceUpdated", window)]
        return window, []
    return tick(replace(window, sides=sides), now, rule)


def tick(window: Window | None, now: datetime, rule: Rule
         ) -> tuple[Window | None, list[Change]]:
    """Time passing: a suspect disagreement older than the grace period opens."""
    if window is None or window.state == OPEN:
        return window, []
    if now - datetime.fromisoformat(window.since) < rule.grace:
        return window, []
    opened = replace(window, state=OPEN, opened_at=now.isoformat(),
                     window_id=window_id(window.kind, window.subject, window.since))
    return opened, [Change("DivergenceOpened", opened)]


def acted(window: Window, action: str, now: datetime) -> tuple[Window, list[Change]]:
    """Self-healing took ``action`` for an open window: recorded on it."""
    updated = replace(window, action=action, acted_at=now.isoformat())
    return updated, [Change("DivergenceUpdated", updated)] if window.state == OPEN else []
