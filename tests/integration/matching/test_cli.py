"""The coordinator's commands against a running pipeline: matches, decide, coverage."""

import os
import subprocess
import sys

from tests.support import builders as b


def drx(settings, *args):
    env = {
        **os.environ,
        "DRX_KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "DRX_DATABASE_URL": settings.database.sqlalchemy_url,
        "DRX_LOG_LEVEL": "WARNING",
        "COLUMNS": "250",
    }
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_list_decide_and_see_coverage(pipeline):
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), b.ORGANISATION[0])
    await pipeline.wait_matching("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), b.DONOR[0])
    (proposal,) = await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    match_id = proposal["data"]["match_id"]

    listed = drx(pipeline.settings, "matches", "--status", "proposed")
    assert match_id in listed
    assert "same item HSHEBLANWHT1" in listed

    drx(pipeline.settings, "decide", "confirm", match_id, "--source", b.COORDINATOR[0], "--by", "Leyla")
    await pipeline.wait_matches(
        lambda ms: any(m["data"]["status"] == "confirmed" for m in ms), "confirmation"
    )

    covered = drx(pipeline.settings, "coverage", "--crisis", "eq-tur-2026")
    line = next(line for line in covered.splitlines() if "shelter" in line)
    assert "400" in line  # needed
    assert "250" in line  # pledged and confirmed
    assert "150" in line  # shortfall
    assert "partially covered" in line
