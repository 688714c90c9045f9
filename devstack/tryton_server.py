"""A throwaway Tryton ERP for the demo and the tests.

``build_template`` creates, once per combination of Tryton versions and seed code, a
SQLite database with the modules woosync needs (sale, stock, invoicing, price lists,
and woosync's own connector module) and the retail seed data, and caches it under
``$XDG_CACHE_HOME/woosync/tryton-<key>/``. ``TrytonServer`` copies that template into a
work dir and runs ``trytond`` on it (a running trytond serves only the databases it was
started with, so each copy gets its own server), and waits until JSON-RPC login works.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from devstack import seed_data
from devstack.kafka_broker import cache_root, free_port, port_in_use
from devstack.supervise import die_with_parent, terminate
from streams.errors import WoosyncError

# Not sale_stock_quantity: it refuses to quote a sale the warehouse cannot cover, but a
# store order is already taken and paid; the ERP must record it (oversold or not).
MODULES = ("sale", "sale_price_list", "account_invoice_stock", "product_price_list",
           "product_price_list_dates", "woosync")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The throwaway database's admin (tests use it to act as a person in the ERP would).
ADMIN_PASSWORD = "admin-password"


class ErpStartError(WoosyncError):
    """The throwaway Tryton could not be built or started."""


def _bin(name: str) -> str:
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise ErpStartError(f"{name} not found next to {sys.executable}: is trytond installed?")
    return str(path)


def _env() -> dict[str, str]:
    # Tryton stamps records with the server process's local time on SQLite: keep it UTC,
    # the scale every woosync timestamp uses.
    return {**os.environ, "TZ": "UTC"}


def template_key() -> str:
    digest = hashlib.sha256(" ".join(MODULES).encode())
    for dist in sorted(d.metadata["Name"] for d in metadata.distributions()
                       if d.metadata["Name"].lower().startswith(("trytond", "proteus"))):
        digest.update(f"{dist}={metadata.version(dist)}".encode())
    for path in sorted((PROJECT_ROOT / "trytond_woosync").glob("*.*")):
        digest.update(path.read_bytes())
    for path in (Path(seed_data.__file__), PROJECT_ROOT / "devstack/tryton_seed.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def write_config(directory: Path, port: int) -> Path:
    config = directory / "trytond.conf"
    config.write_text(
        "[database]\nuri = sqlite://\n"
        f"path = {directory}\n"
        "[web]\n"
        f"listen = 127.0.0.1:{port}\n"
        "[session]\n"
        # The integration user works unattended: a fresh-session check on invoice
        # posting must not fail just because the service was idle for five minutes.
        "timeout = 86400\n"
    )
    return config


def build_template() -> Path:
    """The seeded template database (built on first use; about 25 s)."""
    home = cache_root() / f"tryton-{template_key()}"
    db_file = home / f"{seed_data.DATABASE}.sqlite"
    if (home / "complete").exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / "complete").exists():
            return home
        work = Path(tempfile.mkdtemp(prefix="tryton-build-", dir=home))
        config = write_config(work, free_port())
        (work / f"{seed_data.DATABASE}.sqlite").touch()
        password = work / "admin-password"
        password.write_text(ADMIN_PASSWORD + "\n")
        steps = [
            [_bin("trytond-admin"), "-c", str(config), "-d", seed_data.DATABASE, "--all",
             "--email", "admin@example.com", "-u", *MODULES, "--activate-dependencies"],
            [sys.executable, "-m", "devstack.tryton_seed", str(config),
             seed_data.DATABASE, str(work / "ids.json")],
        ]
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, check=False,
                                    env={**_env(), "TRYTONPASSFILE": str(password)},
                                    cwd=PROJECT_ROOT)
            if result.returncode != 0:
                raise ErpStartError(f"building the Tryton template failed at {step[:2]}:\n"
                                    f"{(result.stdout + result.stderr)[-3000:]}")
        shutil.move(str(work / f"{seed_data.DATABASE}.sqlite"), db_file)
        shutil.move(str(work / "ids.json"), home / "ids.json")
        shutil.rmtree(work, ignore_errors=True)
        (home / "complete").write_text("ok\n")
    return home


@dataclass
class TrytonServer:
    """One trytond on its own copy of the template; ``start`` and ``stop`` it."""

    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    ids: dict[str, Any] = field(default_factory=dict, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "trytond.log"

    def start(self, timeout: float = 60.0) -> TrytonServer:
        template = build_template()
        self.workdir.mkdir(parents=True, exist_ok=True)
        db_file = self.workdir / f"{seed_data.DATABASE}.sqlite"
        if not db_file.exists():
            shutil.copy(template / db_file.name, db_file)
        self.ids = json.loads((template / "ids.json").read_text())
        self.port = self.port or free_port()
        if port_in_use(self.port):
            raise ErpStartError(f"port {self.port} is taken")
        config = write_config(self.workdir, self.port)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [_bin("trytond"), "-c", str(config), "-d", seed_data.DATABASE],
                stdout=log, stderr=subprocess.STDOUT, env=_env(), cwd=self.workdir,
                preexec_fn=die_with_parent(signal.SIGTERM))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ErpStartError(f"trytond exited with {self.process.returncode}:\n"
                                    f"{self.log_file.read_text()[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise ErpStartError(f"trytond did not answer within {timeout:.0f}s")

    def _answers(self) -> bool:
        request = urllib.request.Request(
            f"{self.url}/{seed_data.DATABASE}/rpc/",
            data=json.dumps({"id": 0, "method": "common.db.login", "params": [
                seed_data.INTEGRATION_LOGIN, {"password": seed_data.INTEGRATION_PASSWORD},
                "en"]}).encode(),
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return "result" in json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self) -> None:
        proc, self.process = self.process, None
        terminate(proc, 15)

    def __enter__(self) -> TrytonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
