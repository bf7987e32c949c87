"""Small process and port helpers shared by the launchers (Apache Kafka, tansu, PostgreSQL).

:class:`LocalServer` is what every launcher is (``with server:`` starts and stops it);
:func:`spawn` starts a child process the way the broker launchers do.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "LocalServer",
    "die_with_parent",
    "free_port",
    "pid_alive",
    "port_accepts",
    "spawn",
    "stop_process",
    "wait_until",
]

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def die_with_parent() -> None:
    """``preexec_fn`` for children that must not outlive us (Linux: PR_SET_PDEATHSIG=SIGTERM).

    This is what keeps a killed pytest run from leaving a broker JVM behind.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalServer(ABC):
    """A server this process starts and stops; ``with server:`` starts it and stops it after."""

    @abstractmethod
    def start(self) -> str:
        """Start the server and wait until it answers; return where to reach it."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the server and remove what it leaves behind that nobody asked to keep."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def spawn(argv: list[str], log_path: Path, *, tied_to_parent: bool) -> subprocess.Popen[bytes]:
    """Start ``argv`` with its output appended to ``log_path``.

    ``tied_to_parent``: the child dies with us (:func:`die_with_parent`); otherwise it gets a
    session of its own and outlives us (``drx dev up``).
    """
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - the launchers' fixed argv
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent if tied_to_parent else None,  # noqa: PLW1509
            start_new_session=not tied_to_parent,
        )


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (zombies count as dead)."""
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        return stat.split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def stop_process(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; reap it when it is our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(50):
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.1)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``condition`` until true; raise ``TimeoutError`` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:.0f}s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(interval)
