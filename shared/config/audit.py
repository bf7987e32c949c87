"""The audit chain's signed checkpoints (``DRX_AUDIT_*``; ``shared/audit/checkpoint.py``, docs/audit.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AuditSettings"]


class AuditSettings(BaseSettings):
    """Where the checkpoint signing key is, and the public keys checkpoints must verify with.

    The signing key is a file, never a database value or credential: whoever can rewrite
    PostgreSQL must not be able to sign (docs/decisions/0006).
    """

    model_config = SettingsConfigDict(env_prefix="DRX_AUDIT_", extra="forbid")

    signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM, or the raw 32 bytes) that signs checkpoints; "
        "the worker that has it publishes one on schedule (drx audit keygen makes one).",
    )
    verify_key: str | None = Field(
        default=None,
        description="The public key(s) checkpoints must verify with, base64 of the raw 32 bytes "
        "as drx audit keygen prints them; several separated by commas while a key is rotated.",
    )
    checkpoint_every_min: float = Field(
        default=15.0,
        ge=1,
        le=1440,
        description="How often the worker holding the signing key signs the chain's head.",
    )

    @field_validator("verify_key")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None
