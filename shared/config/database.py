"""Where the PostgreSQL database is, and how long anything there may take: ``DRX_DATABASE_*``."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DatabaseSettings"]


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
