"""Child processes started by woosync's tools: a process spawned on the main thread and
waited for on other threads keeps running after those threads end (a child dies with the
thread that started it, so the benchmarks start their workers from the main thread)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devstack.supervise import ManagedProcess
from streams.errors import WoosyncError

CHILD = "import time; print('ready', flush=True); time.sleep(60)"


def test_a_process_waited_for_on_a_pool_outlives_the_pool(tmp_path: Path) -> None:
    processes = [ManagedProcess([sys.executable, "-c", CHILD], tmp_path / f"{n}.log")
                 for n in range(2)]
    offsets = [p.spawn() for p in processes]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda p, o: p.wait_ready(o, "ready", timeout=30), processes,
                          offsets))
        assert all(p.running for p in processes)
    finally:
        for p in processes:
            p.kill()


def test_a_process_that_exits_before_it_is_ready_is_an_error(tmp_path: Path) -> None:
    process = ManagedProcess([sys.executable, "-c", "raise SystemExit(3)"],
                             tmp_path / "x.log")
    with pytest.raises(WoosyncError, match="exited with 3"):
        process.start("ready", timeout=30)
