"""Every log line inside a handler names service, topic, partition, offset, event id, correlation id."""

import asyncio
import io
import json

import structlog
from faststream import AckPolicy

from shared.kafka.admin import create_topics
from shared.kafka.broker import make_broker
from shared.kafka.topics import NEEDS_IN, topic_name
from shared.logging import configure_logging, get_logger


async def test_handler_log_lines_carry_message_context(kafka):
    await create_topics(kafka.settings, (NEEDS_IN,))
    topic = topic_name(kafka.settings.topic_prefix, NEEDS_IN)
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    broker = make_broker(kafka.settings, "ingest")
    done = asyncio.Event()

    @broker.subscriber(
        topic,
        group_id=f"{kafka.settings.topic_prefix}g",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_need(body: dict) -> None:
        get_logger("handler").info("handled", kind=body["type"])
        done.set()

    try:
        await broker.start()
        await broker.publish(
            {"specversion": "1.0", "id": "evt-42", "type": "org.drx.need.posted", "source": "x", "data": {}},
            topic,
            headers={"ce_correlationid": "corr-7"},
        )
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await broker.stop()
        configure_logging()
        structlog.contextvars.clear_contextvars()

    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    handled = next(line for line in lines if line["event"] == "handled")
    assert handled["service"] == "ingest"
    assert handled["topic"] == topic
    assert isinstance(handled["partition"], int)
    assert isinstance(handled["offset"], int)
    assert handled["event_id"] == "evt-42"
    assert handled["correlation_id"] == "corr-7"
