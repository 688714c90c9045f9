"""A real, single-node Apache Kafka broker (KRaft) for development, tests and the demo.

Consumes nothing but Java 17+, Maven and Maven Central. Produces a running broker: the
jars of ``kafka/pom.xml`` are resolved once into a per-user cache
(``$XDG_CACHE_HOME/woosync/kafka-<version>``), KRaft storage is formatted in the data
directory, ``kafka.Kafka`` is started on the chosen (or a free) port, and ``start``
returns once the broker answers a metadata request. Failures say why (no Java, Java too
old, port taken, Maven Central unreachable, broker exited) instead of hanging.

The verified recipe is written down in docs/kafka.md.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack.supervise import die_with_parent, terminate
from streams.errors import BrokerError

KAFKA_VERSION = "4.1.1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
POM = PROJECT_ROOT / "kafka" / "pom.xml"
LOG_CONFIG = PROJECT_ROOT / "kafka" / "log4j2.properties"
MIN_JAVA = 17


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "woosync"


def java_binary() -> str:
    """The java to run the broker with; Kafka 4.x brokers need Java 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise BrokerError("Java not found: install Java 17+ (or set JAVA_HOME)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise BrokerError(f"Java {MIN_JAVA}+ is needed for Kafka {KAFKA_VERSION}, found"
                          f" {major or 'an unknown version'} at {java}")
    return java


