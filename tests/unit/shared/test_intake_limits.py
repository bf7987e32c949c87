"""The bounds on untrusted input (shared/intake/limits.py): each is refused with a reason naming it.

Every case here once stopped a worker or every relay (issue 14): the reason must come back as a
value, never as an exception, and the rejection built from it must fit in a Kafka message.
"""

import base64
import hashlib
import json

import pytest

from shared.events.envelope import CloudEvent
from shared.intake.limits import LIMITS, LimitError, check_headers, check_text, load_json
from shared.intake.parsing import (
    MAX_REASON_CHARS,
    Parsed,
    RawMessage,
    Rejected,
    SourcePosition,
    cap_reason,
    input_rejected,
    parse,
)
from shared.kafka.topics import NEEDS_IN, PLEDGES_IN
from shared.redact import redact_original
from tests.support import builders as b


def raw(value: bytes, *, spec=NEEDS_IN, headers=None) -> RawMessage:
    return b.record(value, spec=spec, headers=headers, offset=3)


def reason_for(value: bytes | str, **kw) -> str:
    result = parse(raw(value.encode() if isinstance(value, str) else value, **kw))
    assert isinstance(result, Rejected), result
    return result.reason


def posted_need(**need_fields) -> dict:
    return b.envelope("org.drx.need.posted", {**b.need("n-1"), **need_fields}, "urn:drx:org:trc")


class TestJson:
    def test_deep_nesting_is_refused_before_the_parser_recurses(self):
        assert (
            reason_for("[" * 30_000 + "]" * 30_000)
            == "message refused: JSON is nested more than 32 levels deep"
        )

    def test_brackets_inside_strings_do_not_count(self):
        assert load_json(json.dumps({"a": "[" * 100})) == {"a": "[" * 100}

    def test_nesting_at_the_limit_is_read(self):
        text = "[" * LIMITS.depth + "]" * LIMITS.depth
        assert load_json(text) is not None

    def test_a_5000_digit_integer(self):
        reason = reason_for('{"specversion": "1.0", "n": ' + "9" * 5000 + "}")
        assert reason == "message refused: a number is written with 5000 characters; the limit is 40"

    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
    def test_not_numbers(self, literal):
        assert reason_for('{"x": ' + literal + "}") == f"message refused: {literal} is not a JSON number"

    def test_a_float_too_large_for_a_double(self):
        assert reason_for('{"x": 1e400}') == "message refused: the number 1e400 is too large"

    def test_duplicate_keys(self):
        text = '{"specversion": "1.0", "id": "a", "id": "b"}'
        assert reason_for(text) == "message refused: the key 'id' appears twice in one object"

    def test_long_array_names_its_path(self):
        pledge = b.envelope("org.drx.pledge.posted", b.pledge("p-1"), "urn:drx:group:x")
        pledge["data"]["earmarks"] = {"crises": ["c"] * 300}
        reason = reason_for(b.encode(pledge), spec=PLEDGES_IN)
        assert reason == "message refused: data.earmarks.crises: the list has 300 items; the limit is 256"

    def test_too_many_members(self):
        reason = reason_for(json.dumps({f"k{i}": i for i in range(300)}))
        assert reason == "message refused: an object has 300 members; the limit is 256"

    def test_long_string(self):
        reason = reason_for(b.encode(posted_need(title="x" * 5000)))
        assert reason == "message refused: data.title: the text is 5000 characters; the limit is 4096"

    def test_long_key(self):
        reason = reason_for(json.dumps({"k" * 101: 1}))
        assert reason == "message refused: the message: a key is 101 characters; the limit is 100"


