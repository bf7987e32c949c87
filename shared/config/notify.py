"""How notify reaches people: ``DRX_NOTIFY_*`` (SMTP, the key sealing webhook secrets, timeouts, retries)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from email.utils import parseaddr
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.config.common import MAX_PORT

__all__ = ["NotifySettings"]

_SECRETS_KEY_BYTES = 32  # AES-256
_PUBLIC_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


class NotifySettings(BaseSettings):
    """How notify reaches people: SMTP, webhook secrets' sealing key, timeouts, retries and concurrency."""

    model_config = SettingsConfigDict(env_prefix="DRX_NOTIFY_", extra="forbid")

    webhook_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="The longest one delivery attempt may take, webhook request or SMTP conversation.",
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description="The key that encrypts each webhook subscription's signing secret in PostgreSQL: "
        "32 random bytes in base64 (`openssl rand -base64 32`). Webhook subscriptions need it.",
    )
    secrets_old_keys: SecretStr | None = Field(
        default=None,
        description="Earlier secrets keys, comma-separated base64, still read while "
        "`drx subscribe secret rewrap` moves every secret to the current key.",
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

    @field_validator("secrets_key", "secrets_old_keys", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty variable (a manifest's placeholder) is no key, not a malformed one."""
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("secrets_key", "secrets_old_keys")
    @classmethod
    def _sealing_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Each key is 32 bytes in base64; the message never quotes a key."""
        if value is not None:
            for number, key in enumerate(value.get_secret_value().split(","), start=1):
                try:
                    raw = base64.b64decode(key.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raw = b""
                if len(raw) != _SECRETS_KEY_BYTES:
                    msg = f"key {number} is not 32 bytes in base64 (make one with `openssl rand -base64 32`)"
                    raise ValueError(msg)
        return value

    def sealing_keys(self) -> tuple[bytes, ...]:
        """The secrets key first, then the old ones; empty when no key is set."""
        if self.secrets_key is None:
            return ()
        keys = [self.secrets_key.get_secret_value()]
        if self.secrets_old_keys is not None:
            keys += self.secrets_old_keys.get_secret_value().split(",")
        return tuple(base64.b64decode(key.strip()) for key in keys)

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
        if self.secrets_old_keys is not None and self.secrets_key is None:
            msg = "DRX_NOTIFY_SECRETS_OLD_KEYS needs DRX_NOTIFY_SECRETS_KEY, the key secrets move to"
            raise ValueError(msg)
        if (self.smtp_username is None) != (self.smtp_password is None):
            msg = "DRX_NOTIFY_SMTP_USERNAME and DRX_NOTIFY_SMTP_PASSWORD go together"
            raise ValueError(msg)
        return self