def fetch_jars(version: str = KAFKA_VERSION) -> Path:
    """Resolve the broker's jars with Maven once; later calls return the cached folder."""
    libs = cache_root() / f"kafka-{version}" / "libs"
    marker = libs.parent / "complete"
    if marker.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven (mvn) not found: it fetches Kafka's jars from Maven Central")
    libs.parent.mkdir(parents=True, exist_ok=True)
    # Two processes (two test runs, a test and the demo) may fetch at once: one does it.
    with open(libs.parent / "fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return libs
        staging = libs.parent / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
             f"-Dkafka.version={version}", f"-DoutputDirectory={staging}"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise BrokerError(
                f"Maven could not resolve Kafka {version} (is Maven Central reachable?):\n{tail}"
            )
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        marker.write_text(version + "\n")
    return libs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def server_properties(port: int, controller_port: int, log_dir: Path, node_id: int = 1,
                      voters: str | None = None, replicas: int = 1) -> str:
    """One node's configuration: broker and controller in one process. ``voters`` is the
    controller quorum (``id@host:port,...``; this node alone when None); ``replicas`` the
    replication of the internal topics, and with more than one replica, writes need two
    in sync (``min.insync.replicas=2``)."""
    insync = 2 if replicas >= 3 else 1
    return "\n".join([
        "process.roles=broker,controller",
        f"node.id={node_id}",
        f"controller.quorum.voters={voters or f'{node_id}@127.0.0.1:{controller_port}'}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name=PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={log_dir}",
        "num.partitions=1",
        # Internal topics as replicated as the cluster allows (one broker: 1).
        f"offsets.topic.replication.factor={replicas}",
        "offsets.topic.num.partitions=1",
        f"transaction.state.log.replication.factor={replicas}",
        f"transaction.state.log.min.isr={insync}",
        f"share.coordinator.state.topic.replication.factor={replicas}",
        f"share.coordinator.state.topic.min.isr={insync}",
        # Topics Faust creates itself (changelogs) get this; woosync's set their own.
        f"default.replication.factor={replicas}",
        f"min.insync.replicas={insync}",
        # The default 3 s delay only slows the first rebalance of every test.
        "group.initial.rebalance.delay.ms=0",
        # woosync creates its topics explicitly (streams.admin); Faust's changelog and
        # reply topics are created by Faust itself.
        "auto.create.topics.enable=false",
        "",
    ])


@dataclass
class LocalKafka:
    """One broker process; ``start`` and ``stop`` it, or use it as a context manager."""

    data_dir: Path
    port: int = 0
    controller_port: int = 0
    heap: str = "512m"
    version: str = KAFKA_VERSION
    # In a cluster (LocalKafkaCluster): this node's id, the quorum, one shared cluster id.
    node_id: int = 1
    voters: str | None = None
    replicas: int = 1
    cluster_id: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def start(self, timeout: float = 90.0) -> LocalKafka:
        java = java_binary()
        libs = fetch_jars(self.version)
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        for port in (self.port, self.controller_port):
            if port_in_use(port):
                raise BrokerError(f"port {port} is taken: another broker or program uses it"
                                  " (choose another with --port)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = self.data_dir / "server.properties"
        log_dir = self.data_dir / "kraft-logs"
        props.write_text(server_properties(self.port, self.controller_port, log_dir,
                                           self.node_id, self.voters, self.replicas))
        classpath = f"{libs}/*"
        jvm = [java, f"-Xmx{self.heap}", f"-Xms{self.heap}",
               f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}", "-cp", classpath]
        if not (log_dir / "meta.properties").exists():
            fmt = subprocess.run(
                # "=" form: a random id may start with "-" and read as an option.
                [*jvm, "kafka.tools.StorageTool", "format",
                 f"--cluster-id={self.cluster_id or _cluster_id()}",
                 "--config", str(props)], capture_output=True, text=True, check=False,
            )
            if fmt.returncode != 0:
                raise BrokerError(f"formatting KRaft storage failed:\n{fmt.stderr[-2000:]}")
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [*jvm, "kafka.Kafka", str(props)], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, # The broker shuts down cleanly on SIGTERM.
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        if self.voters is None:  # a cluster node answers only once the quorum is up
            self._wait_ready(timeout)
        return self

    def kill(self) -> None:
        """SIGKILL: what a crashed broker looks like to its clients and peers."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)
            self.process = None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BrokerError(f"the broker exited with code {self.process.returncode};"
                                  f" last lines of {self.log_file}:\n{self._log_tail()}")
            if answers_metadata(self.bootstrap):
                return
            time.sleep(0.3)
        self.stop()
        raise BrokerError(f"the broker did not answer within {timeout:.0f}s;"
                          f" last lines of {self.log_file}:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM first (a controlled shutdown), then SIGKILL if it lingers."""
        proc, self.process = self.process, None
        terminate(proc, timeout)

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class LocalKafkaCluster:
    """``size`` KRaft nodes (each broker and controller) on loopback, one quorum, one
    cluster id: the production shape, for the fault suites. Internal topics are
    replicated to every node (up to 3) with two in sync; woosync's topics take
    ``replication_factor`` and ``min_insync_replicas`` from the settings."""

    data_dir: Path
    size: int = 3
    heap: str = "384m"
    nodes: list[LocalKafka] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def start(self, timeout: float = 120.0) -> LocalKafkaCluster:
        if not self.nodes:
            ports = [(free_port(), free_port()) for _ in range(self.size)]
            voters = ",".join(f"{n + 1}@127.0.0.1:{c}" for n, (_, c) in enumerate(ports))
            cluster_id = _cluster_id()
            self.nodes = [LocalKafka(self.data_dir / f"node{n + 1}", port, controller,
                                     self.heap, node_id=n + 1, voters=voters,
                                     replicas=min(3, self.size), cluster_id=cluster_id)
                          for n, (port, controller) in enumerate(ports)]
        for node in self.nodes:
            if node.process is None:
                node.start(timeout)
        deadline = time.monotonic() + timeout
        while not all(answers_metadata(node.bootstrap) for node in self.nodes):
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"the {self.size}-node cluster did not form within"
                                  f" {timeout:.0f}s")
            time.sleep(0.5)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> LocalKafkaCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def answers_metadata(bootstrap: str) -> bool:
    """True once the broker serves a metadata request (it is then ready for clients)."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    host, _, port = bootstrap.rpartition(":")
    if not port_in_use(int(port), host):
        return False  # not listening yet: skip the client, which logs every refusal
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000,
                                 bootstrap_timeout_ms=3000)
    except (KafkaError, OSError):
        return False
    try:
        admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _cluster_id() -> str:
    # KRaft wants a base64url-encoded 16-byte UUID without padding.
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
