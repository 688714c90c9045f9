"""Snapshot versions: duplicates, reordering and replays change nothing; the newest
snapshot wins; equal timestamps with different content ask for a re-read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tables.snapshots import Seen, Verdict, judge


def test_verdicts() -> None:
    seen = Seen("2026-11-28T07:00:01", "aaa")
    assert judge(None, "2026-11-28T07:00:01", "aaa") is Verdict.NEW
    assert judge(seen, "2026-11-28T07:00:02", "bbb") is Verdict.NEW
    assert judge(seen, "2026-11-28T07:00:00", "bbb") is Verdict.STALE
    assert judge(seen, "2026-11-28T07:00:01", "aaa") is Verdict.SAME
    assert judge(seen, "2026-11-28T07:00:01", "bbb") is Verdict.CONFLICT


def test_seen_survives_its_json_form() -> None:
    seen = Seen("2026-11-28T07:00:01", "aaa", "HOT-01", ("woo:s:refund:1",))
    assert Seen.from_json(seen.to_json()) == seen
    assert Seen.from_json({}) is None


snapshots = st.lists(st.tuples(st.integers(0, 20), st.sampled_from("abc")), min_size=1,
                     max_size=30)


@given(snapshots, st.randoms())
def test_any_order_or_duplication_ends_at_the_newest_version(items: list[tuple[int, str]],
                                                             rnd: object) -> None:
    def run(order: list[tuple[int, str]]) -> tuple[str, list[str]]:
        seen: Seen | None = None
        published = []
        for second, content in order:
            stamp = f"2026-11-28T07:00:{second:02d}"
            verdict = judge(seen, stamp, content)
            if verdict in (Verdict.NEW, Verdict.CONFLICT):
                seen = Seen(stamp, content)
                published.append(stamp)
        assert seen is not None
        return seen.modified, published

    shuffled = list(items) * 2
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    final, published = run(shuffled)
    assert final == f"2026-11-28T07:00:{max(s for s, _ in items):02d}"
    # Never goes back in time.
    assert published == sorted(published)


def test_only_order_versions_older_than_the_horizon_are_prunable() -> None:
    from tables.snapshots import prunable

    old = Seen("2026-01-01T00:00:00+00:00", "d")
    assert prunable(b"demo:order:7", old, "2026-06-01T00:00:00+00:00")
    assert not prunable(b"demo:order:7", old, "2025-06-01T00:00:00+00:00")
    assert not prunable(b"demo:product:7", old, "2026-06-01T00:00:00+00:00")
