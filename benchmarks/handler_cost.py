"""Where one message's time goes in each worker: ``python -m benchmarks.handler_cost``.

In one process, without Kafka: ingest handles posted needs and pledges; the canonical events it
leaves in its outbox are handed to matching in the same order; the match events matching leaves
are handed to notify (one coordinator with a kafka-channel subscription). Each handler call is
timed, and SQLAlchemy's events split it into SQL statements (count and time from send to
result), the commit, and the rest (Python: parsing, validation, rules, ORM). The one-row
transaction of benchmark b is the floor a handler that commits per message cannot go below.

Not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from benchmarks import _events as events
from services.ingest.domain import Reference
from services.ingest.service import IngestService
from services.matching.mapping import skill_tree
from services.matching.service import MatchingService
from services.notify.service import NotifyService
from services.notify.subscriptions import set_subscription
from shared.config import DatabaseSettings
from shared.db.models import OutboxMessage
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.events.inbound import SubscriptionSet
from shared.intake.parsing import RawMessage, SourcePosition
from shared.kafka.topics import CANONICAL, CRISES_IN, MATCHES, NEEDS_IN, PLEDGES_IN, TopicSpec, topic_name
from shared.reference import load_catalogue, load_skills
from tests.support import builders as b
from tests.support.provision import register_sources

__all__ = ["markdown", "measure"]

PREFIX = "cost."


class Meter:
    """Counts statements and times them and the commit, for whatever runs between two reads."""

    def __init__(self) -> None:
        self.statements = 0
        self.sql_s = 0.0
        self.commit_s = 0.0
        self._started: float | None = None
        self._commit_started: float | None = None

    def attach(self, sync_engine: Any) -> None:
        event.listen(sync_engine, "before_cursor_execute", self._before)
        event.listen(sync_engine, "after_cursor_execute", self._after)
        event.listen(sync_engine, "commit", self._before_commit)
        event.listen(Session, "after_commit", self._after_commit)

    def _before(self, *_: object) -> None:
        self._started = time.perf_counter()

    def _after(self, *_: object) -> None:
        if self._started is not None:
            self.statements += 1
            self.sql_s += time.perf_counter() - self._started
            self._started = None

    def _before_commit(self, _conn: Connection) -> None:
        self._commit_started = time.perf_counter()

    def _after_commit(self, _session: Session) -> None:
        if self._commit_started is not None:
            self.commit_s += time.perf_counter() - self._commit_started
            self._commit_started = None

    def detach(self, sync_engine: Any) -> None:
        event.remove(sync_engine, "before_cursor_execute", self._before)
        event.remove(sync_engine, "after_cursor_execute", self._after)
        event.remove(sync_engine, "commit", self._before_commit)
        event.remove(Session, "after_commit", self._after_commit)

    def read(self) -> tuple[int, float, float]:
        found = (self.statements, self.sql_s, self.commit_s)
        self.statements, self.sql_s, self.commit_s = 0, 0.0, 0.0
        return found


async def _timed(meter: Meter, calls: list[Callable[[], Awaitable[object]]]) -> dict[str, float]:
    rows = []
    meter.read()
    for call in calls:
        started = time.perf_counter()
        await call()
        total = time.perf_counter() - started
        statements, sql, commit = meter.read()
        rows.append((total, statements, sql, commit))
    median = statistics.median
    return {
        "messages": len(rows),
        "statements": round(statistics.mean(r[1] for r in rows), 1),
        "total_ms": round(median(r[0] for r in rows) * 1000, 2),
        "sql_ms": round(median(r[2] for r in rows) * 1000, 2),
        "commit_ms": round(median(r[3] for r in rows) * 1000, 2),
        "python_ms": round(median(r[0] - r[2] - r[3] for r in rows) * 1000, 2),
    }


def _raw(spec: TopicSpec, offset: int, value: bytes) -> RawMessage:
    return RawMessage(
        topic=topic_name(PREFIX, spec),
        spec=spec,
        partition=0,
        offset=offset,
        timestamp_ms=int(time.time() * 1000),
        value=value,
        headers={"content-type": STRUCTURED_CONTENT_TYPE},
    )


async def _outbox(sessions: Any, topic: TopicSpec, after: int) -> list[tuple[int, CloudEvent]]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.id, OutboxMessage.payload)
            .where(OutboxMessage.topic == topic_name(PREFIX, topic), OutboxMessage.id > after)
            .order_by(OutboxMessage.id)
        )
        return [(row_id, CloudEvent.model_validate_json(payload)) for row_id, payload in rows]


async def measure(database_url: str, pairs: int) -> list[dict[str, Any]]:
    settings = DatabaseSettings(url=SecretStr(database_url), pool_size=2)
    await register_sources(settings, topic_prefix=PREFIX)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    meter = Meter()
    meter.attach(engine.sync_engine)
    try:
        ingest = IngestService(sessions, Reference.load(), PREFIX)
        matching = MatchingService(sessions, load_catalogue(), skill_tree(load_skills()), PREFIX)
        notify = NotifyService(sessions, PREFIX)
        subscription = SubscriptionSet(
            subscription_id="cost",
            recipient_id=b.COORDINATOR[2],
            recipient_kind="coordinator",
            channel="kafka",
        )
        async with sessions.begin() as session:
            await set_subscription(session, PREFIX, subscription, actor="benchmark")
        await ingest.handle(_raw(CRISES_IN, 0, events.crisis()))
        today = dt.datetime.now(dt.UTC).date()
        first = await _outbox(sessions, CANONICAL, 0)
        for _, envelope in first:
            await matching.handle(envelope, today, position=SourcePosition("cost", 0, 0))
        start = max((row_id for row_id, _ in first), default=0)
        items = events.distinct_items()
        posted = []
        for i in range(pairs):
            posted.append(_raw(NEEDS_IN, i, events.need(f"cn-{i}", items[i % len(items)])))
            posted.append(_raw(PLEDGES_IN, i, events.pledge(f"cp-{i}", items[i % len(items)])))
        ingest_cost = await _timed(meter, [functools.partial(ingest.handle, raw) for raw in posted])
        canonical = await _outbox(sessions, CANONICAL, start)
        matching_cost = await _timed(
            meter,
            [
                functools.partial(matching.handle, e, today, position=SourcePosition("cost", 0, n))
                for n, (_, e) in enumerate(canonical)
            ],
        )
        proposed = [e for _, e in await _outbox(sessions, MATCHES, 0) if e.type == "org.drx.match.proposed"]
        notify_cost = await _timed(meter, [functools.partial(notify.handle, e) for e in proposed])
    finally:
        meter.detach(engine.sync_engine)
        await engine.dispose()
    return [
        {"worker": "ingest", "message": "need or pledge posted", **ingest_cost},
        {"worker": "matching", "message": "need or pledge recorded", **matching_cost},
        {"worker": "notify", "message": "match proposed", **notify_cost},
    ]


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        (
            "| worker | message | messages | SQL statements each | median ms | in statements | in commit "
            "| in Python |"
        ),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['worker']} | {r['message']} | {r['messages']} | {r['statements']} | {r['total_ms']} | "
        f"{r['sql_ms']} | {r['commit_ms']} | {r['python_ms']} |"
        for r in results
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated, empty drx database")
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args()
    results = asyncio.run(measure(args.database_url, args.pairs))
    print(json.dumps({"benchmark": "handler_cost", "results": results}, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
