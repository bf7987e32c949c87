"""``drx reference rates load``: an ECB file's rates land in PostgreSQL with their day, once per day."""

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from shared.db.models import FxRateRow
from shared.db.session import create_engine, create_session_factory
from tests.support.cli import run_drx, settings_env

SAMPLE = Path(__file__).parents[2] / "data" / "eurofxref.csv"


def drx(settings, *args):
    return run_drx(*args, env=settings_env(settings, DRX_LOG_LEVEL="WARNING"))


async def stored(settings) -> dict[str, FxRateRow]:
    engine = create_engine(settings.database)
    try:
        async with create_session_factory(engine)() as session:
            return {r.currency: r for r in await session.scalars(select(FxRateRow))}
    finally:
        await engine.dispose()


async def test_load_stores_each_rate_with_its_day_and_a_second_load_replaces_it(settings, tmp_path):
    loaded = drx(settings, "reference", "rates", "load", str(SAMPLE))
    assert loaded.returncode == 0, loaded.stderr
    assert "stored 31 rates for 2026-12-03 from eurofxref.csv" in loaded.stdout
    rows = await stored(settings)
    assert rows["USD"].units_per_usd == 1
    assert str(rows["EUR"].day) == "2026-12-03"
    assert rows["EUR"].units_per_usd == (1 / Decimal("1.0850")).quantize(Decimal("0.0000000001"))

    corrected = tmp_path / "eurofxref.csv"
    corrected.write_text("Date, USD, JPY\n03 December 2026, 1.0000, 160.00\n", encoding="utf-8")
    assert drx(settings, "reference", "rates", "load", str(corrected)).returncode == 0
    rows = await stored(settings)
    assert (rows["EUR"].units_per_usd, rows["JPY"].units_per_usd) == (1, 160)
    assert len(rows) == 31  # the first file's other currencies stay

    listed = json.loads(
        drx(settings, "reference", "rates", "list", "--currency", "eur", "--format", "json").stdout
    )
    assert listed == [
        {"day": "2026-12-03", "currency": "EUR", "units_per_usd": "1", "source": "eurofxref.csv"}
    ]


def test_a_file_that_is_not_ecb_format_is_refused_with_the_reason(settings, tmp_path):
    wrong = tmp_path / "rates.csv"
    wrong.write_text("date,currency,units_per_usd\n2026-12-03,EUR,0.92\n", encoding="utf-8")
    result = drx(settings, "reference", "rates", "load", str(wrong))
    assert result.returncode == 2
    assert "first column must be 'Date'" in result.stderr
