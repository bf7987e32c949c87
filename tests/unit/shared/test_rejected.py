"""Choosing rejected input to replay: filters, and what cannot simply be sent again."""

from __future__ import annotations

import base64
import datetime as dt
import json

from shared.events.outbound import InputRejected
from shared.rejected import Rejection, choose, why_not_replayable

AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _rejection(value: bytes, *, topic: str = "drx.intake.needs", reason: str = "unknown crisis 'c'", **at):
    try:
        text = value.decode()
    except UnicodeDecodeError:
        text = None
    data = InputRejected(
        reason=reason,
        source_topic=topic,
        source_partition=0,
        source_offset=7,
        original_base64=base64.b64encode(value).decode(),
        original_text=text,
        event_id="e-1",
        event_type="org.drx.need.posted",
    )
    return Rejection(AT + dt.timedelta(**at), data, "urn:drx:service:ingest")


NEED = json.dumps({"specversion": "1.0", "id": "e-1", "subject": "need-1"}).encode()


def test_filters_combine_and_reason_matches_any_case():
    early, late = _rejection(NEED), _rejection(NEED, hours=2, reason="data.spec.currency: 'EURO' is not")
    assert choose([early, late], reason="UNKNOWN CRISIS") == [early]
    assert choose([early, late], since=AT + dt.timedelta(hours=1)) == [late]
    assert choose([early, late], topic="intake.pledges") == []
    assert choose([early, late], event_type="org.drx.need.posted", reason="euro") == [late]


def test_only_json_input_from_intake_topics_is_replayed_with_its_subject_as_key():
    assert why_not_replayable(_rejection(NEED), "drx.") is None
    assert _rejection(NEED).key == "need-1"
    assert "not an intake topic" in (
        why_not_replayable(_rejection(NEED, topic="drx.canonical"), "drx.") or ""
    )
    assert "not JSON" in (why_not_replayable(_rejection(b"{broken"), "drx.") or "")
    assert "not UTF-8" in (why_not_replayable(_rejection(b"\xff\xfe"), "drx.") or "")
    assert _rejection(b"{broken").key is None


def test_a_record_kept_with_its_contacts_redacted_is_not_replayed():
    rejection = _rejection(NEED, topic="drx.intake.subscriptions")
    redacted = Rejection(rejection.at, rejection.data.model_copy(update={"original_redacted": True}), "n")
    assert why_not_replayable(rejection, "drx.") is None
    assert "contact details were redacted" in (why_not_replayable(redacted, "drx.") or "")
