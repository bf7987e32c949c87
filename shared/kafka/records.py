"""Header keys that are not UTF-8 reach drx's parser instead of stopping the consumer that read them.

Kafka's record format types a header key as a string, and aiokafka 0.14 decodes it with
``bytes.decode("utf-8")`` while it reads a fetched batch, inside ``getmany``/``getone``, before any
parser of drx's runs. With aiokafka's C extension (what drx runs) the ``UnicodeDecodeError`` leaves
``getmany`` as it is, FastStream's consume loop catches only ``KafkaError``, and the subscriber's
task ends: the worker keeps running and answering ready, and never reads another record from any
topic of that subscriber (for ingest, all four intake topics). With the pure-Python reader the
error becomes a ``CorruptRecordException``: FastStream logs it and polls again every 5 s, forever,
as the position never passes the record. Either way one record a producer chose stalls drx.

:func:`install` gives aiokafka's fetcher :class:`TolerantRecords` in place of its ``MemoryRecords``:
the same reader (C) and the same batches, except that a batch in which a header key fails to decode
is read again, from that record on, by aiokafka's pure-Python reader decoding header keys with
``errors="surrogateescape"``. The byte 0xFF becomes the character U+DCFF, so the record reaches
:mod:`shared.intake.kafka`, which marks the header, and :func:`shared.intake.parsing.parse` rejects
it naming the header (``'\\udcff\\udcfebad'``: each ``\\udcXX`` is the byte 0xXX that is not UTF-8),
at its topic, partition and offset. Only such a batch pays for the Python reader (about 10 µs a
record, against about 0.5 µs for the C reader); every other batch costs one Python call per record
more than aiokafka's own reader (about 0.4 µs, measured on 10,000 records of 1 KB in issue 14).

Why not decode header keys in drx's own parser: aiokafka hands them over decoded, so the bytes are
gone by then. Why not catch the error around ``getmany``: it does not say which partition or
record failed, and the record itself is lost. Why process-wide: the fetcher looks ``MemoryRecords``
up in its module when a fetch response arrives, for every consumer in the process; every consumer
in a drx process is drx's, and for its own topics the change is invisible.

This leans on internals of aiokafka :data:`REVIEWED_AIOKAFKA` (the ``fetcher`` module's
``MemoryRecords``, ``_DefaultRecordBatchPy`` keeping its records in ``_buffer`` once iteration has
begun, and header keys decoded from slices of it); ``tests/unit/shared/test_kafka_records.py``
fails when another aiokafka is installed or when the reader no longer tolerates such keys.
"""

from __future__ import annotations

import struct
from typing import Any, SupportsIndex, overload

import aiokafka
import aiokafka.consumer.fetcher as _fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import _DefaultRecordBatchPy

__all__ = ["REVIEWED_AIOKAFKA", "TolerantRecords", "install", "installed"]

REVIEWED_AIOKAFKA = "0.14.0"  # re-read the internals named above before changing this

_LENGTH = struct.Struct(">i")  # a batch's length, after its 8-byte base offset
_LOG_OVERHEAD = 12  # base offset and length: the bytes of a batch its length does not count
_MAGIC_OFFSET = 16  # record batches (magic 2) are the only format with headers


class _EscapingSlice(bytearray):
    """A slice of a batch whose ``decode`` keeps bytes that are not UTF-8, as lone surrogates."""

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:  # noqa: ARG002
        return super().decode(encoding, "surrogateescape")


class _EscapingBuffer(bytearray):
    """A batch's records, whose slices are :class:`_EscapingSlice` (single bytes stay ints)."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> bytearray: ...
    def __getitem__(self, index: SupportsIndex | slice) -> int | bytearray:
        item = super().__getitem__(index)
        return _EscapingSlice(item) if isinstance(item, bytearray) else item


def _escaping_reader(buffer: bytes | memoryview, skip: int) -> Any:
    """aiokafka's pure-Python reader of this batch, decoding header keys tolerantly, past ``skip`` records."""
    batch = _DefaultRecordBatchPy(buffer)
    iter(batch)  # decompresses into batch._buffer
    batch._buffer = _EscapingBuffer(batch._buffer)  # noqa: SLF001 - see the module docstring
    for _ in range(skip):
        next(batch)
    return batch


def _undecodable_key(error: Exception) -> bool:
    """Whether aiokafka failed on a header key (C reader: as it is; Python reader: wrapped)."""
    if isinstance(error, CorruptRecordException):
        return isinstance(error.__cause__, UnicodeDecodeError)
    return isinstance(error, UnicodeDecodeError)


class _TolerantBatch:
    """One record batch: aiokafka's, until a record's header key fails to decode; then the escaping reader."""

    def __init__(self, batch: Any, buffer: memoryview) -> None:
        self._batch = batch
        self._buffer = buffer
        self._read = 0
        self._fallback: Any = None

    def __getattr__(self, name: str) -> Any:  # base_offset, next_offset, validate_crc, ...
        return getattr(self._batch, name)

    def __iter__(self) -> _TolerantBatch:
        iter(self._batch)
        return self

    def __next__(self) -> Any:
        if self._fallback is None:
            try:
                record = next(self._batch)
            except (UnicodeDecodeError, CorruptRecordException) as error:
                if not _undecodable_key(error):
                    raise
                self._fallback = _escaping_reader(self._buffer, self._read)
            else:
                self._read += 1
                return record
        return next(self._fallback)


class TolerantRecords:
    """aiokafka's ``MemoryRecords`` for one fetch response, with batches that survive undecodable header keys.

    The original reader still slices the response and checks every batch; this only follows along
    (each batch is its length plus 12 bytes) to know the bytes of the batch it returned.
    """

    reader: Any = None  # aiokafka's MemoryRecords, set by install()

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._records = self.reader(data)
        self._position = 0

    def has_next(self) -> bool:
        return bool(self._records.has_next())

    def size_in_bytes(self) -> int:
        return int(self._records.size_in_bytes())

    def next_batch(self) -> Any:
        batch = self._records.next_batch()
        if batch is None:
            return None
        start = self._position
        (length,) = _LENGTH.unpack_from(self._data, start + 8)
        self._position = start + _LOG_OVERHEAD + length
        if self._data[start + _MAGIC_OFFSET] < 2:  # noqa: PLR2004 - message formats 0 and 1 have no headers
            return batch
        return _TolerantBatch(batch, self._data[start : self._position])


def installed() -> bool:
    """Whether aiokafka's fetcher reads with :class:`TolerantRecords` in this process."""
    return _fetcher.MemoryRecords is TolerantRecords


def install() -> None:
    """Make every aiokafka consumer of this process read batches with :class:`TolerantRecords`. Idempotent."""
    if installed():
        return
    original = getattr(_fetcher, "MemoryRecords", None)
    if original is None:
        msg = (
            f"aiokafka {aiokafka.__version__} has no fetcher.MemoryRecords (drx reviewed {REVIEWED_AIOKAFKA})"
        )
        raise RuntimeError(msg)
    TolerantRecords.reader = original
    _fetcher.MemoryRecords = TolerantRecords
