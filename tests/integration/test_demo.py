"""`drx demo` as a user runs it: its own tansu broker and PostgreSQL, a scenario, a summary, a clean stop."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from services.demo.generate import generate_scenario
from shared.infra._process import pid_alive
from tests.support.cli import DRX

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SUMMARY_PARTS = (
    "Coverage by sector and category",
    "Matches by status",
    "Alerts by channel and kind",
    "Rejected inputs",
    "audit chain verified",
    "every check passed",
)


@pytest.fixture
def small_scenario(tmp_path: Path) -> Path:
    """The default scenario's shape at a sixth of its size, so the run stays well under a minute."""
    path = tmp_path / "small.json"
    document = generate_scenario(seed=7, organisations=8, needs=40, donors=12, pledges=30)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def start_demo(*args: str, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*DRX, "demo", "--log-file", str(tmp_path / "demo.log"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DRX_STATE_DIR": str(tmp_path)},
    )


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Everything the demo printed up to and including the line containing ``marker``."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break  # the demo exited
        seen.append(line)
        if marker in line:
            return "".join(seen)
    stop(process)
    pytest.fail(f"no {marker!r} within {timeout}s; the demo printed:\n{''.join(seen)}")


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def stack_pids(process: subprocess.Popen[str], database_url: str) -> tuple[int, int]:
    """(tansu, postgres): tansu is the demo's child; PostgreSQL daemonises, its pid is in its data dir."""
    tansu = [p for p in children_of(process.pid) if b"tansu" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(tansu) == 1, tansu
    pgdata = re.search(r"host=([^&\s]+)", database_url)
    assert pgdata is not None, database_url
    postgres = int((Path(pgdata.group(1)) / "postmaster.pid").read_text().split()[0])
    return tansu[0], postgres


def wait_gone(*pids: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if pid_alive(p)]


def stop(process: subprocess.Popen[str]) -> None:
    """After a failure: Ctrl-C first (a kill would leave PostgreSQL behind), kill only if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def table_rows(output: str, title: str) -> list[list[str]]:
    """The cells of every row of the summary's table titled ``title`` (header row first)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip() or line.lstrip()[0] not in "┏┃┡│└":
            break
        if line.lstrip()[0] in "┃│":
            rows.append([cell.strip() for cell in re.split("[┃│]", line.strip())[1:-1]])
    return rows


@dataclass(frozen=True)
class DatabaseCounts:
    matches: dict[tuple[str, str], int]
    deliveries: dict[tuple[str, str, str], int]
    subscriptions: int
    audit: int


def database_counts(database_url: str) -> DatabaseCounts:
    """What the summary should say, read straight from the demo's database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            matches = db.execute(
                text(
                    "SELECT m.status, n.category, count(*) FROM matches m"
                    " JOIN m_needs n ON n.need_id = m.need_id GROUP BY 1, 2"
                )
            )
            deliveries = db.execute(
                text("SELECT channel, kind, status, count(*) FROM deliveries GROUP BY 1, 2, 3")
            )
            return DatabaseCounts(
                matches={(r[0], r[1]): r[2] for r in matches},
                deliveries={(r[0], r[1], r[2]): r[3] for r in deliveries},
                subscriptions=db.scalar(text("SELECT count(*) FROM subscriptions")) or 0,
                audit=db.scalar(text("SELECT count(*) FROM audit_log")) or 0,
            )
    finally:
        engine.dispose()


def assert_summary_agrees_with_database(output: str, database_url: str) -> None:
    """Every count in the matches and alerts tables, the subscriptions and the audit records."""
    db = database_counts(database_url)
    header, *rows = table_rows(output, "Matches by status")
    categories = header[1:-1]
    shown = {
        (row[0], c): int(n) for row in rows for c, n in zip(categories, row[1:-1], strict=True) if n != "0"
    }
    assert shown == db.matches, (shown, db.matches)
    for row in rows:
        assert int(row[-1]) == sum(int(n) for n in row[1:-1]), row
    header, *rows = table_rows(output, "Alerts by channel and kind")
    statuses = header[2:]
    sent = {(r[0], r[1], s): int(n) for r in rows for s, n in zip(statuses, r[2:], strict=True) if n != "0"}
    assert sent == db.deliveries, (sent, db.deliveries)
    assert re.search(rf"subscriptions {db.subscriptions}\b", output), output
    audit = re.search(r"audit chain verified: (\d+) records", output)
    assert audit is not None, output
    assert int(audit.group(1)) <= db.audit, (audit.group(1), db.audit)  # checkpoints may follow


def test_demo_replays_a_scenario_keeps_running_and_stops_everything_on_ctrl_c(small_scenario, tmp_path):
    process = start_demo("--scenario", str(small_scenario), "--keep-running", tmp_path=tmp_path)
    try:
        output = read_until(process, "export DRX_DATABASE_URL=", timeout=240)
        for part in SUMMARY_PARTS:
            assert part in output, output
        assert re.search(r"✓ *│ raw text on intake.needs", output), output
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in output.splitlines()
            if line.startswith("export ")
        )
        env = {name: shlex.split(value)[0] for name, value in exports.items()}
        assert env["DRX_KAFKA_IDEMPOTENT_PRODUCER"] == "false"
        tansu, postgres = stack_pids(process, env["DRX_DATABASE_URL"])
        assert_summary_agrees_with_database(output, env["DRX_DATABASE_URL"])

        # The kept stack answers the other drx commands.
        matches = subprocess.run(
            [*DRX, "matches", "--status", "confirmed"],
            env={**os.environ, **env, "COLUMNS": "250"},  # wide enough that no status is cut short
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert matches.returncode == 0, matches.stderr
        assert "confirmed" in matches.stdout

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0  # every check passed; Ctrl-C is how a kept stack ends
        assert wait_gone(tansu, postgres) == []
    finally:
        stop(process)
        assert process.stdout is not None
        process.stdout.close()


def test_ctrl_c_in_the_middle_stops_the_workers_the_broker_and_postgres(small_scenario, tmp_path):
    process = start_demo("--scenario", str(small_scenario), tmp_path=tmp_path)
    try:
        output = read_until(process, "PostgreSQL postgresql", timeout=120)
        database_url = output.split("PostgreSQL ", 1)[1].split()[0]
        read_until(process, "workers running", timeout=120)
        tansu, postgres = stack_pids(process, database_url)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 130
        assert wait_gone(tansu, postgres) == []
    finally:
        stop(process)
        assert process.stdout is not None
        process.stdout.close()
