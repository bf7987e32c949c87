"""`drx rejected list` and `drx rejected replay`: once the cause is fixed, refused input is sent again."""

from __future__ import annotations

import asyncio
import subprocess

from tests.support import builders as b
from tests.support.cli import run_drx, settings_env

ORG = b.ORGANISATION[0]


def _drx(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_drx("rejected", *args, env=settings_env(settings))


async def test_needs_refused_for_an_unknown_crisis_are_accepted_when_replayed_after_it_is_declared(ingest):
    await ingest.post("org.drx.need.posted", b.need("n-early-1", crisis_id="c-late"), ORG)
    await ingest.post("org.drx.need.posted", b.need("n-early-2", crisis_id="c-late"), ORG)
    await ingest.send_raw("org.drx.need.posted", b"not json at all", key="junk")
    await ingest.wait_rejected(3)

    listed = await asyncio.to_thread(_drx, ingest.settings, "list", "--reason", "UNKNOWN CRISIS")
    assert listed.returncode == 0, listed.stderr
    assert "2 rejection(s)" in listed.stdout
    assert "unknown crisis 'c-late'" in listed.stdout

    await ingest.declare(b.crisis("c-late"))
    dry = await asyncio.to_thread(_drx, ingest.settings, "replay", "--topic", "intake.needs", "--dry-run")
    assert "2 to replay, 1 skipped (dry run)" in dry.stdout
    assert "it is not JSON within the limits" in dry.stderr
    assert await ingest.row("need", "n-early-1") is None  # a dry run sends nothing

    replayed = await asyncio.to_thread(_drx, ingest.settings, "replay", "--reason", "unknown crisis")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 2, skipped 0" in replayed.stdout
    for need_id in ("n-early-1", "n-early-2"):
        row = await ingest.wait_row("need", need_id)
        assert (row.status, row.revision) == ("open", 1)

    again = await asyncio.to_thread(_drx, ingest.settings, "replay", "--reason", "unknown crisis")
    assert "replayed 2" in again.stdout  # the same records again: ingest applies them once
    await ingest.wait_rejected(3)
    canonical = [r for r in ingest.out.records if r["type"] == "org.drx.need.recorded"]
    assert sorted(r["data"]["need_id"] for r in canonical) == ["n-early-1", "n-early-2"]
