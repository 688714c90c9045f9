"""Fixtures more than one test tier uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack import seed_data
from woo_emulator.config import EmulatorConfig
from woo_emulator.runner import EmulatorThread


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    """The emulator with the demo catalogue, in a thread; times scaled so that its
    webhook queue runs in 50 ms instead of a second."""
    thread = EmulatorThread(EmulatorConfig(time_scale=0.05),
                            catalogue=seed_data.store_catalogue()).start()
    yield thread
    thread.stop()
