"""Explicit topic provisioning (``drx topics create``); workers never rely on auto-creation."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.config import KafkaSettings
from shared.kafka.topics import TOPICS, TopicSpec, topic_name

__all__ = ["create_topics", "list_topics"]

_TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


async def create_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = TOPICS) -> list[str]:
    """Create every missing topic with the configured partitions; return the names created.

    Idempotent: topics that already exist are left as they are (their partition count included).
    """
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30_000)
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(
                    topic_name(settings.topic_prefix, spec),
                    num_partitions=settings.partitions,
                    replication_factor=settings.replication_factor,
                    topic_configs=dict(spec.configs),
                )
                for spec in specs
            ]
        )
        created, failures = [], []
        # The broker answers per topic; list_topics right after a create may still be stale, so
        # this answer (not a metadata read) is what tells created from already-there.
        for entry in response.topic_errors:
            topic, code, *message = entry
            if code == 0:
                created.append(topic)
            elif code != _TOPIC_ALREADY_EXISTS:
                detail = message[0] if message and message[0] else f"error code {code}"
                failures.append(f"{topic}: {detail}")
        if failures:
            msg = "could not create topics: " + "; ".join(failures)
            raise RuntimeError(msg)
        return created
    finally:
        await admin.close()


async def list_topics(settings: KafkaSettings) -> dict[str, int]:
    """Topics under the configured prefix with their partition counts."""
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30_000)
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(settings.topic_prefix)]
        if not names:
            return {}
        described = await admin.describe_topics(names)
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()
