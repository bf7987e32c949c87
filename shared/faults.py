"""Deterministic crash points, for the fault-injection suite (``tests/faults/``) only.

``DRX_FAULT_KILL_AT=<point>:<n>`` makes the process kill itself with SIGKILL the ``n``-th time
it passes ``fault_point(<point>)``: no cleanup, no flush, exactly what ``kill -9`` does, but at
a chosen line. Unset (always, outside the suite), a fault point is one dictionary lookup.

Points:

- ``after-commit``: a handler's database transaction committed, its Kafka offset not yet
  (``shared.worker.Backoff``); the message must be redelivered and must change nothing twice;
- ``relay-after-publish``: the outbox relay's batch is acknowledged by Kafka, its rows not yet
  marked sent (``shared.outbox.OutboxRelay``); the batch is published again after the restart.
"""

from __future__ import annotations

import os
import signal

__all__ = ["fault_point"]


def _parse(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    point, _, count = spec.rpartition(":")
    if not point or not count.isdigit() or int(count) < 1:
        msg = f"DRX_FAULT_KILL_AT must be <point>:<n> with n >= 1, got {spec!r}"
        raise ValueError(msg)
    return point, int(count)


_KILL_AT = _parse(os.environ.get("DRX_FAULT_KILL_AT"))
_passes: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here, as if by ``kill -9``, when the environment says so."""
    if _KILL_AT is None or _KILL_AT[0] != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == _KILL_AT[1]:
        os.kill(os.getpid(), signal.SIGKILL)
