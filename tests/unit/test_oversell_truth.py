"""The oversell benchmark's truth: a checkout oversells the units beyond the ERP's
latest count less what the store had already accepted, whichever way it was played."""

from __future__ import annotations

from benchmarks.oversell_bench import Played, Trace, make_trace, oversold


def test_units_beyond_the_latest_count_less_the_accepted_are_oversold() -> None:
    trace = Trace(start=5, checkouts=[], losses=[])
    played = Played(accepted=[(1.0, "HOT-01", 2), (2.0, "HOT-01", 2), (4.0, "HOT-01", 2),
                              (5.0, "HOT-02", 1)],
                    counts=[(3.0, "HOT-01", 4)])
    # 5 then 3 left; the count at 3 s says 4 in all, so 0 left: the third oversells 2.
    assert oversold(trace, played) == {"HOT-01": 2, "HOT-02": 0, "HOT-03": 0, "HOT-04": 0}


def test_the_trace_is_the_same_for_a_seed() -> None:
    a, b = make_trace(30, 5, seed=9), make_trace(30, 5, seed=9)
    assert a == b and a.checkouts and a.losses
    assert make_trace(30, 5, seed=10) != a
