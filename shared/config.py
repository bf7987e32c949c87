"""Settings for every drx process, read from ``DRX_*`` environment variables.

Each fragment has its own prefix (``DRX_KAFKA_``, ``DRX_DATABASE_``, ``DRX_LOG_``,
``DRX_NOTIFY_``, ``DRX_SCHEDULE_``, ``DRX_HEALTH_``, ``DRX_WORKER_``) so that a service composes
only what it needs. :func:`load_settings` turns a validation failure into one message that names
the offending variable, which is what an operator sees at start.
"""

from __future__ import annotations

import ipaddress
import json
import re
from email.utils import parseaddr
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
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

_MAX_PORT = 65535
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]


class SettingsError(ValueError):
    """Raised when the environment holds an invalid setting; the message names the variable."""


class KafkaSettings(BaseSettings):
    """How to reach Kafka and how topics are named and sized."""

    model_config = SettingsConfigDict(env_prefix="DRX_KAFKA_", extra="forbid")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        description="Comma-separated host:port list of Kafka brokers.",
    )
    topic_prefix: str = Field(
        default="drx.",
        pattern=r"^[A-Za-z0-9._-]*$",
        max_length=100,
        description="Prepended to every topic name, so several deployments can share a cluster.",
    )
    partitions: int = Field(
        default=6, ge=1, le=1000, description="Partitions per topic for `drx topics create`."
    )
    replication_factor: int = Field(
        default=1, ge=1, le=7, description="Replication factor for `drx topics create`."
    )
    idempotent_producer: bool = Field(
        default=True,
        description="Idempotent producer (acks=all, no duplicates from producer retries). "
        "Off only for the embedded tansu broker, which rejects InitProducerId from aiokafka.",
    )
    security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", description="Passed through to aiokafka."
    )
    sasl_mechanism: SaslMechanism | None = Field(
        default=None, description="SASL mechanism when the protocol is SASL_*."
    )
    sasl_username: str | None = Field(default=None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    ssl_cafile: str | None = Field(
        default=None, description="CA bundle for SSL / SASL_SSL; system CAs when unset."
    )
    group_instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]+$",
        max_length=200,  # Kafka allows 249; each subscriber appends "-<its name>"
        description="Static consumer-group membership (Kafka's group.instance.id), e.g. the pod name: "
        "a restarted worker gets its partitions back without a rebalance. Each subscriber uses "
        "this id plus its own suffix.",
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers:
            msg = "must name at least one host:port"
            raise ValueError(msg)
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) <= _MAX_PORT:
                msg = f"{server!r} is not host:port"
                raise ValueError(msg)
        return ",".join(servers)

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            if self.sasl_mechanism is None:
                msg = "DRX_KAFKA_SASL_MECHANISM is required when the protocol is SASL_*"
                raise ValueError(msg)
            needs_password = self.sasl_mechanism != "OAUTHBEARER"
            if needs_password and (self.sasl_username is None or self.sasl_password is None):
                msg = "DRX_KAFKA_SASL_USERNAME and DRX_KAFKA_SASL_PASSWORD are required for SASL"
                raise ValueError(msg)
        return self

    def client_options(self) -> dict[str, Any]:
        """Connection options for aiokafka clients (and FastStream's KafkaBroker)."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap_servers}
        if self.security_protocol == "PLAINTEXT":
            return options
        options["security_protocol"] = self.security_protocol
        if self.security_protocol in {"SSL", "SASL_SSL"}:
            from aiokafka.helpers import create_ssl_context  # noqa: PLC0415  (only when used)

            options["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        if self.sasl_mechanism is not None:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return options


class DatabaseSettings(BaseSettings):
    """Where the PostgreSQL database is."""

    model_config = SettingsConfigDict(env_prefix="DRX_DATABASE_", extra="forbid")

    url: SecretStr = Field(
        default=SecretStr("postgresql+psycopg://postgres@127.0.0.1:5432/drx"),
        description="SQLAlchemy URL; postgresql:// is read as postgresql+psycopg://.",
    )
    pool_size: int = Field(default=5, ge=1, le=100, description="Connections per process.")
    connect_timeout_s: int = Field(default=10, ge=1, le=300, description="Longest wait to open a connection.")
    statement_timeout_s: float = Field(
        default=30.0, gt=0, le=3600, description="Longest one statement may run before PostgreSQL cancels it."
    )
    lock_timeout_s: float = Field(
        default=10.0, gt=0, le=3600, description="Longest wait for a row or table lock."
    )
    idle_in_transaction_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="A transaction left idle this long is ended by PostgreSQL."
    )

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        scheme = raw.split("://", 1)[0]
        if scheme in {"postgresql", "postgres"}:
            raw = "postgresql+psycopg://" + raw.split("://", 1)[1]
        elif scheme != "postgresql+psycopg":
            msg = f"scheme {scheme!r} is not supported; use postgresql:// or postgresql+psycopg://"
            raise ValueError(msg)
        return SecretStr(raw)

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the psycopg 3 driver, ready for ``create_async_engine``."""
        return self.url.get_secret_value()

    def connect_args(self) -> dict[str, object]:
        """psycopg arguments: the timeouts, so no query, lock or forgotten transaction hangs a worker."""
        options = " ".join(
            f"-c {name}={int(seconds * 1000)}"
            for name, seconds in (
                ("statement_timeout", self.statement_timeout_s),
                ("lock_timeout", self.lock_timeout_s),
                ("idle_in_transaction_session_timeout", self.idle_in_transaction_timeout_s),
            )
        )
        return {"connect_timeout": self.connect_timeout_s, "options": options}


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


