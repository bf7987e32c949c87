"""Valid event data and envelopes for tests, with dates relative to ``today``."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import time
import uuid
from collections.abc import Sequence
from typing import Any

from shared.events.envelope import STRUCTURED_CONTENT_TYPE
from shared.intake.parsing import RawMessage
from shared.kafka.topics import TopicSpec
from shared.scope import Scope

COORDINATOR = ("urn:drx:coord:iom-desk", "coordinator", "iom-desk", "IOM diaspora desk")
ORGANISATION = (
    "urn:drx:org:trc-gaziantep",
    "organisation",
    "trc-gaziantep",
    "Turkish Red Crescent, Gaziantep",
)
OTHER_ORGANISATION = ("urn:drx:org:ahbap", "organisation", "ahbap", "Ahbap")
DONOR = ("urn:drx:donor:hta-berlin", "donor", "hta-berlin", "Gaziantep Home-Town Association, Berlin")
SOURCES = (COORDINATOR, ORGANISATION, OTHER_ORGANISATION, DONOR)
# A coordinator for another crisis's country, registered by the tests that need one.
NEPAL_COORDINATOR = ("urn:drx:coord:npl-desk", "coordinator", "npl-desk", "Nepal coordination desk")
# A global desk (every crisis and country, granted with `drx sources scope --all`), likewise.
GLOBAL_COORDINATOR = ("urn:drx:coord:ocha-desk", "coordinator", "ocha-desk", "OCHA global desk")
# The coordinators' scopes: the test coordinator runs the countries of the test crisis (crisis()).
SCOPES = {
    COORDINATOR[0]: Scope.of(countries=("TUR", "SYR")),
    NEPAL_COORDINATOR[0]: Scope.of(countries=("NPL",)),
    GLOBAL_COORDINATOR[0]: Scope(everything=True),
}

# Codes from the packaged reference data (see docs/reference.md).
SUPPLY_ITEM = "HSHEBLANWHT1"  # IFRC: blanket, woven, 80% wool, high thermal
SUPPLY_UNIT = "piece"
SKILL = "health.medicine"
# Three match keys for streams of supplies: blankets (woven, fleece) and a family tent.
SUPPLY_ITEMS = ("HSHEBLANWHT1", "HSHEBLANCLT1", "HSHETENTF16C")

_ids = itertools.count(1)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def crisis(crisis_id: str = "eq-tur-2026", *, revision: int = 1, **changes: Any) -> dict[str, Any]:
    return {
        "crisis_id": crisis_id,
        "name": "Earthquake in southern Türkiye",
        "kind": "earthquake",
        "countries": ["TUR", "SYR"],
        "areas": ["TR-27", "TR-46", "TR-31"],
        "severity": 5,
        "start_date": str(today() - dt.timedelta(days=3)),
        "glide": "EQ-2026-000123-TUR",
        "revision": revision,
        **changes,
    }


def need(
    need_id: str | None = None, *, crisis_id: str = "eq-tur-2026", category: str = "supplies", **changes: Any
) -> dict[str, Any]:
    specs = {
        "funds": {"category": "funds", "amount": "20000", "currency": "EUR", "purpose": "shelter kits"},
        "supplies": {
            "category": "supplies",
            "item_code": SUPPLY_ITEM,
            "quantity": "400",
            "unit": SUPPLY_UNIT,
        },
        "skills": {
            "category": "skills",
            "skills": [SKILL],
            "headcount": 3,
            "languages": ["tr", "ar"],
            "mode": "on_site",
            "period": {"start": str(today()), "end": str(today() + dt.timedelta(days=14))},
        },
    }
    return {
        "need_id": need_id or f"need-{next(_ids)}",
        "crisis_id": crisis_id,
        "organisation": {"id": ORGANISATION[2], "name": ORGANISATION[3]},
        "title": "Blankets for the Gaziantep tent camp",
        "sector": "shelter",
        "urgency": "high",
        "needed_by": str(today() + dt.timedelta(days=10)),
        "place": {"country": "TUR", "admin_area": "TR-27", "name": "Gaziantep", "lat": 37.066, "lon": 37.383},
        "spec": specs[category],
        **changes,
    }


def pledge(pledge_id: str | None = None, *, category: str = "supplies", **changes: Any) -> dict[str, Any]:
    base = need(category=category)["spec"]
    if category == "supplies":
        base = {**base, "quantity": "250"}
    if category == "skills":
        base = {**base, "travel_radius_km": 500}
    return {
        "pledge_id": pledge_id or f"pledge-{next(_ids)}",
        "donor": {"id": DONOR[2], "name": DONOR[3], "kind": "group"},
        "crisis_id": "eq-tur-2026",
        "title": "Blankets from our Berlin warehouse",
        "earmarks": {"countries": ["TUR"]},
        "available_from": str(today()),
        "expires_on": str(today() + dt.timedelta(days=60)),
        "place": {"country": "DEU", "name": "Berlin"},
        "spec": base,
        **changes,
    }


def supplies(item: str, quantity: int) -> dict[str, Any]:
    """A supplies spec of ``quantity`` pieces of catalogue item ``item``, for a need or a pledge."""
    return {"category": "supplies", "item_code": item, "quantity": str(quantity), "unit": SUPPLY_UNIT}


def random_supplies(
    rng: random.Random, least: int, most: int, items: Sequence[str] = SUPPLY_ITEMS
) -> dict[str, Any]:
    """A supplies spec of one of ``items``, ``least`` to ``most`` pieces: seeded streams of needs and
    pledges (the fault suite, race tests). The item is drawn before the quantity."""
    item = rng.choice(items)
    return supplies(item, rng.randint(least, most))


def subscription(subscription_id: str, **changes: Any) -> dict[str, Any]:
    """An organisation's email subscription to its own alerts (``org.drx.subscription.set`` data)."""
    return {
        "subscription_id": subscription_id,
        "recipient_id": ORGANISATION[2],
        "recipient_kind": "organisation",
        "channel": "email",
        "address": "ops@example.org",
        **changes,
    }


def envelope(event_type: str, data: Any, source: str, *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "time": dt.datetime.now(dt.UTC).isoformat(),
        "data": data,
    }


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


HEADERS = {"content-type": STRUCTURED_CONTENT_TYPE}


_offsets = itertools.count()


def raw(spec: TopicSpec, event_type: str, data: Any, source: str, *, prefix: str = "drx.") -> RawMessage:
    """A posted event as ingest receives it from the intake topic ``spec``, at the next offset."""
    return RawMessage(
        topic=f"{prefix}{spec.name}",
        spec=spec,
        partition=0,
        offset=next(_offsets),
        timestamp_ms=int(time.time() * 1000),
        value=encode(envelope(event_type, data, source)),
        headers=dict(HEADERS),
    )


def record(
    value: bytes, *, spec: TopicSpec, headers: dict[str, str] | None = None, offset: int = 0
) -> RawMessage:
    """Any bytes as they would arrive on ``drx.<spec>``: for the parsing tests, which send hostile ones."""
    return RawMessage(
        topic=f"drx.{spec.name}",
        spec=spec,
        partition=0,
        offset=offset,
        timestamp_ms=0,
        value=value,
        headers=dict(HEADERS) if headers is None else headers,
    )
