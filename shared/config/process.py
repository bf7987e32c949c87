"""How a worker process behaves: its logs (``DRX_LOG_*``), scheduled jobs (``DRX_SCHEDULE_*``),
health server (``DRX_HEALTH_*``) and shutdown (``DRX_WORKER_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config.common import MAX_PORT

__all__ = ["HealthSettings", "LoggingSettings", "ScheduleSettings", "WorkerSettings"]


class LoggingSettings(BaseSettings):
    """Log level and format (JSON lines off a TTY, pretty console on one)."""

    model_config = SettingsConfigDict(env_prefix="DRX_LOG_", extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Minimum level logged."
    )
    format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto = console on a TTY, JSON lines otherwise."
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class ScheduleSettings(BaseSettings):
    """The scheduled lifecycle jobs each worker runs (``shared/scheduling.py``, docs/scheduling.md)."""

    model_config = SettingsConfigDict(env_prefix="DRX_SCHEDULE_", extra="forbid")

    enabled: bool = Field(default=True, description="Run this worker's scheduled jobs.")
    check_every_s: float = Field(
        default=60.0,
        ge=1,
        le=86400,
        description="How often expiry, reminder and retry jobs look for due work.",
    )
    proposal_reminder_h: float = Field(
        default=24.0, gt=0, description="Remind coordinators of a proposal undecided this many hours."
    )
    proposal_ttl_h: float = Field(
        default=72.0,
        gt=0,
        description="Expire a proposal undecided this many hours; its capacity is re-matched.",
    )
    expiry_reminder_days: int = Field(
        default=3, ge=0, le=90, description="Remind owners this many days before a need or pledge expires."
    )
    sweep_every_min: float = Field(
        default=15.0, ge=1, le=1440, description="How often matching re-checks everything for missed matches."
    )
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="Keep idempotency (inbox) records this many days."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleSettings:
        if self.proposal_reminder_h >= self.proposal_ttl_h:
            msg = "DRX_SCHEDULE_PROPOSAL_REMINDER_H must be less than DRX_SCHEDULE_PROPOSAL_TTL_H"
            raise ValueError(msg)
        return self


class HealthSettings(BaseSettings):
    """Where a worker serves ``/livez``, ``/readyz`` and ``/metrics`` (``shared/observability.py``)."""

    model_config = SettingsConfigDict(env_prefix="DRX_HEALTH_", extra="forbid")

    host: str = Field(
        default="0.0.0.0",  # noqa: S104 - probes and Prometheus reach the pod or container from outside
        min_length=1,
        description="Address the health and metrics server listens on.",
    )
    port: int = Field(default=8080, ge=0, le=MAX_PORT, description="Its port; 0 turns the server off.")
    check_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How long /readyz waits for Kafka and PostgreSQL to answer before saying not ready.",
    )
    stall_after_s: float = Field(
        default=120.0,
        gt=0,
        description="A partition whose committed offset stands this long with records waiting: /readyz 503.",
    )
    outbox_max_age_s: float = Field(
        default=300.0,
        gt=0,
        description="An unpublished outbox row older than this (or any parked row) makes /readyz 503.",
    )


class WorkerSettings(BaseSettings):
    """How a worker process (``drx run``) behaves as a whole (``shared/worker.py``)."""

    model_config = SettingsConfigDict(env_prefix="DRX_WORKER_", extra="forbid")

    shutdown_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="On SIGTERM, the time from the signal to the exit: in-flight messages and "
        "scheduled runs get four fifths of it to finish and commit, the rest is for leaving the "
        "consumer group and publishing the outbox batch in hand. Keep Kubernetes' "
        "terminationGracePeriodSeconds and compose's stop_grace_period above it.",
    )
    record_attempts: int = Field(
        default=3,
        ge=1,
        le=100,
        description="How many times a record that fails in a way nobody foresaw is tried before it "
        "is refused onto the rejected topic with the exception's class and message, so its "
        "partition moves on. A failure the record causes (a database data error) refuses it at "
        "once; a transient one (PostgreSQL away) is retried for as long as it lasts.",
    )
