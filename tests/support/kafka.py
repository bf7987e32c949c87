"""Producing to and reading from real topics in tests, waiting on conditions (never sleeping)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


class Producer:
    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)

    async def __aenter__(self) -> Self:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(
        self, topic: str, value: bytes, *, key: str | None = None, headers: dict[str, bytes] | None = None
    ) -> None:
        await self._producer.send_and_wait(
            topic, value, key=key.encode() if key else None, headers=list((headers or {}).items())
        )


class TopicReader:
    """Collects every JSON record of some topics from the beginning, in the background.

    A record that is no JSON object with a type (a test's own poison) goes to ``unreadable`` as its bytes.
    """

    def __init__(self, bootstrap_servers: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.records: list[dict[str, Any]] = []
        self.unreadable: list[bytes] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._consumer.start()
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _collect(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    try:
                        document = json.loads(record.value)
                    except ValueError:
                        document = None
                    if isinstance(document, dict) and "type" in document:
                        self.records.append(document)
                    else:
                        self.unreadable.append(record.value)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == event_type]

    async def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30, what: str = "records"
    ) -> list[dict[str, Any]]:
        await eventually(lambda: _async(predicate(self.records)), timeout, what)
        return self.records


async def _async(value: bool) -> bool:
    return value


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 30, what: str = "a condition"
) -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        msg = f"timed out after {timeout}s waiting for {what}"
        raise AssertionError(msg) from None
