"""What matching tells others: match events, reminders, coverage and refusals, with their audit records.

Everything is queued in the caller's transaction (``shared.outbox``, ``shared.audit``,
``shared.rejection``), so it is published if and only if the change it reports commits. Each
event is correlated with the event that caused it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.domain import NeedStatus, need_filled, need_status
from shared import audit
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.events.envelope import CloudEvent, new_event
from shared.events.outbound import MatchContext, MatchUpdated, NeedContext, NeedCoverage
from shared.events.producers import MATCHING_SOURCE
from shared.intake.parsing import SourcePosition
from shared.kafka.topics import MATCHES, topic_name
from shared.outbox import enqueue
from shared.rejection import reject

__all__ = ["MATCHING_SOURCE", "Outputs", "match_data"]

Coverage = tuple[NeedStatus, bool]  # a need's status, and whether it is filled


class Outputs:
    """The events and audit records one unit of work queues, all caused by ``cause``.

    It also remembers each need whose ledger the unit touched, with its coverage before the
    first change, so :meth:`coverage` can say which needs' coverage the unit changed.
    """

    def __init__(self, session: AsyncSession, prefix: str, cause: CloudEvent) -> None:
        self.session = session
        self.prefix = prefix
        self.cause = cause
        self.actor = (
            "drx:matching"  # who the audit records name: a job's or coordinator's source when it acted
        )
        self._coverage_before: dict[str, tuple[Coverage | None, MatchingNeedRow]] = {}

    def match(
        self,
        match: MatchRow,
        need: MatchingNeedRow,
        pledge: MatchingPledgeRow,
        *,
        before: str | None,
        quantity_before: Decimal | None = None,
    ) -> None:
        """Publish the match's new state and write its audit record (``before``: its old status)."""
        data = match_data(match, need, pledge)
        self._publish(
            f"org.drx.match.{match.status}",
            data,
            subject=match.match_id,
            event_id=f"{match.match_id}:r{match.revision}",
            key=match.need_id,
        )
        entry = audit.AuditEntry(
            actor=self.actor,
            action=f"match.{match.status}",
            entity_type="match",
            entity_id=match.match_id,
            before=_before(before, quantity_before),
            after=data.model_dump(mode="json", exclude={"context"}),
            causing_event_id=self.cause.id,
            correlation_id=self.cause.correlationid or self.cause.id,
        )
        audit.record(self.session, self.prefix, entry)

    def reminder(self, match: MatchRow, need: MatchingNeedRow, pledge: MatchingPledgeRow) -> None:
        """Remind the coordinators of an undecided proposal (once: the event id is the match's)."""
        self._publish(
            "org.drx.match.reminder",
            match_data(match, need, pledge),
            subject=match.match_id,
            event_id=f"reminder:{match.match_id}",
            key=match.need_id,
            time=self.cause.time,
        )

    def watch(self, need: MatchingNeedRow, *, changed: bool = False) -> None:
        """Remember ``need``'s coverage before this unit changes it (``changed``: it already did)."""
        if need.need_id not in self._coverage_before:
            self._coverage_before[need.need_id] = (None if changed else _coverage(need), need)

    def coverage(self) -> None:
        """One ``org.drx.need.coverage`` per watched need whose coverage changed."""
        for before, need in self._coverage_before.values():
            status, filled = _coverage(need)
            if (status, filled) == before:
                continue
            data = NeedCoverage(
                need_id=need.need_id,
                crisis_id=need.crisis_id,
                organisation_id=need.organisation_id,
                category=need.category,
                status=status,
                filled=filled,
                quantity=need.quantity,
                proposed=need.proposed,
                confirmed=need.confirmed,
                fulfilled=need.fulfilled,
                unit=need.unit,
                context=_need_context(need),
            )
            self._publish(
                "org.drx.need.coverage",
                data,
                subject=need.need_id,
                event_id=f"coverage:{need.need_id}:{uuid.uuid4().hex[:12]}",
                key=need.need_id,
            )

    def rejection(self, position: SourcePosition, reason: str) -> None:
        """Refuse the cause, read at ``position``: the rejected event and its audit record."""
        reject(
            self.session,
            self.prefix,
            refused_by=MATCHING_SOURCE,
            position=position,
            original=self.cause.model_dump_json(exclude_none=True).encode(),
            reason=reason,
            envelope=self.cause,
            now=dt.datetime.now(dt.UTC),
            event_id=f"rejected:matching:{self.cause.dedupe_key()}",
        )

    def _publish(
        self,
        event_type: str,
        data: BaseModel,
        *,
        subject: str,
        event_id: str,
        key: str,
        time: dt.datetime | None = None,
    ) -> None:
        """Queue one event for the matches topic, correlated with the cause."""
        event = new_event(
            event_type,
            MATCHING_SOURCE,
            data,
            subject=subject,
            time=time or dt.datetime.now(dt.UTC),
            event_id=event_id,
            correlation_id=self.cause.correlationid or self.cause.id,
        )
        enqueue(self.session, topic_name(self.prefix, MATCHES), event, key=key)


def match_data(match: MatchRow, need: MatchingNeedRow, pledge: MatchingPledgeRow) -> MatchUpdated:
    """A match's state as its events carry it, with the context a notification is written from."""
    return MatchUpdated(
        match_id=match.match_id,
        need_id=match.need_id,
        pledge_id=match.pledge_id,
        crisis_id=match.crisis_id,
        category=need.category,
        quantity=match.quantity,
        delivered_quantity=match.delivered_quantity,
        unit=match.unit,
        status=match.status,
        explanation=match.explanation,
        organisation_id=need.organisation_id,
        donor_id=pledge.donor_id,
        reason=match.reason,
        revision=match.revision,
        context=MatchContext(
            **_need_context(need).model_dump(),
            pledge_title=pledge.state["title"],
            donor_name=pledge.state["donor"]["name"],
        ),
    )


def _before(status: str | None, quantity: Decimal | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {"status": status} if quantity is None else {"status": status, "quantity": quantity}


def _coverage(need: MatchingNeedRow) -> Coverage:
    status = need_status(need.status, need.quantity, need.proposed, need.confirmed, need.fulfilled)
    return status, need_filled(need.quantity, need.confirmed, need.fulfilled)


def _need_context(need: MatchingNeedRow) -> NeedContext:
    state, place = need.state, need.state["place"]
    return NeedContext(
        need_title=state["title"],
        organisation_name=state["organisation"]["name"],
        sector=need.sector,
        urgency=need.urgency,
        needed_by=need.needed_by,
        country=need.country,
        admin_area=place.get("admin_area"),
        place_name=place.get("name"),
    )
