"""aiokafka reads a header name that is not UTF-8 instead of failing the fetch; drx rejects it by name.

The first test pins the aiokafka whose internals shared.kafka.records was written against: when it
fails, re-read aiokafka's record reader and fetcher (see the module's docstring), then bump
REVIEWED_AIOKAFKA. The others fail when the patch no longer does its job, whatever the version.
"""

from __future__ import annotations

from importlib.metadata import version

import aiokafka
import pytest
from aiokafka.consumer import fetcher
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from shared.intake.kafka import raw_message, tolerant_parser
from shared.intake.parsing import Rejected, parse
from shared.kafka import records
from shared.kafka.topics import NEEDS_IN
from tests.support import builders as b
from tests.support.raw_records import record_batch

BAD = b"\xff\xfebad"
GZIP = 1


def _response() -> bytes:
    """Three batches: plain, compressed with a bad name in its middle record, plain."""
    ok = [("content-type", b"application/cloudevents+json")]
    return (
        record_batch(0, [(b"v0", ok), (b"v1", ok)])
        + record_batch(2, [(b"v2", ok), (b"v3", [(BAD, b"x")]), (b"v4", ok)], compression=GZIP)
        + record_batch(5, [(b"v5", [(BAD, None)])])
    )


def _read(reader) -> list[tuple[int, bytes, list]]:
    found = []
    response = reader(_response())
    while response.has_next():
        batch = response.next_batch()
        assert batch.validate_crc()
        found += [(r.offset, r.value, list(r.headers)) for r in batch]
    return found


def test_the_installed_aiokafka_is_the_one_reviewed():
    assert aiokafka.__version__ == version("aiokafka") == records.REVIEWED_AIOKAFKA, (
        "shared.kafka.records patches aiokafka internals: re-read them, then bump REVIEWED_AIOKAFKA"
    )


def test_aiokafka_alone_still_fails_on_such_a_name():
    """When this fails, aiokafka tolerates such names itself and shared.kafka.records can go."""
    with pytest.raises((UnicodeDecodeError, aiokafka.errors.CorruptRecordException)):
        _read(MemoryRecords)


def test_install_is_idempotent_and_keeps_aiokafkas_reader():
    records.install()
    records.install()
    assert records.installed()
    assert fetcher.MemoryRecords is records.TolerantRecords
    assert records.TolerantRecords.reader is MemoryRecords


def test_every_record_is_read_in_order_with_bad_names_escaped():
    records.install()
    found = _read(records.TolerantRecords)
    assert [offset for offset, _, _ in found] == [0, 1, 2, 3, 4, 5]
    assert [value for _, value, _ in found] == [b"v0", b"v1", b"v2", b"v3", b"v4", b"v5"]
    assert found[3][2] == [("\udcff\udcfebad", b"x")]
    assert found[5][2] == [("\udcff\udcfebad", None)]
    assert found[4][2] == [("content-type", b"application/cloudevents+json")]


def test_the_fetchers_own_iteration_moves_past_the_record():
    """Through aiokafka's PartitionRecords, as getmany reads it: offsets, CRC checks and all."""
    records.install()
    partition = fetcher.PartitionRecords(
        TopicPartition("drx.intake.needs", 0),
        fetcher.MemoryRecords(_response()),
        [],
        0,
        None,
        None,
        True,  # noqa: FBT003 - check CRCs
        fetcher.READ_UNCOMMITTED,
    )
    consumed = list(partition)
    assert [r.offset for r in consumed] == [0, 1, 2, 3, 4, 5]
    assert partition.next_fetch_offset == 6
    assert consumed[3].headers == (("\udcff\udcfebad", b"x"),)


async def _rejection(headers) -> str:
    """What ingest's parsing says of a record with these (already read) headers."""
    record = aiokafka.ConsumerRecord("drx.intake.needs", 0, 9, 0, 0, None, b"{}", None, 0, 2, tuple(headers))

    async def original(parsed):
        return parsed

    tolerant = await tolerant_parser(record, original)
    result = parse(raw_message(tolerant, b"{}", NEEDS_IN))
    assert isinstance(result, Rejected), result
    return result.reason


async def test_a_bad_name_is_rejected_naming_it_escaped():
    assert await _rejection([("\udcff\udcfebad", b"x")]) == "header '\\udcff\\udcfebad' is not valid UTF-8"


async def test_a_bad_value_is_rejected_naming_its_header():
    assert await _rejection([("x-trace", b"\xff\xfe")]) == "header 'x-trace' is not valid UTF-8"


async def test_a_long_bad_name_is_shown_cut_short():
    reason = await _rejection([("\udcff" * 5_000, b"x")])
    assert reason == "header '" + "\\udcff" * 59 + "\u2026' is not valid UTF-8"


async def test_a_later_header_of_the_same_name_does_not_hide_a_bad_value():
    assert await _rejection([("ce_id", b"\xff"), ("ce_id", b"fine")]) == "header 'ce_id' is not valid UTF-8"


async def test_too_many_or_too_long_headers_are_rejected_with_the_limit():
    many = await _rejection([(f"h{i}", b"v") for i in range(33)])
    assert many == "the record has 33 headers; the limit is 32"
    long_value = await _rejection([("x-trace", b"v" * 1_025)])
    assert long_value == "header 'x-trace' value is 1025 bytes; the limit is 1024"
    long_name = await _rejection([("n" * 2_000, b"v")])
    assert long_name.endswith("name is 2000 bytes; the limit is 1024")
    assert len(long_name) < 120


def test_a_valid_need_with_ordinary_headers_still_parses():
    record = b.record(b.encode(b.envelope("org.drx.need.posted", b.need(), b.SOURCES[1][0])), spec=NEEDS_IN)
    assert not isinstance(parse(record), Rejected)
