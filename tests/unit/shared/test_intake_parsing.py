"""Untrusted bytes → typed event, or one precise reason. Pure; no servers."""

import json

import pytest

from shared.events.inbound import NeedPosted
from shared.intake.parsing import (
    INVALID_HEADER_MARK,
    MAX_MESSAGE_BYTES,
    Parsed,
    RawMessage,
    Rejected,
    parse,
)
from shared.kafka.topics import CRISES_IN, NEEDS_IN
from tests.support import builders as b


def raw(value: bytes, *, spec=NEEDS_IN, headers=None) -> RawMessage:
    return b.record(value, spec=spec, headers=headers, offset=7)


def rejected(value: bytes, **kw) -> str:
    result = parse(raw(value, **kw))
    assert isinstance(result, Rejected), result
    return result.reason


class TestBytes:
    def test_oversized(self):
        assert f"the limit is {MAX_MESSAGE_BYTES} bytes" in rejected(b"x" * (MAX_MESSAGE_BYTES + 1))

    def test_not_utf8(self):
        assert rejected(b"\xff\xfe") == "message is not UTF-8 text (invalid byte at position 0)"

    def test_bad_header(self):
        assert rejected(b"{}", headers={"trace": INVALID_HEADER_MARK}) == "header 'trace' is not valid UTF-8"

    @pytest.mark.parametrize("value", [b"", b"{", b"nope", b"{'single': 1}"])
    def test_not_json(self, value):
        reason = rejected(value)
        assert reason.startswith(("message is not JSON", "message is not a CloudEvents envelope"))


class TestEnvelope:
    def test_missing_attributes_are_named(self):
        reason = rejected(b'{"specversion": "1.0"}')
        assert "invalid CloudEvents envelope" in reason
        for attribute in ("id", "source", "type"):
            assert f"{attribute}: Field required" in reason

    def test_wrong_specversion(self):
        document = {**b.envelope("org.drx.need.posted", b.need(), "s"), "specversion": "0.3"}
        assert "specversion" in rejected(b.encode(document))

    def test_unknown_type_lists_what_the_topic_accepts(self):
        reason = rejected(b.encode(b.envelope("org.drx.need.exploded", {}, "s")))
        assert "unknown event type 'org.drx.need.exploded'" in reason
        assert "org.drx.need.posted" in reason

    def test_type_on_the_wrong_topic(self):
        reason = rejected(b.encode(b.envelope("org.drx.need.posted", b.need(), "s")), spec=CRISES_IN)
        assert "does not belong on drx.intake.crises" in reason

    def test_no_data(self):
        assert rejected(b.encode(b.envelope("org.drx.need.posted", None, "s"))) == "the event has no data"


class TestData:
    def test_valid_need_parses(self):
        result = parse(raw(b.encode(b.envelope("org.drx.need.posted", b.need("n-1"), "s"))))
        assert isinstance(result, Parsed)
        assert isinstance(result.data, NeedPosted)
        assert result.data.need_id == "n-1"

    def test_schema_errors_name_the_field_without_union_tags(self):
        need = b.need(spec={"category": "supplies", "item_code": "X", "quantity": "0", "unit": "piece"})
        reason = rejected(b.encode(b.envelope("org.drx.need.posted", need, "s")))
        assert "data.spec.quantity: Input should be greater than 0" in reason

    def test_unknown_fields_are_refused(self):
        reason = rejected(b.encode(b.envelope("org.drx.need.posted", {**b.need(), "colour": "red"}, "s")))
        assert "data.colour: Extra inputs are not permitted" in reason

    def test_item_needs_a_code_or_a_description(self):
        need = b.need(spec={"category": "supplies", "quantity": "1", "unit": "piece"})
        assert "give item_code" in rejected(b.encode(b.envelope("org.drx.need.posted", need, "s")))

    def test_binary_mode(self):
        headers = {
            "ce_specversion": "1.0",
            "ce_id": "b-1",
            "ce_source": "s",
            "ce_type": "org.drx.need.posted",
        }
        result = parse(raw(json.dumps(b.need("n-bin")).encode(), headers=headers))
        assert isinstance(result, Parsed)
        assert result.envelope.id == "b-1"
