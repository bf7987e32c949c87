"""The coordinator's commands against a running pipeline: matches, decide, coverage."""

from tests.support import builders as b
from tests.support.cli import run_drx, settings_env


def drx(settings, *args):
    result = run_drx(*args, env=settings_env(settings, DRX_LOG_LEVEL="WARNING"))
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
