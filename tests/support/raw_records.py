"""Kafka records whose header names are raw bytes, not UTF-8: built by hand, since clients refuse to.

aiokafka's builders encode a header name with ``str.encode("utf-8")``. :class:`RawName` is a
``str`` whose ``encode`` gives back the bytes it was made from, and aiokafka's pure-Python builder
(which calls ``encode`` on it) writes those bytes as they are; the C builder would not.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Self

from aiokafka import AIOKafkaProducer
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

__all__ = ["RawName", "record_batch", "send_with_raw_headers"]

Headers = Sequence[tuple[str | bytes, bytes | None]]


class RawName(str):
    """A header name that encodes to exactly ``raw``, whatever those bytes are."""

    __slots__ = ("raw",)
    raw: bytes

    def __new__(cls, raw: bytes) -> Self:
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw
        return name

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


def _names(headers: Headers) -> list[tuple[str, bytes | None]]:
    return [(RawName(k) if isinstance(k, bytes) else k, v) for k, v in headers]


def _builder(compression: int = 0) -> Any:
    return _DefaultRecordBatchBuilderPy(
        magic=2,
        compression_type=compression,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=10_000_000,
    )


def record_batch(
    base_offset: int, records: Sequence[tuple[bytes, Headers]], *, compression: int = 0
) -> bytes:
    """One record batch (magic 2) as a fetch response holds it, its records at ``base_offset`` on."""
    builder = _builder(compression)
    for delta, (value, headers) in enumerate(records):
        builder.append(delta, 1_000, None, value, _names(headers))
    batch = bytearray(builder.build())
    struct.pack_into(">q", batch, 0, base_offset)  # the base offset is outside the CRC
    return bytes(batch)


async def send_with_raw_headers(
    bootstrap_servers: str, topic: str, value: bytes, headers: Headers, *, partition: int = 0
) -> None:
    """Produce one record to ``partition`` whose header names may be any bytes (``bytes`` go as they are)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        batch = producer.create_batch()
        batch._builder = _builder()  # the C builder cannot write such names
        batch.append(timestamp=None, key=None, value=value, headers=_names(headers))
        sent = await producer.send_batch(batch, topic, partition=partition)
        await sent
    finally:
        await producer.stop()
