"""Compare what the stack did with what the input says it must do.

Every number in a :class:`Report` is a count of something that went wrong; all must be zero.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from shared.audit import verify_database
from shared.db.models import (
    AuditRecordRow,
    CrisisRow,
    DeliveryRow,
    MatchingNeedRow,
    MatchingPledgeRow,
    NeedRow,
    PledgeRow,
    ProcessedEvent,
)
from tests.faults.harness import Stack
from tests.faults.scenario import Scenario
from tests.support import builders as b
from tests.support.invariants import ledger_violations, unmatched_pairs


@dataclass
class Report:
    scenario: str
    events: int  # valid inputs, decisions included
    invalid: int
    lost: int = 0
    duplicated: int = 0
    over_allocated: int = 0
    unmatched: int = 0
    rejections_missing: int = 0
    alerts_duplicated: int = 0
    alerts_undelivered: int = 0
    alerts_resent: int = 0  # the same delivery id accepted again: at least once, as documented
    audit_problem: str = ""
    recovery_s: float = 0.0
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        counts = (
            self.lost,
            self.duplicated,
            self.over_allocated,
            self.unmatched,
            self.rejections_missing,
            self.alerts_duplicated,
            self.alerts_undelivered,
        )
        return not any(counts) and not self.audit_problem


async def check(name: str, scenario: Scenario, stack: Stack, recovery_s: float) -> Report:
    report = Report(name, scenario.valid + len(stack.decisions), scenario.invalid, recovery_s=recovery_s)
    await _entities(report, scenario, stack)
    await _decisions(report, stack)
    _rejections(report, scenario, stack)
    problems = await ledger_violations(stack.sessions)
    report.over_allocated = len(problems)
    report.details += problems[:5]
    left = await unmatched_pairs(stack.sessions, b.today())
    report.unmatched = len(left)
    report.details += [f"eligible pair left unmatched: {pair}" for pair in left[:5]]
    await _duplicates(report, stack)
    await _alerts(report, stack)
    async with stack.sessions() as session:
        audit = await verify_database(session)
    if audit.problem is not None:
        report.audit_problem = str(audit.problem)
    return report


async def _entities(report: Report, scenario: Scenario, stack: Stack) -> None:
    """Each crisis, need and pledge as the input says: in ingest's tables and in matching's."""
    ingest_tables = {"crisis": CrisisRow, "need": NeedRow, "pledge": PledgeRow}
    async with stack.sessions() as session:
        for (kind, entity_id), (status, revision) in scenario.expected.items():
            row = await session.get(ingest_tables[kind], entity_id)
            held = (row.status, row.revision) if row is not None else None
            if held != (status, revision):
                report.lost += 1
                report.details.append(f"ingest {kind} {entity_id}: {held}, expected {(status, revision)}")
            if kind != "crisis":  # matching's copy of the need or pledge
                mirror: MatchingNeedRow | MatchingPledgeRow | None = await session.get(
                    MatchingNeedRow if kind == "need" else MatchingPledgeRow, entity_id
                )
                seen = (mirror.status, mirror.revision) if mirror is not None else None
                if seen != (status, revision):
                    report.lost += 1
                    report.details.append(
                        f"matching {kind} {entity_id}: {seen}, expected {(status, revision)}"
                    )


async def _decisions(report: Report, stack: Stack) -> None:
    """Every decision the coordinator sent was taken in by ingest and by matching."""
    source = b.COORDINATOR[0]
    async with stack.sessions() as session:
        for consumer, key in (("ingest", "{source} {id}"), ("matching", None)):
            keys = {
                event_id: key.format(source=source, id=event_id) if key else None
                for event_id in stack.decisions
            }
            if consumer == "matching":  # matching claims ingest's canonical event, named after the decision
                keys = {
                    event_id: f"urn:drx:service:ingest org.drx.decision.recorded:{source} {event_id}"
                    for event_id in keys
                }
            claimed = set(
                await session.scalars(
                    select(ProcessedEvent.event_id).where(
                        ProcessedEvent.consumer == consumer, ProcessedEvent.event_id.in_(list(keys.values()))
                    )
                )
            )
            missing = [event_id for event_id, k in keys.items() if k not in claimed]
            report.lost += len(missing)
            report.details += [f"decision {e} not applied by {consumer}" for e in missing[:5]]


def _rejections(report: Report, scenario: Scenario, stack: Stack) -> None:
    """Every invalid input is on the rejected topic with a reason."""
    rejected = stack.records("org.drx.input.rejected")
    by_id = {r["data"].get("event_id") for r in rejected if r["data"].get("reason")}
    without_id = sum(1 for r in rejected if r["data"].get("event_id") is None)
    invalid = [s for s in scenario.steps if not s.valid]
    unique = {(s.event_id, s.value) for s in invalid}
    missing = [s for s in unique if s[0] is not None and s[0] not in by_id]
    anonymous = sum(1 for s in unique if s[0] is None)
    report.rejections_missing = len(missing) + max(anonymous - without_id, 0)


async def _duplicates(report: Report, stack: Stack) -> None:
    """No effect twice: one audit record per (cause, action, entity)."""
    async with stack.sessions() as session:
        repeated = (
            await session.execute(
                select(
                    AuditRecordRow.causing_event_id,
                    AuditRecordRow.action,
                    AuditRecordRow.entity_id,
                    func.count(),
                )
                .where(AuditRecordRow.causing_event_id.is_not(None))
                .group_by(AuditRecordRow.causing_event_id, AuditRecordRow.action, AuditRecordRow.entity_id)
                .having(func.count() > 1)
            )
        ).all()
    report.duplicated += len(repeated)
    report.details += [f"audit record repeated: {tuple(r)}" for r in repeated[:5]]


async def _alerts(report: Report, stack: Stack) -> None:
    """Each alert (the coordinator's webhooks, the organisation's and donor's emails) arrived once.

    A receiver following docs/webhooks.md acts once per ``delivery_id`` (an email's is in its
    ``X-Drx-Delivery`` header and ``Message-ID``). A message sent again under the same id (the
    worker died after the receiver accepted and before it wrote that down) is the documented
    at-least-once case: counted in ``alerts_resent``, not a fault. Two different ids for one
    alert (the same recipient, channel, kind and match or need) would reach such a receiver
    twice: that is ``alerts_duplicated``, as is an accepted id with no record.
    """
    async with stack.sessions() as session:
        rows = list(
            await session.scalars(select(DeliveryRow).where(DeliveryRow.channel.in_(("webhook", "email"))))
        )
    accepted = Counter(r.json["delivery_id"] for r in stack.receiver.accepted)
    accepted.update(str(m["X-Drx-Delivery"]) for m in stack.smtp.messages)
    report.alerts_resent = sum(n - 1 for n in accepted.values())
    by_id = {d.delivery_id: d for d in rows}
    unknown = [delivery for delivery in accepted if delivery not in by_id]
    alerts = Counter(
        (d.recipient_id, d.channel, d.kind, d.match_id or d.need_id or d.subject_id)
        for d in rows
        if d.delivery_id in accepted
    )
    twice = [alert for alert, n in alerts.items() if n > 1]
    report.alerts_duplicated = len(unknown) + sum(alerts[a] - 1 for a in twice)
    report.details += [f"accepted alert {d} has no delivery record" for d in unknown[:5]]
    report.details += [f"one alert under several delivery ids: {a}" for a in twice[:5]]
    undelivered = [d for d in rows if d.status != "sent" or d.delivery_id not in accepted]
    report.alerts_undelivered = len(undelivered)
    report.details += [
        f"alert {d.delivery_id} {d.channel} {d.status} {d.last_error}" for d in undelivered[:5]
    ]
    emails = sum(1 for d in rows if d.channel == "email")
    if emails == 0:  # the check above would pass vacuously
        report.alerts_undelivered += 1
        report.details.append(
            "no email alert was planned: the organisation's and donor's subscriptions did nothing"
        )


def markdown(reports: list[Report], *, when: dt.date, command: str) -> str:
    rows = [
        (
            "| scenario | valid events | invalid | lost | duplicated | over-allocated | left unmatched"
            " | rejections missing | alerts duplicated | alerts undelivered | alerts resent (same id)"
            " | audit chain | time to recover (s) |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in reports:
        audit = "verifies" if not r.audit_problem else f"BROKEN: {r.audit_problem}"
        rows.append(
            f"| {r.scenario} | {r.events} | {r.invalid} | {r.lost} | {r.duplicated} | {r.over_allocated} |"
            f" {r.unmatched} | {r.rejections_missing} | {r.alerts_duplicated} | {r.alerts_undelivered} |"
            f" {r.alerts_resent} | {audit} | {r.recovery_s:.1f} |"
        )
    return "\n".join(rows) + f"\n\nMeasured {when.isoformat()} with `{command}`.\n"
