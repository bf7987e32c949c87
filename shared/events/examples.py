"""One complete, valid example envelope per event type: for docs/events.md and contract tests.

Dates are fixed so the generated docs are stable; copy an example and move its dates forward.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXAMPLES"]

_CRISIS: dict[str, Any] = {
    "crisis_id": "eq-tur-2026",
    "name": "Earthquake in southern Türkiye",
    "kind": "earthquake",
    "countries": ["TUR", "SYR"],
    "areas": ["TR-27", "TR-46", "TR-31", "Aleppo"],
    "severity": 5,
    "start_date": "2026-12-01",
    "glide": "EQ-2026-000123-TUR",
    "revision": 1,
}
_PLACE: dict[str, Any] = {
    "country": "TUR",
    "admin_area": "TR-27",
    "name": "Gaziantep",
    "lat": 37.066,
    "lon": 37.383,
}
_ORG: dict[str, Any] = {"id": "trc-gaziantep", "name": "Turkish Red Crescent, Gaziantep branch"}
_DONOR: dict[str, Any] = {
    "id": "hta-berlin",
    "name": "Gaziantep Home-Town Association, Berlin",
    "kind": "group",
}
_NEED: dict[str, Any] = {
    "need_id": "need-gzt-0042",
    "crisis_id": "eq-tur-2026",
    "organisation": _ORG,
    "title": "Blankets for the Gaziantep tent camp",
    "description": "Night temperatures below zero; 400 families in the Şehitkamil camp.",
    "sector": "shelter",
    "urgency": "critical",
    "needed_by": "2026-12-20",
    "place": _PLACE,
    "spec": {"category": "supplies", "item_code": "HSHEBLANWHT1", "quantity": "400", "unit": "piece"},
    "revision": 1,
}
_SKILLS_NEED: dict[str, Any] = {
    **_NEED,
    "need_id": "need-gzt-0043",
    "title": "Orthopaedic surgeons for the field hospital",
    "sector": "health",
    "spec": {
        "category": "skills",
        "skills": ["health.medicine.surgery.orthopaedic"],
        "headcount": 3,
        "languages": ["tr", "ar"],
        "mode": "on_site",
        "period": {"start": "2026-12-05", "end": "2026-12-19"},
    },
}
_PLEDGE: dict[str, Any] = {
    "pledge_id": "pledge-hta-berlin-7",
    "donor": _DONOR,
    "crisis_id": None,
    "title": "Winter blankets in our Berlin storeroom",
    "earmarks": {"countries": ["TUR", "SYR"], "sectors": ["shelter"]},
    "available_from": "2026-12-01",
    "expires_on": "2027-02-28",
    "place": {"country": "DEU", "name": "Berlin"},
    "spec": {"category": "supplies", "item_code": "HSHEBLANWHT1", "quantity": "250", "unit": "piece"},
    "revision": 1,
}
_FUNDS_PLEDGE: dict[str, Any] = {
    **_PLEDGE,
    "pledge_id": "pledge-hta-berlin-8",
    "crisis_id": "eq-tur-2026",
    "title": "Funds raised at the Friday collection",
    "spec": {"category": "funds", "amount": "12500.00", "currency": "EUR", "purpose": "shelter"},
}
_NEED_CONTEXT: dict[str, Any] = {
    "need_title": "Blankets for the Gaziantep tent camp",
    "organisation_name": "Turkish Red Crescent, Gaziantep branch",
    "sector": "shelter",
    "urgency": "critical",
    "needed_by": "2026-12-20",
    "country": "TUR",
    "admin_area": "TR-27",
    "place_name": "Gaziantep",
}
# A short delivery: 200 of the confirmed 250 arrived (only a fulfilled match says what arrived).
_DELIVERED: dict[str, dict[str, str]] = {"fulfilled": {"delivered_quantity": "200"}}
_MATCH: dict[str, Any] = {
    "match_id": "m-3f2a9c",
    "need_id": "need-gzt-0042",
    "pledge_id": "pledge-hta-berlin-7",
    "crisis_id": "eq-tur-2026",
    "category": "supplies",
    "quantity": "250",
    "unit": "piece",
    "status": "proposed",
    "explanation": "Same item; covers 250 of the 400 still needed; soonest-expiring exact pledge.",
    "organisation_id": "trc-gaziantep",
    "donor_id": "hta-berlin",
    "revision": 1,
    "context": {
        **_NEED_CONTEXT,
        "pledge_title": "Winter blankets from the Berlin home-town association",
        "donor_name": "Gaziantep HTA Berlin",
    },
}


def _envelope(type_: str, source: str, data: dict[str, Any], event_id: str, subject: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type_,
        "time": "2026-12-02T09:30:00Z",
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


_COORD = "urn:drx:coord:iom-desk"
_ORG_SOURCE = "urn:drx:org:trc-gaziantep"
_DONOR_SOURCE = "urn:drx:donor:hta-berlin"
_INGEST = "urn:drx:service:ingest"
_MATCHING = "urn:drx:service:matching"


def _recorded_need() -> dict[str, Any]:
    spec = {**_NEED["spec"], "base_quantity": "400", "base_unit": "piece"}
    return {**_NEED, "spec": spec, "status": "open", "source": _ORG_SOURCE}


def _recorded_pledge() -> dict[str, Any]:
    spec = {**_FUNDS_PLEDGE["spec"], "amount_usd": "13587.50", "fx_date": "2026-12-02"}
    return {**_FUNDS_PLEDGE, "spec": spec, "status": "active", "source": _DONOR_SOURCE}


EXAMPLES: dict[str, dict[str, Any]] = {
    "org.drx.crisis.declared": _envelope("org.drx.crisis.declared", _COORD, _CRISIS, "c-1", "eq-tur-2026"),
    "org.drx.crisis.updated": _envelope(
        "org.drx.crisis.updated",
        _COORD,
        {**_CRISIS, "areas": [*_CRISIS["areas"], "TR-02"], "revision": 2},
        "c-2",
        "eq-tur-2026",
    ),
    "org.drx.crisis.closed": _envelope(
        "org.drx.crisis.closed",
        _COORD,
        {"crisis_id": "eq-tur-2026", "reason": "Response phase ended", "revision": 3},
        "c-3",
        "eq-tur-2026",
    ),
    "org.drx.need.posted": _envelope(
        "org.drx.need.posted", _ORG_SOURCE, _SKILLS_NEED, "n-43-1", "need-gzt-0043"
    ),
    "org.drx.need.updated": _envelope(
        "org.drx.need.updated",
        _ORG_SOURCE,
        {**_NEED, "spec": {**_NEED["spec"], "quantity": "600"}, "revision": 2},
        "n-42-2",
        "need-gzt-0042",
    ),
    "org.drx.need.withdrawn": _envelope(
        "org.drx.need.withdrawn",
        _ORG_SOURCE,
        {"need_id": "need-gzt-0042", "reason": "Delivered by the municipality", "revision": 3},
        "n-42-3",
        "need-gzt-0042",
    ),
    "org.drx.pledge.posted": _envelope(
        "org.drx.pledge.posted", _DONOR_SOURCE, _PLEDGE, "p-7-1", "pledge-hta-berlin-7"
    ),
    "org.drx.pledge.updated": _envelope(
        "org.drx.pledge.updated",
        _DONOR_SOURCE,
        {**_FUNDS_PLEDGE, "revision": 2},
        "p-8-2",
        "pledge-hta-berlin-8",
    ),
    "org.drx.pledge.withdrawn": _envelope(
        "org.drx.pledge.withdrawn",
        _DONOR_SOURCE,
        {"pledge_id": "pledge-hta-berlin-7", "revision": 2},
        "p-7-2",
        "pledge-hta-berlin-7",
    ),
    "org.drx.match.decided": _envelope(
        "org.drx.match.decided",
        _COORD,
        {"match_id": "m-3f2a9c", "decision": "confirm", "decided_by": "Leyla Demir, shelter cluster"},
        "d-1",
        "m-3f2a9c",
    ),
    "org.drx.crisis.recorded": _envelope(
        "org.drx.crisis.recorded",
        _INGEST,
        {**_CRISIS, "status": "active", "source": _COORD},
        "org.drx.crisis.recorded:eq-tur-2026:r1",
        "eq-tur-2026",
    ),
    "org.drx.need.recorded": _envelope(
        "org.drx.need.recorded",
        _INGEST,
        _recorded_need(),
        "org.drx.need.recorded:need-gzt-0042:r1",
        "need-gzt-0042",
    ),
    "org.drx.pledge.recorded": _envelope(
        "org.drx.pledge.recorded",
        _INGEST,
        _recorded_pledge(),
        "org.drx.pledge.recorded:pledge-hta-berlin-8:r1",
        "pledge-hta-berlin-8",
    ),
    "org.drx.decision.recorded": _envelope(
        "org.drx.decision.recorded",
        _INGEST,
        {
            "match_id": "m-3f2a9c",
            "decision": "confirm",
            "decided_by": "Leyla Demir, shelter cluster",
            "source": _COORD,
            "scope": {"crises": [], "countries": ["SYR", "TUR"], "all": False},
        },
        "org.drx.decision.recorded:urn:drx:coord:iom-desk d-1",
        "m-3f2a9c",
    ),
    **{
        f"org.drx.match.{status}": _envelope(
            f"org.drx.match.{status}",
            _MATCHING,
            {**_MATCH, "status": status, "revision": revision, **_DELIVERED.get(status, {})},
            f"m-3f2a9c:r{revision}",
            "m-3f2a9c",
        )
        for revision, status in enumerate(
            ("proposed", "confirmed", "rejected", "expired", "fulfilled", "cancelled"), start=1
        )
    },
    "org.drx.match.reminder": _envelope(
        "org.drx.match.reminder",
        _MATCHING,
        {**_MATCH, "status": "proposed", "revision": 1},
        "reminder:m-3f2a9c",
        "m-3f2a9c",
    ),
    "org.drx.need.expiring": _envelope(
        "org.drx.need.expiring",
        _INGEST,
        {
            "entity_type": "need",
            "entity_id": "need-gzt-0042",
            "owner_kind": "organisation",
            "owner_id": "trc-gaziantep",
            "title": "Blankets for the Gaziantep tent camp",
            "crisis_id": "eq-tur-2026",
            "category": "supplies",
            "expires_on": "2026-12-20",
            "days_left": 3,
        },
        "expiring:need:need-gzt-0042:2026-12-20",
        "need-gzt-0042",
    ),
    "org.drx.pledge.expiring": _envelope(
        "org.drx.pledge.expiring",
        _INGEST,
        {
            "entity_type": "pledge",
            "entity_id": "pledge-hta-berlin-7",
            "owner_kind": "donor",
            "owner_id": "hta-berlin",
            "title": "Winter blankets from the Berlin home-town association",
            "crisis_id": "eq-tur-2026",
            "category": "supplies",
            "expires_on": "2027-01-15",
            "days_left": 3,
        },
        "expiring:pledge:pledge-hta-berlin-7:2027-01-15",
        "pledge-hta-berlin-7",
    ),
    "org.drx.subscription.set": _envelope(
        "org.drx.subscription.set",
        _COORD,
        {
            "subscription_id": "sub-iom-shelter-tur",
            "recipient_id": "iom-desk-leyla",
            "recipient_kind": "coordinator",
            "channel": "email",
            "address": "leyla.demir@example.org",
            "digest": "hourly",
            "crisis_id": "eq-tur-2026",
            "country": "TUR",
            "sector": "shelter",
        },
        "sub-1",
        "sub-iom-shelter-tur",
    ),
    "org.drx.subscription.removed": _envelope(
        "org.drx.subscription.removed",
        _COORD,
        {"subscription_id": "sub-iom-shelter-tur"},
        "sub-2",
        "sub-iom-shelter-tur",
    ),
    "org.drx.need.coverage": _envelope(
        "org.drx.need.coverage",
        _MATCHING,
        {
            "need_id": "need-gzt-0042",
            "crisis_id": "eq-tur-2026",
            "organisation_id": "trc-gaziantep",
            "category": "supplies",
            "status": "covered",
            "filled": True,
            "quantity": "400",
            "proposed": "0",
            "confirmed": "400",
            "fulfilled": "0",
            "unit": "piece",
            "context": _NEED_CONTEXT,
        },
        "coverage:need-gzt-0042:7c1e",
        "need-gzt-0042",
    ),
    "org.drx.notification.sent": _envelope(
        "org.drx.notification.sent",
        "urn:drx:service:notify",
        {
            "notification_id": "ntf-91c0",
            "recipient_id": "trc-gaziantep",
            "recipient_kind": "organisation",
            "channel": "email",
            "kind": "match.proposed",
            "subject": "250 blankets offered for need-gzt-0042",
            "text": "Gaziantep HTA Berlin offers 250 of the 400 blankets you need in Gaziantep. "
            "A coordinator will confirm. Match m-3f2a9c.",
            "match_id": "m-3f2a9c",
            "need_id": "need-gzt-0042",
        },
        "ntf-91c0",
        "m-3f2a9c",
    ),
    "org.drx.audit.recorded": _envelope(
        "org.drx.audit.recorded",
        "urn:drx:service:audit",
        {
            "seq": 1812,
            "at": "2026-12-02T09:30:01Z",
            "actor": _ORG_SOURCE,
            "action": "need.posted",
            "entity_type": "need",
            "entity_id": "need-gzt-0043",
            "after": {"status": "open", "revision": 1},
            "causing_event_id": "n-43-1",
            "correlation_id": "n-43-1",
            "prev_hash": "4f1c…",
            "hash": "9a07…",
        },
        "audit:1812",
        "need/need-gzt-0043",
    ),
    "org.drx.audit.checkpoint": _envelope(
        "org.drx.audit.checkpoint",
        "urn:drx:service:audit",
        {
            "seq": 1812,
            "hash": "9a07…",
            "at": "2026-12-02T09:30:00.000000Z",
            "key_id": "3f9a0c41d2b7e815",
            "signature": "mX0…==",
        },
        "audit-checkpoint:1812:3f9a0c41d2b7e815:2026-12-02T09:30:00.000000Z",
        "audit/1812",
    ),
    "org.drx.input.rejected": _envelope(
        "org.drx.input.rejected",
        _INGEST,
        {
            "reason": "data.spec.currency: 'EURO' is not an ISO 4217 currency code",
            "source_topic": "drx.intake.pledges",
            "source_partition": 2,
            "source_offset": 1187,
            "original_base64": "eyJzcGVjdmVyc2lvbiI6IjEuMCIsLi4ufQ==",
            "original_text": '{"specversion":"1.0",...}',
            "event_id": "p-9-1",
            "event_type": "org.drx.pledge.posted",
            "event_source": _DONOR_SOURCE,
        },
        "rejected:drx.intake.pledges/2/1187",
        "drx.intake.pledges/2/1187",
    ),
}
