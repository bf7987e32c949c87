"""The matching worker: :class:`MatchingWorker` wires it, :func:`create_app` runs it under FastStream."""

from __future__ import annotations

from faststream import FastStream

from services.matching.handlers import register
from services.matching.mapping import skill_tree
from services.matching.service import MatchingService
from shared.config import Settings
from shared.reference import load_catalogue, load_skills
from shared.worker import Worker

__all__ = ["MatchingWorker", "create_app"]


class MatchingWorker(Worker):
    name = "matching"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        prefix = settings.kafka.topic_prefix
        self.service = MatchingService(
            self.sessions, load_catalogue(), skill_tree(load_skills()), prefix, on_commit=self.relay.wake
        )
        register(self.broker, self.service, prefix, self.group_id)


def create_app(settings: Settings) -> FastStream:
    return MatchingWorker(settings).app()
