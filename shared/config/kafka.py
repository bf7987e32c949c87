"""How to reach Kafka and how topics are named and sized: ``DRX_KAFKA_*``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config.common import MAX_PORT

__all__ = ["KafkaSettings", "SaslMechanism", "SecurityProtocol"]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]


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
            if not sep or not host or not port.isdigit() or not 0 < int(port) <= MAX_PORT:
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
