"""The per-record log context reads untrusted bytes: whatever they are, it gives an answer."""

from __future__ import annotations

import json

import pytest
from aiokafka import ConsumerRecord

from shared.kafka.middleware import event_id_of


def _record(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("t", 0, 7, 0, 0, None, value, None, len(value), -1, headers or [])


def test_the_event_id_comes_from_the_header_or_the_envelope():
    assert event_id_of(_record(b"{}", [("ce_id", b"e-1")])) == "e-1"
    assert event_id_of(_record(json.dumps({"id": "e-2"}).encode())) == "e-2"


@pytest.mark.parametrize(
    "value",
    [
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,  # deeper than Python's recursion limit
        b"{not json",
        b'{"id": 7}',
        b"{" + b" " * 70_000 + b"}",  # over the intake limit: not read at all
    ],
)
def test_hostile_bodies_have_no_event_id(value):
    assert event_id_of(_record(value)) is None
