"""Posting a scenario's steps on the intake topics, as the people in it would.

Each event step becomes a CloudEvents envelope (dates and ``$WEBHOOK_URL`` resolved, keyed like
``drx post`` keys it); a raw step is sent as its bytes. The publisher counts what ingest must
process and which subscriptions must appear, so the runner can tell when the pipeline is idle,
and keeps every step expected to be rejected, for the summary's checks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from services.demo.scenario import DecisionStep, EventStep, RawStep, resolve
from services.demo.selection import MatchState, select_matches
from services.demo.summary import ExpectedRejection, Tally
from shared.events.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.events.registry import EVENT_TYPES
from shared.kafka.topics import SUBSCRIPTIONS_IN, TopicSpec, topic_name

__all__ = ["Publisher"]

_KEY_FIELDS = {
    "crisis": "crisis_id",
    "need": "need_id",
    "pledge": "pledge_id",
    "match": "match_id",
    "subscription": "subscription_id",
}


def _topic_of(step: EventStep | RawStep) -> TopicSpec:
    if isinstance(step, RawStep):
        return next(t for t in EVENT_TYPES.values() if t.topic.name == step.topic).topic
    return EVENT_TYPES[step.type].topic


class Publisher:
    """Sends steps with one producer; ``to_ingest``, ``subscriptions`` and ``expected`` grow as it does."""

    def __init__(
        self, producer: AIOKafkaProducer, prefix: str, today: dt.date, webhook_url: str, tally: Tally
    ) -> None:
        self.producer = producer
        self.prefix = prefix
        self.today = today
        self.webhook_url = webhook_url
        self.tally = tally
        self.to_ingest = 0
        self.subscriptions: set[str] = set()
        self.expected: list[ExpectedRejection] = []

    async def post(self, phase: int, steps: tuple[EventStep | RawStep, ...]) -> None:
        """Send ``steps`` in order and wait until the broker has every one of them."""
        sent = []
        for number, step in enumerate(steps):
            topic = _topic_of(step)
            value, key, label = self._encode(phase, number, step)
            if topic == SUBSCRIPTIONS_IN:
                self.subscriptions.add(key or "")
            else:
                self.to_ingest += 1
            sent.append(
                await self.producer.send(
                    topic_name(self.prefix, topic),
                    value,
                    key=key.encode() if key else None,
                    headers=[("content-type", STRUCTURED_CONTENT_TYPE.encode())],
                )
            )
            self.tally.posted += 1
            if step.expect_rejected is not None:
                event_id = None if isinstance(step, RawStep) else self._event_id(phase, number, step)
                raw = step.raw if isinstance(step, RawStep) else None
                self.expected.append(ExpectedRejection(label, step.expect_rejected, event_id, raw))
        await self.producer.flush()
        await asyncio.gather(*sent)

    async def decide(
        self, phase: int, steps: tuple[DecisionStep, ...], matches: Iterable[MatchState]
    ) -> None:
        """Post one ``org.drx.match.decided`` per match each step selects (never two for one match)."""
        known = list(matches)
        taken: set[str] = set()
        decisions: list[EventStep] = []
        for step in steps:
            for match in select_matches(step, known, taken):
                taken.add(match.match_id)
                data: dict[str, Any] = {
                    "match_id": match.match_id,
                    "decision": step.decision,
                    "decided_by": step.by,
                }
                if step.reason:
                    data["reason"] = step.reason
                decisions.append(EventStep(type="org.drx.match.decided", source=step.source, data=data))
        await self.post(100 + phase, tuple(decisions))

    @staticmethod
    def _event_id(phase: int, number: int, step: EventStep) -> str:
        return step.id or f"demo-{phase}-{number}"

    def _encode(self, phase: int, number: int, step: EventStep | RawStep) -> tuple[bytes, str | None, str]:
        if isinstance(step, RawStep):
            return step.raw.encode(), step.key, f"raw text on {step.topic}"
        data = resolve(step.data, self.today, self.webhook_url)
        field = _KEY_FIELDS.get(step.type.split(".")[2], "")
        key = str(data[field]) if isinstance(data, dict) and data.get(field) else None
        envelope = CloudEvent(
            specversion="1.0",
            id=self._event_id(phase, number, step),
            source=step.source,
            type=step.type,
            time=dt.datetime.now(dt.UTC),
            subject=key,
            data=data,
        )
        value = json.dumps(envelope.model_dump(mode="json", exclude_none=True)).encode()
        return value, key, f"{step.type} {key or ''}".strip()
