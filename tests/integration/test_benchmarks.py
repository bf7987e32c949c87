"""The benchmarks run at a tiny size, so they cannot rot. Nothing about time is asserted."""

from benchmarks.matching_scale import markdown, measure


async def test_matching_scale_benchmark_runs(database):
    results = await measure(database.url, [100, 200], events=5)
    assert [r["open_needs"] for r in results] == [100, 200]
    assert results[0]["ratio_to_smallest"] == 1.0
    assert "| 200 |" in markdown(results)
