"""A worker as operators run it: ``drx run <service>`` in its own OS process, logging to a file.

One runner for everything that needs a worker outside the test's process: the tests that stop
workers with signals (tests/integration/test_operations*.py), the fault suite's supervisor
(tests/faults/harness.py) and the end-to-end benchmark (benchmarks/pipeline.py). The benchmarks
import it too, so it imports nothing that only the tests install (no pytest, no hypothesis).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.infra._process import free_port
from tests.support.cli import DRX
from tests.support.kafka import eventually

__all__ = ["Samples", "WorkerProcess", "metric"]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (name, sorted labels) -> value


@dataclass
class WorkerProcess:
    """``drx run <service>`` with ``env`` over ``os.environ``, its output appended to ``log``.

    ``env`` holds the ``DRX_*`` settings (``tests.support.cli.settings_env`` makes them from a
    :class:`~shared.config.Settings`). The health server listens on ``health_port`` on 127.0.0.1;
    0 turns it off, as the setting does.
    """

    service: str
    env: Mapping[str, str]
    log: Path
    health_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, **extra: str) -> None:
        """Start the process; ``extra`` variables for this start only."""
        env = {
            **os.environ,
            **self.env,
            "DRX_HEALTH_HOST": "127.0.0.1",
            "DRX_HEALTH_PORT": str(self.health_port),
            **extra,
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*DRX, "run", self.service], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    async def get(self, path: str) -> httpx.Response:
        """GET ``path`` from the health server (``/livez``, ``/readyz``, ``/metrics``)."""
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.health_port}", timeout=5) as client:
            return await client.get(path)

    async def wait_ready(self, timeout: float = 120) -> None:
        """Until ``/readyz`` answers 200: consuming, and Kafka and PostgreSQL answer."""
        assert self.health_port, "the health server is off"

        async def ready() -> bool:
            if self.exited:
                assert self.process is not None
                msg = f"drx run {self.service} exited with {self.process.returncode}:\n{self.tail()}"
                raise RuntimeError(msg)
            try:
                return (await self.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, timeout, f"/readyz of {self.service} to answer 200")

    async def metrics(self) -> Samples:
        """Every sample ``/metrics`` shows now."""
        response = await self.get("/metrics")
        assert response.status_code == 200, response.text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM (the graceful-shutdown path) and the exit code; killed if not gone within ``timeout``.

        Raises ``subprocess.TimeoutExpired`` after killing it: a worker that ignores SIGTERM is news.
        """
        assert self.process is not None, "not started"
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def stop(self, timeout: float = 60) -> None:
        """Whatever state it is in: SIGTERM if it runs, kill -9 if that takes over ``timeout``."""
        if self.process is None or self.exited:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):  # then it was killed
            self.terminate(timeout)

    def kill(self) -> None:
        """kill -9, if it still runs, and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 40) -> str:
        """The last lines of its log, for failure messages."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def metric(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of one series in ``samples`` (from :meth:`WorkerProcess.metrics`), or None."""
    return samples.get((name, tuple(sorted(labels.items()))))
