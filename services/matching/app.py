"""The matching worker: :class:`MatchingWorker` wires it, :func:`create_app` runs it under FastStream."""

from __future__ import annotations

import datetime as dt

from faststream import FastStream

from services.matching.handlers import register
from services.matching.mapping import skill_tree
from services.matching.service import MatchingService
from shared.config import Settings
from shared.reference import load_catalogue, load_skills
from shared.scheduling import Job
from shared.worker import Worker

__all__ = ["MatchingWorker", "create_app"]


class MatchingWorker(Worker):
    name = "matching"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        prefix = settings.kafka.topic_prefix
        self.service = MatchingService(
            self.sessions,
            load_catalogue(),
            skill_tree(load_skills()),
            prefix,
            on_commit=self.relay.wake,
            attempts=settings.worker.record_attempts,
        )
        register(self.broker, self.service, prefix, self.group_id)

    def jobs(self) -> list[Job]:
        schedule = self.settings.schedule
        remind_after = dt.timedelta(hours=schedule.proposal_reminder_h)
        ttl = dt.timedelta(hours=schedule.proposal_ttl_h)

        async def remind(now: dt.datetime) -> int:
            return await self.service.remind_proposals(now, remind_after)

        async def expire(now: dt.datetime) -> int:
            return await self.service.expire_proposals(now, ttl)

        sweep_every = dt.timedelta(minutes=schedule.sweep_every_min)
        return [
            *super().jobs(),
            Job("matching.remind-proposals", self.check_every, remind, "coordinators of undecided proposals"),
            Job("matching.expire-proposals", self.check_every, expire, "undecided proposals past their TTL"),
            Job("matching.sweep", sweep_every, self.service.sweep, "matches the event path missed"),
        ]


def create_app(settings: Settings) -> FastStream:
    return MatchingWorker(settings).app()