class TestText:
    def test_nul_in_the_envelope_id(self):
        document = posted_need()
        document["id"] = "a\x00b"
        assert reason_for(b.encode(document)) == (
            "message refused: id: control character U+0000 at position 1 (none are allowed here)"
        )

    def test_nul_in_a_need_field(self):
        reason = reason_for(b.encode(posted_need(title="water\x00")))
        assert (
            reason
            == "message refused: data.title: control character U+0000 at position 5 (none are allowed here)"
        )

    def test_newlines_only_where_a_field_allows_them(self):
        assert isinstance(parse(raw(b.encode(posted_need(description="line one\nline two\ttab")))), Parsed)
        reason = reason_for(b.encode(posted_need(title="line one\nline two")))
        assert "data.title: control character U+000A" in reason

    def test_other_controls_even_in_a_description(self):
        reason = reason_for(b.encode(posted_need(description="bell\x07")))
        assert "data.description: control character U+0007 at position 4 (only line breaks and tabs" in reason

    @pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200f"])
    def test_bidi_controls(self, char):
        reason = reason_for(b.encode(posted_need(title=f"safe{char}txt.exe")))
        assert f"bidirectional control U+{ord(char):04X} at position 4" in reason

    def test_escaped_surrogates(self):
        assert "unpaired surrogate U+D800" in reason_for(b'{"x": "\\ud800"}')

    def test_control_in_a_key(self):
        assert "a key has a control character U+0001" in reason_for(json.dumps({"a\x01": 1}))

    def test_text_in_other_scripts_is_fine(self):
        assert check_text("Gaziantep için su — مياه للشرب", multiline=False) is None


class TestHeaders:
    def test_too_many(self):
        headers = {f"h{i}": "v" for i in range(40)}
        assert check_headers(headers) == "the record has 40 headers; the limit is 32"

    def test_long_value(self):
        assert check_headers({"trace": "x" * 2000}) == "header 'trace' value is 2000 bytes; the limit is 1024"

    def test_nul_in_a_binary_mode_attribute(self):
        headers = {
            "ce_specversion": "1.0",
            "ce_id": "x\x00",
            "ce_source": "s",
            "ce_type": "org.drx.need.posted",
        }
        reason = reason_for(json.dumps(b.need("n-1")), headers=headers)
        assert (
            reason == "header 'ce_id' value: control character U+0000 at position 1 (none are allowed here)"
        )


class TestBoundedRejection:
    position = SourcePosition("drx.intake.needs", 0, 9)

    def test_a_long_list_of_errors_is_cut_with_a_count(self):
        reason = "; ".join(f"data.x[{i}]: must be a code" for i in range(30_000))
        capped = cap_reason(reason)
        assert len(capped) <= MAX_REASON_CHARS
        assert capped.startswith("data.x[0]: must be a code; data.x[1]")
        shown = capped.count("must be a code")
        assert capped.endswith(f"; and {30_000 - shown} more errors")

    def test_one_long_error_is_cut(self):
        assert len(cap_reason("x" * 10_000)) == MAX_REASON_CHARS

    def test_a_short_reason_is_whole(self):
        assert cap_reason("the event has no data") == "the event has no data"

    def test_an_oversized_record_keeps_a_prefix_its_length_and_digest(self):
        original = b"{" + b" " * 1_000_000 + b"}"
        data = input_rejected(self.position, original, "too big", None)
        kept = base64.b64decode(data.original_base64)
        assert kept == original[: LIMITS.record_bytes]
        assert data.original_truncated
        assert data.original_length == len(original)
        assert data.original_sha256 == hashlib.sha256(original).hexdigest()
        assert data.original_text is None
        assert len(data.model_dump_json()) < 100_000

    def test_a_record_within_the_limit_is_kept_whole(self):
        original = b.encode(posted_need())
        data = input_rejected(self.position, original, "no", CloudEvent.model_validate(posted_need()))
        assert base64.b64decode(data.original_base64) == original
        assert data.original_text == original.decode()
        assert not data.original_truncated

    def test_a_redacted_record_is_kept_redacted_with_the_length_and_digest_of_the_original(self):
        original = b'{"data": {"address": "amina@example.org"}}'
        shown = redact_original(original)
        data = input_rejected(self.position, original, "no", None, shown=shown)
        assert base64.b64decode(data.original_base64) == shown
        assert data.original_text == shown.decode()
        assert b"amina@" not in shown
        assert data.original_redacted
        assert data.original_length == len(original)
        assert data.original_sha256 == hashlib.sha256(original).hexdigest()
        unchanged = input_rejected(self.position, b"{}", "no", None, shown=redact_original(b"{}"))
        assert not unchanged.original_redacted

    def test_text_with_nul_is_carried_only_as_bytes(self):
        data = input_rejected(self.position, b'{"id": "a\x00"}', "no", None)
        assert data.original_text is None
        assert base64.b64decode(data.original_base64) == b'{"id": "a\x00"}'


def test_limit_exceeded_is_a_value_error():
    """Callers that catch ValueError around parsing keep working."""
    with pytest.raises(ValueError, match="nested more than"):
        load_json("[" * 100 + "]" * 100)
    assert issubclass(LimitError, ValueError)
