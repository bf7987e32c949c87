"""Ingest reads in batches; each record's log line still names that record, not the batch."""

import io
import json

import structlog

from shared.logging import configure_logging
from tests.support import builders as b


async def test_every_record_of_a_batch_logs_its_own_topic_partition_offset_and_event_id(ingest):
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    try:
        await ingest.declare(b.crisis())
        posted = [
            await ingest.post("org.drx.need.posted", b.need(f"n-{i}"), b.ORGANISATION[0]) for i in range(3)
        ]
        for i in range(3):
            await ingest.wait_row("need", f"n-{i}")
        await ingest.post("org.drx.need.posted", {"need_id": "broken"}, b.ORGANISATION[0])
        await ingest.wait_rejected(1)
    finally:
        configure_logging()
        structlog.contextvars.clear_contextvars()

    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    handled = [line for line in lines if line["event"] == "intake message handled"]
    by_event = {line["event_id"]: line for line in handled}
    for document in posted:
        line = by_event[document["id"]]
        assert line["outcome"] == "accepted"
        assert line["topic"] == ingest.topic("org.drx.need.posted")
        assert isinstance(line["partition"], int)
        assert isinstance(line["offset"], int)
    rejected = [line for line in handled if line["outcome"] == "rejected"]
    assert len(rejected) == 1
    assert rejected[0]["event_id"] not in {document["id"] for document in posted}
    positions = {(line["topic"], line["partition"], line["offset"]) for line in handled}
    assert len(positions) == len(handled), "two records' lines named the same position"
