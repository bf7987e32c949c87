"""The invalid input of a generated scenario: a handful of mistakes people make.

Each is a step that ingest must refuse, with the text its reason must contain
(``expect_rejected``, docs/demo.md); the demo checks every one of them against the rejected topic.
They are built from the first generated need and donor, so they look like the rest.
"""

# ruff: noqa: RUF001 - Turkish place names use the dotless i

from __future__ import annotations

from typing import Any

from services.demo.parties import Party
from services.demo.posts import CRISIS_ID, event

__all__ = ["invalid_events"]


def invalid_events(
    orgs: list[Party], donors: list[Party], needs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A handful of mistakes people make, each with the reason ingest must give."""
    sample, donor = needs[0], donors[0]
    org = next(o for o in orgs if o.party == sample["organisation"]["id"])

    def need(changes: dict[str, Any], suffix: str) -> dict[str, Any]:
        return {**sample, "need_id": f"{sample['need_id']}-{suffix}", **changes}

    blankets = {"category": "supplies", "item_code": "HSHEBLANKET99", "quantity": "300", "unit": "piece"}
    wrong_area = {**sample["place"], "country": "TUR", "admin_area": "SY-HL"}
    funds = {"category": "funds", "amount": "5000", "currency": "XQZ"}
    bad_pledge = {
        "pledge_id": f"pledge-{donor.party}-bad",
        "donor": {"id": donor.party, "name": donor.name, "kind": donor.kind},
        "crisis_id": CRISIS_ID,
        "title": "Funds in a currency that does not exist",
        "available_from": "today",
        "expires_on": "today+30",
        "place": donor.place.as_data(),
        "spec": funds,
    }
    skills = {**(sample["spec"] if sample["spec"]["category"] == "skills" else {}), "category": "skills"}
    skills |= {
        "skills": ["health.medicine.homeopathy"],
        "headcount": 2,
        "period": {"start": "today", "end": "today+9"},
    }
    return [
        {
            **event("org.drx.need.posted", org.source, need({"spec": blankets}, "x1")),
            "expect_rejected": "is not in the supplies catalogue",
        },
        {
            **event("org.drx.need.posted", org.source, need({"place": wrong_area}, "x2")),
            "expect_rejected": "is not a subdivision of TUR",
        },
        {
            **event("org.drx.pledge.posted", donor.source, bad_pledge),
            "expect_rejected": "is not an ISO 4217 currency code",
        },
        {
            **event("org.drx.need.posted", "urn:drx:org:not-registered", need({}, "x3")),
            "expect_rejected": "is not registered",
        },
        {
            **event("org.drx.need.posted", org.source, need({"crisis_id": "fl-pak-2026"}, "x4")),
            "expect_rejected": "unknown crisis",
        },
        {
            **event("org.drx.need.posted", org.source, need({"needed_by": "today-4"}, "x5")),
            "expect_rejected": "is in the past",
        },
        {
            **event("org.drx.need.posted", org.source, need({"spec": skills}, "x6")),
            "expect_rejected": "is not in the skills taxonomy",
        },
        {
            **event(
                "org.drx.pledge.posted", org.source, {**bad_pledge, "spec": {**funds, "currency": "EUR"}}
            ),
            "expect_rejected": "only donor sources may post pledges",
        },
        {
            "raw": "need: 40 tents for Nurdağı, please call Ahmet",
            "topic": "intake.needs",
            "key": "phone-note",
            "expect_rejected": "is not JSON",
        },
    ]
