"""A seeded stream of events for the fault suite, and the end state it must produce.

The generator knows, for every input, whether it is valid and what it does; the expected end
state (each crisis, need and pledge with its status and revision, and which inputs must be
rejected) is computed from the input alone, never from what the system did.

Decisions are the exception: a coordinator decides on proposals that exist only at run time,
so the harness makes them as proposals appear (see ``harness.Coordinator``) and the checker
verifies each was applied once, not what matching allocated.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.support import builders as b

ORGS = (b.ORGANISATION, b.OTHER_ORGANISATION)
Kind = Literal["crisis", "need", "pledge"]


@dataclass(frozen=True)
class Step:
    """One record to produce: where, what bytes, and whether ingest must accept or reject it."""

    event_type: str  # decides the topic (an invalid record still goes to a real intake topic)
    value: bytes
    key: str | None
    valid: bool
    event_id: str | None = None
    why_invalid: str = ""


@dataclass
class Scenario:
    seed: int
    crises: list[Step] = field(default_factory=list)  # posted first, waited for
    steps: list[Step] = field(default_factory=list)
    expected: dict[tuple[Kind, str], tuple[str, int]] = field(default_factory=dict)  # status, revision

    @property
    def valid(self) -> int:
        return sum(s.valid for s in (*self.crises, *self.steps))

    @property
    def invalid(self) -> int:
        return sum(not s.valid for s in self.steps)

    def duplicated(self, fraction: float) -> Scenario:
        """The same records delivered twice (same bytes, same event id): ingest applies them once."""
        rng = random.Random(self.seed + 1)
        steps: list[Step] = []
        for step in self.steps:
            steps.append(step)
            if rng.random() < fraction:
                steps.append(step)
        return Scenario(self.seed, self.crises, steps, self.expected)

    def shuffled(self) -> Scenario:
        """Records of different entities in a random order; one entity's records keep theirs.

        Kafka orders records only per partition (per key), so this is the disorder producers
        can really cause: a pledge before the need it is for, another entity's update first.
        """
        rng = random.Random(self.seed + 2)
        by_key: dict[str | None, list[Step]] = {}
        for step in self.steps:
            by_key.setdefault(step.key, []).append(step)
        queues = list(by_key.values())
        steps: list[Step] = []
        while queues:
            queue = rng.choice(queues)
            steps.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
        return Scenario(self.seed, self.crises, steps, self.expected)


def _step(event_type: str, data: Any, source: str, key: str) -> Step:
    document = b.envelope(event_type, data, source, event_id=str(uuid.uuid4()))
    return Step(event_type, b.encode(document), key, valid=True, event_id=document["id"])


def _invalid(rng: random.Random, number: int, crisis_ids: list[str]) -> Step:
    """One of several kinds of bad input, each with the reason a person would need."""
    org_source = b.ORGANISATION[0]
    need_id = f"bad-{number}"
    match number % 6:
        case 0:
            return _bad(b'{"specversion": "1.0", "id": ', need_id, None, "not JSON")
        case 1:
            data = b.need(need_id, crisis_id=rng.choice(crisis_ids), category="funds")
            data["spec"] = {**data["spec"], "currency": "EURO"}
            why = "unknown currency"
        case 2:
            data = b.need(need_id, crisis_id="no-such-crisis")
            why = "unknown crisis"
        case 3:
            data = b.need(need_id, crisis_id=rng.choice(crisis_ids), needed_by="2020-01-01")
            why = "needed_by in the past"
        case 4:
            document = b.envelope("org.drx.need.posted", b.need(need_id), "urn:drx:org:unknown")
            return _bad(b.encode(document), need_id, document["id"], "unknown source")
        case _:
            data = b.need(need_id, crisis_id=rng.choice(crisis_ids))
            del data["spec"]
            why = "missing spec"
    document = b.envelope("org.drx.need.posted", data, org_source, event_id=str(uuid.uuid4()))
    return _bad(b.encode(document), need_id, document["id"], why)


def _bad(value: bytes, key: str, event_id: str | None, why: str) -> Step:
    return Step("org.drx.need.posted", value, key, valid=False, event_id=event_id, why_invalid=why)


def generate(seed: int, needs: int, pledges: int, *, invalid_ratio: float = 0.05) -> Scenario:
    """Crises, needs and pledges (some updated, some withdrawn) and bad input mixed in."""
    rng = random.Random(seed)
    scenario = Scenario(seed)
    crisis_ids = [f"c{seed}-{i}" for i in range(2)]
    for crisis_id in crisis_ids:
        scenario.crises.append(
            _step("org.drx.crisis.declared", b.crisis(crisis_id), b.COORDINATOR[0], crisis_id)
        )
        scenario.expected[("crisis", crisis_id)] = ("active", 1)

    entities: list[tuple[Kind, str, dict[str, Any], str]] = []
    for i in range(needs):
        org = rng.choice(ORGS)
        need_id = f"n{seed}-{i}"
        data = b.need(
            need_id,
            crisis_id=rng.choice(crisis_ids),
            organisation={"id": org[2], "name": org[3]},
            urgency=rng.choice(["critical", "high", "medium", "low"]),
            spec=b.random_supplies(rng, 20, 300),
        )
        entities.append(("need", need_id, data, org[0]))
    for i in range(pledges):
        pledge_id = f"p{seed}-{i}"
        standing = rng.random() < 0.3
        data = b.pledge(pledge_id, spec=b.random_supplies(rng, 20, 300))
        if standing:  # no crisis: offered to any crisis its earmarks allow
            del data["crisis_id"]
        else:
            data["crisis_id"] = rng.choice(crisis_ids)
        entities.append(("pledge", pledge_id, data, b.DONOR[0]))
    rng.shuffle(entities)

    invalid_every = max(int(1 / invalid_ratio), 1) if invalid_ratio else 0
    bad = 0
    for number, (kind, entity_id, data, source) in enumerate(entities):
        steps = [_step(f"org.drx.{kind}.posted", data, source, entity_id)]
        revision, status = 1, "open" if kind == "need" else "active"
        roll = rng.random()
        if roll < 0.15:  # a later change of quantity, up or down (below what is matched, often)
            revision = 2
            before = int(data["spec"]["quantity"])
            after = max(1, before + rng.choice((-1, 1)) * rng.randint(1, 120))
            spec = {**data["spec"], "quantity": str(after if after != before else before + 1)}
            steps.append(
                _step(f"org.drx.{kind}.updated", {**data, "spec": spec, "revision": 2}, source, entity_id)
            )
        if roll > 0.9:  # withdrawn
            revision += 1
            withdrawal = {f"{kind}_id": entity_id, "revision": revision, "reason": "no longer needed"}
            steps.append(_step(f"org.drx.{kind}.withdrawn", withdrawal, source, entity_id))
            status = "withdrawn"
        scenario.steps.extend(steps)
        scenario.expected[(kind, entity_id)] = (status, revision)
        if invalid_every and number % invalid_every == 0:
            scenario.steps.append(_invalid(rng, bad, crisis_ids))
            bad += 1
    return scenario


def decision(match_id: str, verdict: str) -> tuple[bytes, str]:
    """A coordinator's decision on a proposal, as bytes for the decisions topic, and its event id."""
    data = {"match_id": match_id, "decision": verdict, "decided_by": "fault-suite coordinator"}
    document = b.envelope("org.drx.match.decided", data, b.COORDINATOR[0], event_id=str(uuid.uuid4()))
    return json.dumps(document).encode(), document["id"]


def verdict_for(match_id: str) -> str | None:
    """Deterministic per match: about a third confirmed, a sixth rejected, the rest left waiting."""
    bucket = int(uuid.uuid5(uuid.NAMESPACE_URL, match_id)) % 6
    return {0: "confirm", 1: "confirm", 2: "reject"}.get(bucket)
