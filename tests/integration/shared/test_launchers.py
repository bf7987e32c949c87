"""The launchers leave nothing behind, whichever way the process that started them ends."""

import os
import signal
import subprocess
import sys

import pytest

from shared.infra._process import pid_alive, wait_until

_START_AND_HANG = """
import sys, time
from shared.infra.{module} import {cls}
server = {cls}()
server.start()
print(server.pid, flush=True)
time.sleep(600)
"""


def _start_in_child(module: str, cls: str) -> tuple[subprocess.Popen[str], int]:
    child = subprocess.Popen(
        [sys.executable, "-c", _START_AND_HANG.format(module=module, cls=cls)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.strip():
        child.kill()
        child.wait()
        child.stdout.close()
        pytest.fail(f"{cls} did not start in the child process")
    return child, int(line)


@pytest.mark.slow
@pytest.mark.parametrize(("module", "cls"), [("kafka", "ApacheKafkaServer"), ("tansu", "TansuServer")])
def test_broker_dies_with_a_killed_parent(module, cls):
    """kill -9 of the test process (no cleanup code runs) must not leave an orphan broker."""
    child, broker_pid = _start_in_child(module, cls)
    assert pid_alive(broker_pid)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.stdout is not None
    child.stdout.close()
    wait_until(lambda: not pid_alive(broker_pid), timeout=60, what=f"{cls} pid {broker_pid} to exit")


@pytest.mark.slow
def test_ctrl_c_stops_the_broker():
    child, broker_pid = _start_in_child("tansu", "TansuServer")
    child.send_signal(signal.SIGINT)
    child.wait(timeout=30)
    assert child.stdout is not None
    child.stdout.close()
    wait_until(lambda: not pid_alive(broker_pid), timeout=30, what="the broker to stop after Ctrl-C")
