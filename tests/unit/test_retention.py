"""The replay guard's judgement (streams.retention.is_replay): an input is a replay of
forgotten history only when its subject has no row and it is older than the horizon its
partition pruned up to."""

from __future__ import annotations

from streams.retention import is_replay

PRUNED = "2026-11-01T00:00:00+00:00"
OLDER, NEWER = "2026-10-31T23:59:00+00:00", "2026-11-01T00:01:00+00:00"


def test_an_older_input_about_a_subject_without_a_row_is_a_replay() -> None:
    assert is_replay(PRUNED, has_row=False, version=OLDER)


def test_a_row_a_newer_input_no_version_or_no_pruning_never_is() -> None:
    assert not is_replay(PRUNED, has_row=True, version=OLDER)  # the row still decides
    assert not is_replay(PRUNED, has_row=False, version=NEWER)
    assert not is_replay(PRUNED, has_row=False, version=None)
    assert not is_replay(None, has_row=False, version=OLDER)  # before the first pruning
