"""Run a real single-node Apache Kafka 4.x broker (KRaft, combined mode) from Maven Central jars.

Used by the test fixtures, CI and ``drx dev up --kafka apache``. The jars are resolved once with
Maven into a cache outside the repository (``$DRX_CACHE_DIR``, default ``~/.cache/drx``); every
start formats a fresh KRaft data directory, binds free 127.0.0.1 ports, and is ready only after a
real produce/consume round trip. Children die with their parent (Linux PDEATHSIG), so a killed
test run leaves no JVM behind.

    with ApacheKafkaServer() as kafka:
        print(kafka.bootstrap_servers)
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Coroutine
from importlib import resources
from pathlib import Path
from typing import Any

from shared.infra._process import LocalServer, free_port, pid_alive, port_accepts, spawn, stop_process
from shared.infra.probe import kafka_round_trip

__all__ = ["ApacheKafkaServer", "KafkaLauncherError", "cache_dir", "ensure_kafka_jars", "kafka_version"]

_RUNTIME = resources.files("shared.infra") / "kafka-runtime"


class KafkaLauncherError(RuntimeError):
    """The broker could not be fetched, formatted or started; the message says why."""


def cache_dir() -> Path:
    """Where downloaded jars live: ``$DRX_CACHE_DIR``, else ``$XDG_CACHE_HOME/drx``, else ``~/.cache/drx``."""
    if explicit := os.environ.get("DRX_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "drx"


def kafka_version() -> str:
    """The Kafka release pinned in the runtime POM."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", _RUNTIME.joinpath("pom.xml").read_text())
    if match is None:  # pragma: no cover - the POM ships with the package
        msg = "kafka-runtime/pom.xml has no <kafka.version>"
        raise KafkaLauncherError(msg)
    return match.group(1)


def ensure_kafka_jars() -> Path:
    """Return the directory of broker jars, downloading them with Maven the first time."""
    libs = cache_dir() / f"kafka-{kafka_version()}" / "libs"
    if (libs / ".complete").exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        msg = "Maven (mvn) is needed once to fetch the Apache Kafka jars; install it (apt-get install maven)"
        raise KafkaLauncherError(msg)
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs.", dir=libs.parent))
    with resources.as_file(_RUNTIME.joinpath("pom.xml")) as pom:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    if result.returncode != 0 or not list(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        msg = f"fetching Kafka jars with Maven failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        raise KafkaLauncherError(msg)
    (staging / ".complete").touch()
    try:
        staging.rename(libs)
    except OSError:  # another process finished first: theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return libs


def _cluster_id() -> str:
    while True:  # Kafka's own format; an id starting with "-" would be read as an option
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not candidate.startswith("-"):
            return candidate


_SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir}
num.partitions=1
default.replication.factor=1
# Topics are provisioned explicitly (drx topics create); auto-creation would hide a missing step.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=33554432
log.segment.bytes=16777216
delete.topic.enable=true
"""


class ApacheKafkaServer(LocalServer):
    """One broker+controller JVM on free loopback ports, with a throwaway (or given) data dir."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        heap_mb: int = 512,
        port: int | None = None,
        tied_to_parent: bool = True,
    ) -> None:
        self._given_workdir = workdir
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="drx-kafka-"))
        self.workdir.mkdir(parents=True, exist_ok=True)  # a given workdir (drx dev up) may not exist yet
        self.heap_mb = heap_mb
        self.port = port or free_port()
        self.controller_port = free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.tied_to_parent = tied_to_parent
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "broker.log"

    def _java(self) -> list[str]:
        java = shutil.which("java")
        if java is None:
            msg = "Java 17+ is needed to run Apache Kafka; install a JDK (openjdk-17-jre-headless)"
            raise KafkaLauncherError(msg)
        with resources.as_file(_RUNTIME.joinpath("log4j2.properties")) as log_config:
            shutil.copy(log_config, self.workdir / "log4j2.properties")
        return [
            java,
            f"-Xms{min(256, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp",
            f"{ensure_kafka_jars()}/*",
        ]

    def start(self, timeout: float = 120.0) -> str:
        """Format storage, start the JVM, wait for a real round trip; return the bootstrap servers."""
        deadline = time.monotonic() + timeout
        java = self._java()
        data_dir = self.workdir / "data"
        config = self.workdir / "server.properties"
        fresh = not (data_dir / "meta.properties").exists()
        config.write_text(self._server_properties(data_dir))
        if fresh:
            fmt = subprocess.run(  # noqa: S603 - fixed argv
                [
                    *java,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    f"--cluster-id={_cluster_id()}",
                    "--config",
                    str(config),
                    *self._format_options(),
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
            )
            if fmt.returncode != 0:
                msg = f"formatting KRaft storage failed:\n{fmt.stdout}{fmt.stderr}"
                raise KafkaLauncherError(msg)
        self._process = spawn(
            [*java, "kafka.Kafka", str(config)], self.log_path, tied_to_parent=self.tied_to_parent
        )
        self.pid = self._process.pid
        atexit.register(self.stop)
        self._wait_ready(deadline)
        return self.bootstrap_servers

    def _server_properties(self, data_dir: Path) -> str:
        """The broker's ``server.properties``; a subclass (``kafka_secure.py``) writes its own."""
        return _SERVER_PROPERTIES.format(
            port=self.port, controller_port=self.controller_port, data_dir=data_dir
        )

    def _format_options(self) -> list[str]:
        """Extra ``kafka-storage format`` options (the secure broker's SCRAM users); none here."""
        return []

    def _probe(self, timeout: float) -> Coroutine[Any, Any, None]:
        """The readiness round trip, with the clients' connection options."""
        return kafka_round_trip(self.bootstrap_servers, timeout=timeout)

    def _wait_ready(self, deadline: float) -> None:
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                msg = f"Kafka exited with code {self._process.returncode}:\n{self.log_tail()}"
                raise KafkaLauncherError(msg)
            if not port_accepts(self.port):
                time.sleep(0.2)
                continue
            try:
                _run_apart(self._probe(max(5.0, deadline - time.monotonic())))
            except Exception as error:  # noqa: BLE001 - any failure means "not ready yet"
                last_error = error
                time.sleep(0.5)
            else:
                return
        self.stop()
        msg = f"Kafka did not become ready in time (last error: {last_error!r}):\n{self.log_tail()}"
        raise KafkaLauncherError(msg)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def is_running(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """Controlled shutdown (SIGTERM), SIGKILL after ``timeout``; remove a throwaway data dir."""
        if self.pid is not None:
            stop_process(self.pid, timeout)
            if self._process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(1)
            self.pid = None
        atexit.unregister(self.stop)
        if self._given_workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self, timeout: float = 120.0) -> None:
        """Stop and start again on the same ports and data (for fault tests)."""
        keep, self._given_workdir = self._given_workdir, self.workdir
        try:
            self.stop()
        finally:
            self._given_workdir = keep
        self.start(timeout)


def _run_apart(probe: Coroutine[Any, Any, None]) -> None:
    """Run ``probe`` to completion from synchronous code, even inside a running event loop.

    A restart from a test's event loop must happen on that thread (the broker is tied to the
    thread that started it, see ``die_with_parent``), yet ``asyncio.run`` refuses to nest: the
    probe then gets a short-lived thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(probe)
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, probe).result()
