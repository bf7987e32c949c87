"""Ingest on real Kafka and PostgreSQL: every event type, every rejection, duplicates, order."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import builders as b
from tests.support.kafka import eventually

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)


async def test_every_inbound_event_type_round_trips(ingest):
    await ingest.declare(b.crisis())
    await ingest.post("org.drx.crisis.updated", b.crisis(revision=2, severity=4), COORD)
    needs = {c: b.need(f"n-{c}", category=c) for c in ("funds", "supplies", "skills")}
    for data in needs.values():
        await ingest.post("org.drx.need.posted", data, ORG)
    await ingest.post("org.drx.need.updated", {**needs["funds"], "urgency": "critical", "revision": 2}, ORG)
    pledges = {c: b.pledge(f"p-{c}", category=c) for c in ("funds", "supplies", "skills")}
    for data in pledges.values():
        await ingest.post("org.drx.pledge.posted", data, DONOR)
    await ingest.post(
        "org.drx.pledge.updated", {**pledges["funds"], "title": "More funds", "revision": 2}, DONOR
    )
    await ingest.post(
        "org.drx.need.withdrawn", {"need_id": "n-skills", "revision": 2, "reason": "filled"}, ORG
    )
    await ingest.post("org.drx.pledge.withdrawn", {"pledge_id": "p-skills", "revision": 2}, DONOR)
    await ingest.post(
        "org.drx.match.decided",
        {"match_id": "m-1", "decision": "confirm", "decided_by": "A. Coordinator"},
        COORD,
    )
    await ingest.wait_row("need", "n-skills", lambda r: r.status == "withdrawn")  # then close the crisis
    await ingest.post("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 3}, COORD)

    crisis = await ingest.wait_row("crisis", "eq-tur-2026", lambda r: r.status == "closed")
    assert crisis.revision == 3
    assert crisis.state["severity"] == 4
    for need_id in ("n-funds", "n-supplies"):  # open needs close with their crisis
        assert (await ingest.wait_row("need", need_id, lambda r: r.status == "closed")).status == "closed"
    assert (await ingest.row("need", "n-skills")).status == "withdrawn"
    assert (await ingest.row("pledge", "p-skills")).status == "withdrawn"
    assert (await ingest.row("pledge", "p-funds")).state["title"] == "More funds"

    records = await ingest.out.wait_for(
        lambda rs: (
            any(r["type"] == "org.drx.decision.recorded" for r in rs)
            and sum(r["type"] == "org.drx.need.recorded" for r in rs) >= 7
        ),
        what="canonical events",
    )
    types = {r["type"] for r in records}
    assert types >= {
        "org.drx.crisis.recorded",
        "org.drx.need.recorded",
        "org.drx.pledge.recorded",
        "org.drx.decision.recorded",
    }
    assert not ingest.out.of_type("org.drx.input.rejected")
    funds = next(
        r["data"] for r in ingest.out.of_type("org.drx.need.recorded") if r["data"]["need_id"] == "n-funds"
    )
    assert funds["spec"]["currency"] == "EUR"
    assert float(funds["spec"]["amount_usd"]) > 0  # normalised for matching
    skills = next(
        r["data"]
        for r in ingest.out.of_type("org.drx.pledge.recorded")
        if r["data"]["pledge_id"] == "p-skills"
    )
    assert skills["spec"]["languages"] == ["tur", "ara"]  # ISO 639-3


def _late(days: int) -> str:
    return str(b.today() - dt.timedelta(days=days))


async def _rejection_cases(ingest):
    """(what is sent, the words the rejection must contain)."""
    needs = ingest.topic("org.drx.need.posted")
    ok_need = b.need("n-ok")
    return [
        (("raw", needs, b"this is not json", None), "message is not JSON"),
        (("raw", needs, b"\xff\xfe\x00garbage", None), "not UTF-8 text"),
        (("raw", needs, b"{}", {"x-trace": b"\xff\xfe"}), "header 'x-trace' is not valid UTF-8"),
        (("raw", needs, b"[1, 2]", None), "expected a JSON object"),
        (("raw", needs, b'{"x": "' + b"a" * 70_000 + b'"}', None), "the limit is 65536 bytes"),
        (
            ("env", needs, {"specversion": "1.0", "source": ORG, "type": "org.drx.need.posted"}),
            "id: Field required",
        ),
        (
            ("env", needs, {**b.envelope("org.drx.need.posted", ok_need, ORG), "specversion": "0.3"}),
            "specversion",
        ),
        (("post", "org.drx.need.exploded", ok_need, ORG), "unknown event type 'org.drx.need.exploded'"),
        (
            ("raw", needs, b.encode(b.envelope("org.drx.pledge.posted", b.pledge(), DONOR)), None),
            "does not belong",
        ),
        (("post", "org.drx.need.posted", {**ok_need, "urgency": "whenever"}, ORG), "data.urgency"),
        (
            ("post", "org.drx.need.posted", b.need(spec={**ok_need["spec"], "quantity": "-5"}), ORG),
            "data.spec.quantity: Input should be greater than 0",
        ),
        (
            ("post", "org.drx.need.posted", b.need(spec={**ok_need["spec"], "quantity": "500000000"}), ORG),
            "data.spec.quantity: Input should be less than or equal to 100000000",
        ),
        (
            ("post", "org.drx.need.posted", b.need(crisis_id="no-such-crisis"), ORG),
            "unknown crisis 'no-such-crisis'",
        ),
        (
            ("post", "org.drx.need.posted", b.need(crisis_id="closed-crisis"), ORG),
            "crisis 'closed-crisis' is closed",
        ),
        (
            (
                "post",
                "org.drx.need.posted",
                b.need(spec={"category": "funds", "amount": "5", "currency": "XQZ"}),
                ORG,
            ),
            "'XQZ' is not an ISO 4217 currency code",
        ),
        (
            ("post", "org.drx.need.posted", b.need(spec={**ok_need["spec"], "unit": "barrel"}), ORG),
            "data.spec.unit",
        ),
        (
            ("post", "org.drx.need.posted", b.need(spec={**ok_need["spec"], "item_code": "NOPE-1"}), ORG),
            "'NOPE-1' is not in the supplies catalogue",
        ),
        (
            ("post", "org.drx.need.posted", b.need(place={"country": "XXX"}), ORG),
            "data.place.country: 'XXX' is not an ISO 3166-1 alpha-3 country code",
        ),
        (
            ("post", "org.drx.need.posted", b.need(place={"country": "TUR", "admin_area": "SY-01"}), ORG),
            "'SY-01' is not a subdivision of TUR",
        ),
        (
            (
                "post",
                "org.drx.need.posted",
                b.need(
                    category="skills", spec={**b.need(category="skills")["spec"], "skills": ["juggling.fire"]}
                ),
                ORG,
            ),
            "'juggling.fire' is not in the skills taxonomy",
        ),
        (
            (
                "post",
                "org.drx.need.posted",
                b.need(category="skills", spec={**b.need(category="skills")["spec"], "languages": ["qq"]}),
                ORG,
            ),
            "'qq' is not an ISO 639 language code",
        ),
        (("post", "org.drx.need.posted", b.need(needed_by=_late(2)), ORG), "data.needed_by"),
        (
            ("post", "org.drx.pledge.posted", b.pledge(expires_on=_late(1), available_from=_late(9)), DONOR),
            "data.expires_on",
        ),
        (
            ("post", "org.drx.need.posted", b.need(), "urn:drx:org:nobody"),
            "not authorised: source 'urn:drx:org:nobody' is not registered",
        ),
        (
            ("post", "org.drx.need.posted", b.need(), DONOR),
            "not authorised: only organisation sources may post needs",
        ),
        (
            ("post", "org.drx.crisis.declared", b.crisis("c-x"), ORG),
            "not authorised: only coordinator sources",
        ),
        (
            (
                "post",
                "org.drx.match.decided",
                {"match_id": "m", "decision": "confirm", "decided_by": "x"},
                DONOR,
            ),
            "not authorised",
        ),
        (
            ("post", "org.drx.need.posted", b.need(organisation={"id": "ahbap", "name": "Ahbap"}), ORG),
            "posts for organisation 'trc-gaziantep', not 'ahbap'",
        ),
        (
            ("post", "org.drx.need.withdrawn", {"need_id": "n-owned", "revision": 2}, OTHER_ORG),
            "need 'n-owned' was posted by another source",
        ),
        (
            ("post", "org.drx.need.withdrawn", {"need_id": "n-never", "revision": 2}, ORG),
            "unknown need 'n-never'",
        ),
        (
            ("post", "org.drx.crisis.declared", b.crisis("c-bad-glide", glide="EQ-26-1-TUR"), COORD),
            "data.glide",
        ),
        (
            ("post", "org.drx.pledge.posted", b.pledge(earmarks={"crises": ["nope"]}), DONOR),
            "data.earmarks.crises[0]: unknown crisis 'nope'",
        ),
    ]


async def test_every_rejection_reason_reaches_the_rejected_topic(ingest):
    await ingest.declare(b.crisis())
    await ingest.post("org.drx.crisis.declared", b.crisis("closed-crisis"), COORD)
    await ingest.post("org.drx.crisis.closed", {"crisis_id": "closed-crisis", "revision": 2}, COORD)
    await ingest.wait_row("crisis", "closed-crisis", lambda r: r.status == "closed")
    await ingest.post("org.drx.need.posted", b.need("n-owned"), ORG)
    await ingest.wait_row("need", "n-owned")

    cases = await _rejection_cases(ingest)
    sent: dict[
        str, tuple[bytes, str]
    ] = {}  # SHA-256 of the original -> it, and words its rejection must contain
    for what, expected in cases:
        match what:
            case ("raw", topic, value, headers):
                await ingest.send_raw(topic, value, headers)
            case ("env", topic, document):
                value = b.encode(document)
                await ingest.send_raw(topic, value)
            case ("post", "org.drx.need.exploded", data, source):  # an unknown type has no topic
                value = b.encode(b.envelope("org.drx.need.exploded", data, source))
                await ingest.send_raw(ingest.topic("org.drx.need.posted"), value)
            case ("post", event_type, data, source):
                value = b.encode(await ingest.post(event_type, data, source))
        sent[hashlib.sha256(value).hexdigest()] = (value, expected)
    await ingest.post("org.drx.need.posted", b.need("n-after-garbage"), ORG)  # nothing valid is held up

    rejected = await ingest.wait_rejected(len(cases))
    await ingest.wait_row("need", "n-after-garbage")
    assert len(rejected) == len(cases)
    for record in rejected:
        data = record["data"]
        original, expected = sent[data["original_sha256"]]
        kept = base64.b64decode(data["original_base64"])
        assert data["original_length"] == len(original)
        # Up to the intake limit the original is carried whole; beyond it, its first 64 KiB.
        assert kept == original[: len(kept)]
        assert data["original_truncated"] == (len(kept) < len(original))
        assert expected in data["reason"], f"expected {expected!r} in {data['reason']!r}"
        assert data["source_topic"].startswith(ingest.settings.kafka.topic_prefix + "intake.")
        assert isinstance(data["source_partition"], int)
        assert isinstance(data["source_offset"], int)


async def test_binary_mode_is_accepted(ingest):
    data = b.crisis("c-binary")
    headers = {
        "ce_specversion": b"1.0",
        "ce_id": b"bin-1",
        "ce_source": COORD.encode(),
        "ce_type": b"org.drx.crisis.declared",
        "content-type": b"application/json",
    }
    await ingest.send_raw("org.drx.crisis.declared", json.dumps(data).encode(), headers)
    assert (await ingest.wait_row("crisis", "c-binary")).status == "active"


async def test_same_event_twice_gives_one_effect(ingest):
    await ingest.declare(b.crisis())
    data = b.need("n-dup")
    for _ in range(3):
        await ingest.post("org.drx.need.posted", data, ORG, event_id="evt-dup-1")
    await ingest.post("org.drx.need.posted", b.need("n-marker"), ORG)
    await ingest.wait_row("need", "n-marker")
    await ingest.out.wait_for(
        lambda rs: any(r["data"].get("need_id") == "n-marker" for r in rs), what="the marker need"
    )
    recorded = [r for r in ingest.out.of_type("org.drx.need.recorded") if r["data"]["need_id"] == "n-dup"]
    assert len(recorded) == 1
    assert (await ingest.row("need", "n-dup")).revision == 1


async def test_out_of_order_updates_keep_the_newest(ingest):
    await ingest.declare(b.crisis())
    await ingest.post("org.drx.need.posted", b.need("n-order", title="first"), ORG)
    await ingest.post("org.drx.need.updated", b.need("n-order", title="third", revision=3), ORG)
    await ingest.post("org.drx.need.updated", b.need("n-order", title="second", revision=2), ORG)
    await ingest.post("org.drx.need.posted", b.need("n-marker"), ORG)
    await ingest.wait_row("need", "n-marker")
    row = await ingest.row("need", "n-order")
    assert (row.revision, row.state["title"]) == (3, "third")


async def test_withdrawal_from_a_foreign_source_is_rejected(ingest):
    await ingest.declare(b.crisis())
    await ingest.post("org.drx.need.posted", b.need("n-mine"), ORG)
    await ingest.wait_row("need", "n-mine")
    await ingest.post("org.drx.need.withdrawn", {"need_id": "n-mine", "revision": 2}, OTHER_ORG)
    (rejected,) = await ingest.wait_rejected(1)
    assert "not authorised" in rejected["data"]["reason"]
    assert (await ingest.row("need", "n-mine")).status == "open"


async def test_a_rejected_event_can_be_sent_again_once_fixed(ingest):
    """Rejection does not burn the event id: after the crisis is declared, the same event applies."""
    data = b.need("n-early")
    await ingest.post("org.drx.need.posted", data, ORG, event_id="evt-early")
    await ingest.wait_rejected(1)
    await ingest.declare(b.crisis())
    await ingest.wait_row("crisis", "eq-tur-2026")
    await ingest.post("org.drx.need.posted", data, ORG, event_id="evt-early")
    assert (await ingest.wait_row("need", "n-early")).status == "open"


_GARBAGE = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.slow
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(samples=st.lists(_GARBAGE, min_size=20, max_size=40))
async def test_garbage_interleaved_with_valid_events_never_stops_the_worker(ingest, samples):
    """Hypothesis-made garbage between valid needs: every valid need is applied, every bad one rejected."""
    if await ingest.row("crisis", "eq-tur-2026") is None:
        await ingest.declare(b.crisis())
    rejected_before = len(ingest.out.of_type("org.drx.input.rejected"))
    expected = []
    for index, value in enumerate(samples):
        await ingest.send_raw("org.drx.need.posted", value)
        if index % 3 == 0:
            need_id = f"n-valid-{uuid.uuid4().hex[:8]}"
            expected.append(need_id)
            await ingest.post("org.drx.need.posted", b.need(need_id), ORG)

    async def all_applied() -> bool:
        return all([await ingest.row("need", need_id) is not None for need_id in expected])

    await eventually(all_applied, 60, "every valid need")
    await ingest.wait_rejected(rejected_before + len(samples))
