"""The one way a drx process builds its FastStream ``KafkaBroker``.

Settings decide connection and security; topics are never auto-created (``drx topics create``
provisions them); the producer is idempotent with ``acks=all``; every message gets log context.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLOAuthBearer, SASLPlaintext, SASLScram256, SASLScram512

from shared.config import KafkaSettings
from shared.kafka.middleware import LogContextMiddleware

__all__ = ["make_broker", "security_of"]


def security_of(settings: KafkaSettings) -> BaseSecurity | None:
    """FastStream's security object for the configured protocol and SASL mechanism."""
    options = settings.client_options()
    ssl_context = options.get("ssl_context")
    use_ssl = settings.security_protocol in {"SSL", "SASL_SSL"}
    if settings.security_protocol == "PLAINTEXT":
        return None
    if settings.security_protocol == "SSL":
        return BaseSecurity(ssl_context=ssl_context, use_ssl=True)
    user = settings.sasl_username or ""
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    match settings.sasl_mechanism:
        case "PLAIN":
            return SASLPlaintext(user, password, ssl_context=ssl_context, use_ssl=use_ssl)
        case "SCRAM-SHA-256":
            return SASLScram256(user, password, ssl_context=ssl_context, use_ssl=use_ssl)
        case "SCRAM-SHA-512":
            return SASLScram512(user, password, ssl_context=ssl_context, use_ssl=use_ssl)
        case _:
            return SASLOAuthBearer(ssl_context=ssl_context, use_ssl=use_ssl)


def make_broker(settings: KafkaSettings, service: str, **options: Any) -> KafkaBroker:
    """A broker for ``service``: explicit topics, idempotent producer, per-message log context."""
    return KafkaBroker(
        settings.bootstrap_servers,
        security=security_of(settings),
        allow_auto_create_topics=False,
        enable_idempotence=settings.idempotent_producer,
        acks="all",
        client_id=f"drx-{service}",
        middlewares=[partial(LogContextMiddleware, service=service)],
        logger=logging.getLogger(f"drx.{service}.faststream"),
        **options,
    )
