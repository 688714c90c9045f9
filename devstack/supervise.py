"""Child processes that woosync's own tools start and stop: worker processes for the
demo and the tests. A process is ready when its log shows a given line; it is stopped
with SIGTERM (Faust's clean shutdown) and killed only if it lingers. Its output goes to a
log file, whose tail is in every error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streams.errors import WoosyncError

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """For ``preexec_fn`` (Linux): the child gets ``sig`` when the process that started it
    dies, even by SIGKILL, so that no worker, broker or ERP outlives an interrupted test,
    demo or benchmark (a worker left behind spins on a vanished broker and skews every
    later measurement). The signal follows the starting thread: start from the main one."""
    def arm() -> None:
        if not sys.platform.startswith("linux"):
            return
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
        except OSError:
            pass
    return arm


def terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    """SIGTERM first (a controlled shutdown), then SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@dataclass
class ManagedProcess:
    args: list[str]
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, ready_line: str, timeout: float = 90.0) -> ManagedProcess:
        return self.wait_ready(self.spawn(), ready_line, timeout)

    def spawn(self) -> int:
        """Start the process without waiting for it; returns the log offset its output
        starts at (for ``wait_ready``). Call from the thread that outlives the process:
        it dies with that thread (die_with_parent)."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **self.env},
                                            preexec_fn=die_with_parent())
        return offset

    def wait_ready(self, offset: int, ready_line: str, timeout: float = 90.0
                   ) -> ManagedProcess:
        """Wait until the log (from ``offset``) shows ``ready_line``."""
        assert self.process is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise WoosyncError(f"{self.args[-1]} exited with {self.process.returncode}:"
                                   f"\n{self.tail()}")
            if ready_line in self._read_from(offset):
                return self
            time.sleep(0.2)
        self.stop()
        raise WoosyncError(f"{self.args} not ready within {timeout:.0f}s:\n{self.tail()}")

    def _read_from(self, offset: int) -> str:
        with open(self.log_file, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self._read_from(0).splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        proc, self.process = self.process, None
        terminate(proc, timeout)

    def kill(self) -> None:
        """SIGKILL: what a crash looks like to Kafka and to the tables."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def worker_process(log_file: Path, env: dict[str, str],
                   module: str = "streams.cli") -> ManagedProcess:
    """A ``woosync worker`` (or a test app's worker module) as a child process."""
    args = [sys.executable, "-m", module] + (["worker"] if module == "streams.cli" else [])
    return ManagedProcess(args, log_file, env)


WORKER_READY = "[^Worker]: Ready"
