"""Running ``drx`` as a user does: its own process, this interpreter, the caller's environment plus some."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["DRX", "run_drx", "settings_env"]

DRX = (sys.executable, "-m", "services.cli")  # for tests that start a long-running drx with Popen


def run_drx(
    *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``drx ARGS`` with ``os.environ`` updated by ``env``; output as text; no raise on a failing exit."""
    return subprocess.run(
        [*DRX, *args],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def settings_env(settings: Any, **extra: str) -> dict[str, str]:
    """The ``DRX_*`` variables that point drx at a test's Kafka topics and database; wide tables."""
    return {
        "DRX_KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "DRX_DATABASE_URL": settings.database.sqlalchemy_url,
        "COLUMNS": "250",
        **extra,
    }
