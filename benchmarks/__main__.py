"""Every benchmark on the real stack: ``.venv/bin/python -m benchmarks --size small|full``.

Starts Apache Kafka from the Maven jars and an embedded PostgreSQL (or uses ``--kafka`` /
``--database-url``), then runs, each against a same-run baseline:

- a. end-to-end throughput and latency per matching-worker count (``benchmarks.pipeline``);
- b. the ceiling of the same shape: raw Kafka consume → produce, batched PostgreSQL inserts;
- c. matching cost per event as open state grows (``benchmarks.matching_scale``);
- d. matching quality against the linear-programming optimum (``benchmarks.quality``);
- e. peak memory per worker process during a;
- t. where one message's time goes in each worker: SQL statements, commit, Python
  (``benchmarks.handler_cost``), to read a and b by.

Writes ``benchmarks/results/<name>.json`` and replaces each benchmark's table in
docs/performance.md (between ``<!-- bench:NAME -->`` markers; the prose around them is kept).
Nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

from benchmarks import ceiling, handler_cost, matching_scale, pipeline, quality
from benchmarks._stack import running_stack

__all__ = ["main", "replace_section", "run"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "performance.md"
SCALE_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"sizes": [100, 200], "events": 5},
    "small": {"sizes": [1000, 10000], "events": 100},
    "full": {"sizes": [1000, 10000, 100000], "events": 200},
}
ALL = ("a", "b", "c", "d", "e", "t")
COST_PAIRS = {"tiny": 10, "small": 100, "full": 300}


def replace_section(document: str, name: str, body: str) -> str:
    """``document`` with the text between ``<!-- bench:name -->`` and ``<!-- /bench:name -->`` replaced.

    A document without the markers gets the section appended, so a new benchmark is never lost.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _: block, document)
    return f"{document.rstrip()}\n\n{block}\n"


def _write(results: Path | None, name: str, size: str, found: Any) -> None:
    if results is None:
        return
    results.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": name, "size": size, "date": str(dt.date.today()), "results": found}  # noqa: DTZ011
    (results / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")


def _measured(size: str, json_name: str) -> str:
    return (
        f"Measured {dt.date.today()} with `python -m benchmarks --size {size}` "  # noqa: DTZ011
        f"(raw JSON in `benchmarks/results/{json_name}.json`)."
    )


def run(
    size: str,
    only: tuple[str, ...] = ALL,
    *,
    kafka: str | None = None,
    database_url: str | None = None,
    docs: Path | None = DOCS,
    results: Path | None = RESULTS,
) -> dict[str, str]:
    """Run the chosen benchmarks; return each one's markdown section.

    Sections go into ``docs`` and JSON into ``results`` unless they are None.
    """
    sections: dict[str, str] = {}
    with running_stack(kafka, database_url) as stack:
        run_id = uuid.uuid4().hex[:6]
        flows: list[dict[str, Any]] = []
        if {"a", "b", "e"} & set(only):
            shape = pipeline.SIZES[size]
            for matchers in shape["matchers"]:
                print(f"a/e: {matchers} matching worker(s) at {shape['rates']} events/s", flush=True)
                flows.append(
                    asyncio.run(
                        pipeline.run_pipeline(
                            stack.bootstrap_servers,
                            f"bench{run_id}m{matchers}.",
                            stack.database(),
                            matchers=matchers,
                            rates=shape["rates"],
                            seconds=shape["seconds"],
                        )
                    )
                )
            if "a" in only:
                _write(results, "pipeline", size, flows)
                sections["a"] = f"{_measured(size, 'pipeline')}\n\n{pipeline.markdown(flows)}"
            if "e" in only:
                memory = [{"matchers": f["matchers"], "memory": f["memory"]} for f in flows]
                _write(results, "memory", size, memory)
                sections["e"] = f"{_measured(size, 'memory')}\n\n{pipeline.memory_markdown(flows)}"
        if "b" in only:
            print("b: ceilings", flush=True)
            records, rows = ceiling.SIZES[size]["records"], ceiling.SIZES[size]["rows"]
            limits = asyncio.run(ceiling.kafka_ceiling(stack.bootstrap_servers, f"bench{run_id}c.", records))
            limits |= ceiling.postgres_ceiling(stack.database(), rows)
            ours = {f["matchers"]: pipeline.saturation(f) for f in flows}
            _write(results, "ceiling", size, ceiling.summary(limits, ours))
            sections["b"] = f"{_measured(size, 'ceiling')}\n\n{ceiling.markdown(limits, ours)}"
        if "c" in only:
            print("c: matching cost as state grows", flush=True)
            scale = SCALE_SIZES[size]
            found = asyncio.run(matching_scale.measure(stack.database(), scale["sizes"], scale["events"]))
            _write(results, "matching_scale", size, found)
            sections["c"] = f"{_measured(size, 'matching_scale')}\n\n{matching_scale.markdown(found)}"
        if "t" in only:
            print("t: where a message's time goes", flush=True)
            cost = asyncio.run(handler_cost.measure(stack.database(), COST_PAIRS[size]))
            _write(results, "handler_cost", size, cost)
            sections["t"] = f"{_measured(size, 'handler_cost')}\n\n{handler_cost.markdown(cost)}"
    if "d" in only:
        print("d: matching quality", flush=True)
        found = quality.measure(size)
        _write(results, "quality", size, found)
        sections["d"] = f"{_measured(size, 'quality')}\n\n{quality.markdown(found)}"
    if docs is not None:
        text = docs.read_text()
        for name, body in sections.items():
            text = replace_section(text, name, body)
        docs.write_text(text)
    return sections


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "small", "full"), default="small")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated subset of a,b,c,d,e,t")
    parser.add_argument("--kafka", help="bootstrap servers of a running broker (default: launch one)")
    parser.add_argument("--database-url", help="PostgreSQL to create databases in (default: launch one)")
    parser.add_argument(
        "--no-docs", action="store_true", help="write neither docs/performance.md nor benchmarks/results/"
    )
    args = parser.parse_args()
    only = tuple(part.strip() for part in args.only.split(",") if part.strip())
    unknown = set(only) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    sections = run(
        args.size,
        only,
        kafka=args.kafka,
        database_url=args.database_url,
        docs=None if args.no_docs else DOCS,
        results=None if args.no_docs else RESULTS,
    )
    for name, body in sections.items():
        print(f"\n## {name}\n\n{body}")


if __name__ == "__main__":
    main()
