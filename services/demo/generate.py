"""Generate a demo scenario from a seed: ``python -m services.demo.generate [--seed N] [--needs N] ...``.

The packaged default (``scenarios/earthquake-tur-syr.json``) is this generator's output with the
defaults below; a unit test keeps the two equal. Places, admin areas, catalogue item codes,
skill codes and currencies are real (``data/`` here, and ``shared.reference``); organisations,
donors and people are made up. This module lays out the scenario: who takes part, the phases,
the decisions; :mod:`services.demo.parties`, :mod:`services.demo.posts` and
:mod:`services.demo.invalid` draw what goes in them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from typing import Any

from services.demo.invalid import invalid_events
from services.demo.parties import Party, draw_donors, draw_organisations
from services.demo.places import AFFECTED, DIASPORA
from services.demo.posts import CRISIS_ID, event, need, pledge
from services.demo.scenario import FORMAT, WEBHOOK_URL

__all__ = ["CRISIS_ID", "generate_scenario", "main"]

_HUB = "urn:drx:coord:gaziantep-hub"
_CROSSBORDER = "urn:drx:coord:crossborder-desk"


def _subscriptions(orgs: list[Party], people: list[Party]) -> list[dict[str, Any]]:
    """Coordinators by crisis, sector or country; the first four organisations and donors, their own."""
    return [
        {
            "subscription_id": "sub-hub-all",
            "recipient_id": "gaziantep-hub",
            "recipient_kind": "coordinator",
            "channel": "kafka",
            "crisis_id": CRISIS_ID,
        },
        {
            "subscription_id": "sub-health-cluster",
            "recipient_id": "health-cluster-lead",
            "recipient_kind": "coordinator",
            "channel": "webhook",
            "address": WEBHOOK_URL,
            "crisis_id": CRISIS_ID,  # within the hub's scope
            "sector": "health",
        },
        {
            "subscription_id": "sub-shelter-tur",
            "recipient_id": "shelter-cluster-tur",
            "recipient_kind": "coordinator",
            "channel": "webhook",
            "address": WEBHOOK_URL,
            "sector": "shelter",
            "country": "TUR",
        },
        {
            "subscription_id": "sub-crossborder-syr",
            "recipient_id": "crossborder-desk",
            "recipient_kind": "coordinator",
            "channel": "kafka",
            "country": "SYR",
        },
        *(
            {
                "subscription_id": f"sub-{o.party}",
                "recipient_id": o.party,
                "recipient_kind": "organisation",
                "channel": "kafka",
            }
            for o in orgs[:4]
        ),
        *(
            {
                "subscription_id": f"sub-{d.party}",
                "recipient_id": d.party,
                "recipient_kind": "donor",
                "channel": "kafka",
            }
            for d in people[:4]
        ),
    ]


def generate_scenario(
    *, seed: int = 2023, organisations: int = 30, needs: int = 240, donors: int = 45, pledges: int = 150
) -> dict[str, Any]:
    """A whole scenario document (the JSON format of docs/demo.md), the same for the same arguments."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, not security
    orgs = draw_organisations(rng, organisations)
    groups = max(1, donors * 3 // 5)
    people = draw_donors(rng, groups, donors - groups)
    coordinators = [
        {
            "source": _HUB,
            "role": "coordinator",
            "party": "gaziantep-hub",
            "name": "Gaziantep coordination hub",
            "scope": {"crises": [CRISIS_ID], "countries": ["TUR", "SYR"]},  # declares the crisis
        },
        {
            "source": _CROSSBORDER,
            "role": "coordinator",
            "party": "crossborder-desk",
            "name": "Cross-border desk",
            "scope": {"crises": [CRISIS_ID]},  # decides this crisis's matches, on both sides
        },
    ]
    sources = [
        *coordinators,
        *({"source": o.source, "role": "organisation", "party": o.party, "name": o.name} for o in orgs),
        *({"source": d.source, "role": "donor", "party": d.party, "name": d.name} for d in people),
    ]
    areas = sorted({p.admin_area for p in AFFECTED if p.admin_area})
    crisis = {
        "crisis_id": CRISIS_ID,
        "name": "Earthquakes in southern Türkiye and north-west Syria (demo)",
        "kind": "earthquake",
        "countries": ["TUR", "SYR"],
        "areas": [a for a in areas if a != "TR-21"],
        "severity": 5,
        "start_date": "today-2",
    }
    subscriptions = _subscriptions(orgs, people)
    need_list = [need(rng, n, rng.choice(orgs)) for n in range(needs)]
    late = max(1, pledges // 6)
    pledge_list = [pledge(rng, n, rng.choice(people)) for n in range(pledges)]
    first, later = pledge_list[:-late], pledge_list[-late:]
    by_source = {d.party: d.source for d in people}
    org_source = {o.party: o.source for o in orgs}
    # The hub sets the coordinators' subscriptions, in its scope; a party subscribes itself.
    subscriber = defaultdict(lambda: _HUB, {**org_source, **by_source})
    grown = [n for n in need_list if n["spec"]["category"] == "supplies"][:2]
    updates = [
        event(
            "org.drx.need.updated",
            org_source[n["organisation"]["id"]],
            {**n, "spec": {**n["spec"], "quantity": str(int(n["spec"]["quantity"]) * 2)}, "revision": 2},
        )
        for n in grown
    ]
    withdrawn_need = need_list[len(need_list) // 3]
    withdrawn_pledges = first[5:7]
    withdrawals = [
        event(
            "org.drx.need.withdrawn",
            org_source[withdrawn_need["organisation"]["id"]],
            {"need_id": withdrawn_need["need_id"], "reason": "Delivered by the municipality", "revision": 2},
        ),
        *(
            event(
                "org.drx.pledge.withdrawn",
                by_source[p["donor"]["id"]],
                {"pledge_id": p["pledge_id"], "reason": "Stock went to a local drive instead", "revision": 2},
            )
            for p in withdrawn_pledges
        ),
    ]
    crisis_update = event("org.drx.crisis.updated", _HUB, {**crisis, "areas": areas, "revision": 2})
    hub, desk = "Leyla Demir, Gaziantep coordination hub", "Omar Haddad, cross-border desk"
    return {
        "format": FORMAT,
        "name": "Earthquakes in southern Türkiye and north-west Syria",
        "description": (
            f"{organisations} relief organisations post {needs} needs for funds, supplies and skills in "
            f"{len(AFFECTED)} real towns; {donors} diaspora groups and professionals in "
            f"{len(DIASPORA)} cities pledge {pledges} times (standing, earmarked, some expiring in days); "
            "coordinators confirm, reject, "
            "report deliveries and cancel; needs grow, one is withdrawn, two pledges are withdrawn; and some "
            f"input is invalid. Generated by `python -m services.demo.generate --seed {seed}`; "
            "organisations, donors and people are made up, places and codes are real."
        ),
        "sources": sources,
        "phases": [
            {
                "name": "crisis declared, coordinators subscribe",
                "events": [
                    event("org.drx.crisis.declared", _HUB, crisis),
                    *(
                        event("org.drx.subscription.set", subscriber[s["recipient_id"]], s)
                        for s in subscriptions
                    ),
                ],
            },
            {
                "name": "organisations post needs, diaspora pledges",
                "events": [
                    *(
                        event("org.drx.need.posted", org_source[n["organisation"]["id"]], n)
                        for n in need_list
                    ),
                    *(event("org.drx.pledge.posted", by_source[p["donor"]["id"]], p) for p in first),
                    *invalid_events(orgs, people, need_list),
                ],
            },
            {
                "name": "coordinators review proposals",
                "decisions": [
                    {"decision": "confirm", "source": _HUB, "by": hub, "share": 0.5, "seed": seed},
                    {
                        "decision": "reject",
                        "source": _CROSSBORDER,
                        "by": desk,
                        "share": 0.12,
                        "seed": seed + 1,
                        "reason": "Cannot cross the border this week; keep the capacity for another need",
                    },
                ],
            },
            {
                "name": "the crisis widens, needs grow, late pledges arrive, some are withdrawn",
                "events": [
                    crisis_update,
                    *updates,
                    *withdrawals,
                    *(event("org.drx.pledge.posted", by_source[p["donor"]["id"]], p) for p in later),
                ],
            },
            {
                "name": "deliveries reported, second review",
                "decisions": [
                    {"decision": "fulfilled", "source": _HUB, "by": hub, "share": 0.4, "seed": seed + 2},
                    {
                        "decision": "cancel",
                        "source": _CROSSBORDER,
                        "by": desk,
                        "count": 1,
                        "seed": seed + 3,
                        "reason": "Truck turned back at the Cilvegözü crossing",
                    },
                    {"decision": "confirm", "source": _HUB, "by": hub, "share": 0.5, "seed": seed + 4},
                ],
            },
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--organisations", type=int, default=30)
    parser.add_argument("--needs", type=int, default=240)
    parser.add_argument("--donors", type=int, default=45)
    parser.add_argument("--pledges", type=int, default=150)
    args = parser.parse_args(argv)
    document = generate_scenario(
        seed=args.seed,
        organisations=args.organisations,
        needs=args.needs,
        donors=args.donors,
        pledges=args.pledges,
    )
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
