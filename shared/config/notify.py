"""How notify reaches people: ``DRX_NOTIFY_*`` (SMTP, webhook keys, timeouts, retries, concurrency)."""

from __future__ import annotations

import ipaddress
import json
import re
from email.utils import parseaddr
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.config.common import MAX_PORT

__all__ = ["NotifySettings"]

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
    smtp_port: int = Field(default=25, ge=1, le=MAX_PORT, description="SMTP server port.")
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