_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PUBLIC_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


class NotifySettings(BaseSettings):
    """How notify reaches people: SMTP, webhook signing keys, timeouts, retries and concurrency."""

    model_config = SettingsConfigDict(env_prefix="DRX_NOTIFY_", extra="forbid")

    webhook_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="The longest one delivery attempt may take, webhook request or SMTP conversation.",
    )
    webhook_keys: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        repr=False,
        description='Webhook signing secrets by key id, a JSON object: {"k1": "secret"}. '
        "Subscriptions name a key id, never a secret.",
    )
    smtp_host: str = Field(default="127.0.0.1", min_length=1, description="SMTP server host name.")
    smtp_port: int = Field(default=25, ge=1, le=_MAX_PORT, description="SMTP server port.")
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user name.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP AUTH password.")
    smtp_starttls: bool = Field(
        default=False, description="Require STARTTLS (with certificate checks) before sending."
    )
    email_from: str = Field(default="drx@localhost", description="From address of notification emails.")
    max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts per delivery before it is dead-lettered."
    )
    backoff_base_s: float = Field(
        default=2.0, gt=0, description="Delay after the first failed attempt; doubles after each."
    )
    backoff_max_s: float = Field(default=600.0, gt=0, description="Longest delay between two attempts.")
    delivery_concurrency: int = Field(
        default=20, ge=1, le=1000, description="Deliveries in flight at once per notify worker."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of the coordinator UI and docs, for links in notifications.",
    )
    webhook_allow_networks: Annotated[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...], NoDecode] = (
        Field(
            default=(),
            description="Networks (comma-separated CIDRs) webhooks may reach although they are loopback, "
            "private, link-local or otherwise internal, e.g. 127.0.0.0/8 for a local receiver. "
            "Empty: webhooks reach public addresses only.",
        )
    )

    @field_validator("webhook_allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        """A comma-separated CIDR list; host bits are cleared (``10.1.2.3/8`` is ``10.0.0.0/8``)."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        networks = []
        for item in items:
            if isinstance(item, str) and not item.strip():
                continue
            try:
                networks.append(
                    ipaddress.ip_network(item.strip() if isinstance(item, str) else item, strict=False)
                )
            except ValueError:
                msg = f"{item!r} is not a network in CIDR notation, e.g. 127.0.0.0/8 or fd00::/8"
                raise ValueError(msg) from None
        return tuple(networks)

    @field_validator("webhook_keys", mode="before")
    @classmethod
    def _keys_json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            msg = 'must be a JSON object of key id to secret, e.g. {"k1": "…"}'
            raise ValueError(msg) from None

    @field_validator("webhook_keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key_id, secret in value.items():
            if not _KEY_ID.fullmatch(key_id):
                msg = f"key id {key_id!r} must be 1-64 letters, digits, '.', '_' or '-'"
                raise ValueError(msg)
            if not secret:
                msg = f"the secret of key id {key_id!r} is empty"
                raise ValueError(msg)
        return value

    @field_validator("email_from")
    @classmethod
    def _address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            msg = f"{value!r} is not an email address"
            raise ValueError(msg)
        return value

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _PUBLIC_URL.fullmatch(value):
            msg = f"{value!r} is not an http(s) URL"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NotifySettings:
        if self.backoff_max_s < self.backoff_base_s:
            msg = "DRX_NOTIFY_BACKOFF_MAX_S must be at least DRX_NOTIFY_BACKOFF_BASE_S"
            raise ValueError(msg)
        if (self.smtp_username is None) != (self.smtp_password is None):
            msg = "DRX_NOTIFY_SMTP_USERNAME and DRX_NOTIFY_SMTP_PASSWORD go together"
            raise ValueError(msg)
        return self


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
    port: int = Field(default=8080, ge=0, le=_MAX_PORT, description="Its port; 0 turns the server off.")
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


_PREFIXES = {
    KafkaSettings: "DRX_KAFKA_",
    DatabaseSettings: "DRX_DATABASE_",
    LoggingSettings: "DRX_LOG_",
    NotifySettings: "DRX_NOTIFY_",
    ScheduleSettings: "DRX_SCHEDULE_",
    HealthSettings: "DRX_HEALTH_",
    WorkerSettings: "DRX_WORKER_",
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
    )
    for name, cls in parts_classes:
        try:
            parts[name] = overrides.pop(name, None) or cls()
        except ValidationError as error:
            raise SettingsError(_explain(error, _PREFIXES[cls])) from None
    return Settings.model_validate({**parts, **overrides})
