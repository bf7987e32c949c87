"""Funds are converted with the rates an operator loaded, and say the day of that rate."""

from pathlib import Path

from tests.support import builders as b
from tests.support.cli import run_drx, settings_env

SAMPLE = Path(__file__).parents[2] / "data" / "eurofxref.csv"


async def test_a_funds_need_uses_the_loaded_ecb_rate_and_its_day(ingest, settings):
    loaded = run_drx("reference", "rates", "load", str(SAMPLE), env=settings_env(settings))
    assert loaded.returncode == 0, loaded.stderr

    await ingest.declare(b.crisis())
    await ingest.post("org.drx.need.posted", b.need("n-eur", category="funds"), b.ORGANISATION[0])
    await ingest.out.wait_for(
        lambda rs: any(r["type"] == "org.drx.need.recorded" for r in rs), 30, "the need recorded"
    )
    (recorded,) = [r["data"] for r in ingest.out.of_type("org.drx.need.recorded")]
    # 20000 EUR at the sample file's 1.0850 USD per EUR, dated by the file's row
    assert (recorded["spec"]["amount_usd"], recorded["spec"]["fx_date"]) == ("21700.00", "2026-12-03")
