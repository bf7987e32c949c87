"""The one way a drx process builds its FastStream ``KafkaBroker``.

Settings decide connection and security; topics are never auto-created (``drx topics create``
provisions them); the producer is idempotent with ``acks=all``; every message gets log context;
a header name that is not UTF-8 cannot stop a consumer (:mod:`shared.kafka.records`, installed here).
Subscribers add :func:`static_membership` to their options for Kafka static group membership.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLOAuthBearer, SASLPlaintext, SASLScram256, SASLScram512

from shared.config import KafkaSettings
from shared.kafka import records
from shared.kafka.middleware import LogContextMiddleware

__all__ = ["make_broker", "security_of", "static_membership"]

_SUBSCRIBER_NAME = re.compile(r"[A-Za-z0-9._-]{1,40}")
_INSTANCE_IDS: WeakKeyDictionary[KafkaBroker, str] = WeakKeyDictionary()


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
    records.install()
    broker = KafkaBroker(
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
    if settings.group_instance_id is not None:
        _INSTANCE_IDS[broker] = settings.group_instance_id
    return broker


def static_membership(broker: KafkaBroker, subscriber: str) -> dict[str, Any]:
    """Extra ``broker.subscriber(...)`` options for static group membership, or none.

    With ``DRX_KAFKA_GROUP_INSTANCE_ID`` set (the pod name), the subscriber's consumer joins its
    group as ``<id>-<subscriber>``: a restarted worker rejoins under the same ids and gets its
    partitions back without a rebalance. Each subscriber is a consumer of its own in the
    worker's group, and Kafka fences one of two live members that share an id, so every
    subscriber of a worker needs a distinct ``subscriber`` name (its topic, say).
    """
    if not _SUBSCRIBER_NAME.fullmatch(subscriber):
        msg = f"subscriber name {subscriber!r} must be 1-40 letters, digits, '.', '_' or '-'"
        raise ValueError(msg)
    instance_id = _INSTANCE_IDS.get(broker)
    return {} if instance_id is None else {"group_instance_id": f"{instance_id}-{subscriber}"}
