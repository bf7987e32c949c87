"""The benchmarks run at a tiny size, so they cannot rot. Nothing about time is asserted."""

from pathlib import Path

from benchmarks import ceiling, handler_cost, pipeline, quality
from benchmarks.__main__ import ALL, replace_section
from benchmarks.matching_scale import markdown, measure


async def test_matching_scale_benchmark_runs(database):
    results = await measure(database.url, [100, 200], events=5)
    assert [r["open_needs"] for r in results] == [100, 200]
    assert results[0]["ratio_to_smallest"] == 1.0
    assert "| 200 |" in markdown(results)


async def test_pipeline_benchmark_runs_workers_as_processes_and_reports_latency_and_memory(kafka, database):
    """Benchmarks a and e: real `drx run` processes, every pair matched and alerted."""
    shape = pipeline.SIZES["tiny"]
    result = await pipeline.run_pipeline(
        kafka.bootstrap_servers,
        f"{kafka.settings.topic_prefix}bench.",  # under the test's prefix, so its topics are deleted
        database.url,
        matchers=1,
        rates=shape["rates"],
        seconds=shape["seconds"],
    )
    [run] = result["runs"]
    assert run["complete"], run
    assert run["to_alert"]["p50_ms"] >= run["to_match"]["p50_ms"] > 0
    assert run["workers"]["matching-1"]["messages"] > 0
    assert set(result["memory"]) == {"ingest", "matching-1", "notify"}
    assert all(m["peak_rss_mib"] >= m["idle_rss_mib"] > 0 for m in result["memory"].values())
    assert "| 1 | 20 |" in pipeline.markdown([result])
    assert "| 1 | notify |" in pipeline.memory_markdown([result])


async def test_ceiling_benchmark_measures_kafka_and_postgres(kafka, database):
    limits = await ceiling.kafka_ceiling(kafka.bootstrap_servers, kafka.settings.topic_prefix, 200)
    limits |= ceiling.postgres_ceiling(database.url, 1000)
    assert all(value > 0 for value in limits.values()), limits
    table = ceiling.markdown(limits, {1: 10.0})
    assert "one row per transaction" in table
    assert ceiling.summary(limits, {1: 10.0})["ratios"]["1_matching"]


async def test_handler_cost_splits_each_workers_message_time(database):
    results = await handler_cost.measure(database.url, pairs=3)
    assert [r["worker"] for r in results] == ["ingest", "matching", "notify"]
    assert [r["messages"] for r in results] == [6, 6, 3]  # each pair: two posts, one proposal
    assert all(r["statements"] > 0 and r["total_ms"] > 0 for r in results)
    assert "| notify | match proposed | 3 |" in handler_cost.markdown(results)


def test_quality_benchmark_compares_with_the_lp_optimum():
    results = quality.measure("tiny")
    assert [r["family"] for r in results] == list(quality.FAMILIES)
    for row in results:
        # The optimum is an upper bound on any allocation the rules allow (HiGHS tolerance aside).
        assert 0 < row["online_ratio"] <= 1.000001
        assert 0 < row["batch_ratio"] <= 1.000001
    assert "| skills with distance |" in quality.markdown(results)


def test_every_benchmark_has_its_place_in_docs_performance():
    document = (Path(__file__).parents[2] / "docs" / "performance.md").read_text()
    for name in ALL:
        assert f"<!-- bench:{name} -->" in document
        assert replace_section(document, name, "NEW") != document
    replaced = replace_section("intro\n<!-- bench:a -->\nold\n<!-- /bench:a -->\nprose", "a", "new")
    assert replaced == "intro\n<!-- bench:a -->\nnew\n<!-- /bench:a -->\nprose"
    assert replace_section("intro", "f", "new").endswith("<!-- bench:f -->\nnew\n<!-- /bench:f -->\n")
