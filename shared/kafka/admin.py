"""Explicit topic provisioning (``drx topics create``); workers never rely on auto-creation."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.config import KafkaSettings
from shared.kafka.topics import TOPICS, TopicSpec, topic_name

__all__ = ["create_topics", "list_topics"]


async def create_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = TOPICS) -> list[str]:
    """Create every missing topic with the configured partitions; return the names created.

    Idempotent: topics that already exist are left as they are (their partition count included).
    """
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30_000)  # type: ignore[arg-type]
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topic_name(settings.topic_prefix, spec) for spec in specs]
        missing = [name for name in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics([
                    NewTopic(name, num_partitions=settings.partitions, replication_factor=settings.replication_factor)
                    for name in missing
                ])
            except TopicAlreadyExistsError:  # a concurrent `drx topics create` got there first
                pass
        return missing
    finally:
        await admin.close()


async def list_topics(settings: KafkaSettings) -> dict[str, int]:
    """Topics under the configured prefix with their partition counts."""
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30_000)  # type: ignore[arg-type]
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(settings.topic_prefix)]
        if not names:
            return {}
        described = await admin.describe_topics(names)
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()
