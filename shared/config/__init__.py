"""Settings for every drx process, read from ``DRX_*`` environment variables.

Each fragment has its own prefix (``DRX_KAFKA_``, ``DRX_DATABASE_``, ``DRX_LOG_``,
``DRX_NOTIFY_``, ``DRX_SCHEDULE_``, ``DRX_HEALTH_``, ``DRX_WORKER_``, ``DRX_AUDIT_``) so that a
service composes only what it needs. :func:`load_settings` turns a validation failure into one
message that names the offending variable, which is what an operator sees at start.

What lives where: :class:`Settings` and :func:`load_settings` here; each group in its module,
``kafka.py``, ``database.py``, ``notify.py``, ``process.py`` (logging, schedule, health,
worker) and ``audit.py`` (checkpoint keys). Import the names from here.
"""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config.audit import AuditSettings
from shared.config.database import DatabaseSettings
from shared.config.kafka import KafkaSettings
from shared.config.notify import NotifySettings
from shared.config.process import HealthSettings, LoggingSettings, ScheduleSettings, WorkerSettings

__all__ = [
    "AuditSettings",
    "DatabaseSettings",
    "HealthSettings",
    "KafkaSettings",
    "LoggingSettings",
    "NotifySettings",
    "ScheduleSettings",
    "Settings",
    "SettingsError",
    "WorkerSettings",
    "load_settings",
]


class SettingsError(ValueError):
    """Raised when the environment holds an invalid setting; the message names the variable."""


class Settings(BaseSettings):
    """Everything a drx process needs; each part reads its own ``DRX_<PART>_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="DRX_", extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    log: LoggingSettings = Field(default_factory=LoggingSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)


_PREFIXES = {
    KafkaSettings: "DRX_KAFKA_",
    DatabaseSettings: "DRX_DATABASE_",
    LoggingSettings: "DRX_LOG_",
    NotifySettings: "DRX_NOTIFY_",
    ScheduleSettings: "DRX_SCHEDULE_",
    HealthSettings: "DRX_HEALTH_",
    WorkerSettings: "DRX_WORKER_",
    AuditSettings: "DRX_AUDIT_",
}


def _explain(error: ValidationError, prefix: str) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        variable = f"{prefix}{field.upper()}" if field else prefix.rstrip("_")
        lines.append(f"{variable}: {item['msg']}")
    return "invalid settings: " + "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; raise :class:`SettingsError` naming each bad variable."""
    parts: dict[str, object] = {}
    parts_classes: tuple[tuple[str, type[BaseSettings]], ...] = (
        ("kafka", KafkaSettings),
        ("database", DatabaseSettings),
        ("log", LoggingSettings),
        ("notify", NotifySettings),
        ("schedule", ScheduleSettings),
        ("health", HealthSettings),
        ("worker", WorkerSettings),
        ("audit", AuditSettings),
    )
    for name, cls in parts_classes:
        try:
            parts[name] = overrides.pop(name, None) or cls()
        except ValidationError as error:
            raise SettingsError(_explain(error, _PREFIXES[cls])) from None
    return Settings.model_validate({**parts, **overrides})
