"""Explicit topic provisioning (``drx topics create``); workers never rely on auto-creation.

Provisioning also keeps the configs drx depends on (``TopicSpec.configs``: the broker's clock
on intake topics) on topics created before drx asked for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.config import KafkaSettings
from shared.kafka.configs import describe_topic_configs, set_topic_configs
from shared.kafka.topics import TOPICS, TopicSpec, topic_name

__all__ = ["ConfigChange", "Provisioned", "create_topics", "list_topics", "provision_topics"]

_TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One config ``drx topics create`` set on a topic that existed with another value."""

    topic: str
    key: str
    was: str | None
    now: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.key} {self.was} -> {self.now}"


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What provisioning did: the topics it created and the configs it changed on existing ones."""

    created: list[str]
    changed: list[ConfigChange]


async def provision_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = TOPICS) -> Provisioned:
    """Create every missing topic, and give existing ones the configs their spec names.

    Idempotent: a topic that exists keeps its partition count and every config its spec does
    not name; a config already at the spec's value is not touched, so a second run changes nothing.
    """
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30_000)
    await admin.start()
    try:
        wanted = {topic_name(settings.topic_prefix, spec): dict(spec.configs) for spec in specs}
        created = await _create_missing(admin, settings, wanted)
        existing = {name: configs for name, configs in wanted.items() if configs and name not in created}
        current = await describe_topic_configs(admin, existing, {k for c in existing.values() for k in c})
        changed = [
            ConfigChange(name, key, current.get(name, {}).get(key), value)
            for name, configs in existing.items()
            for key, value in configs.items()
            if current.get(name, {}).get(key) != value
        ]
        changes: dict[str, dict[str, str]] = {}
        for change in changed:
            changes.setdefault(change.topic, {})[change.key] = change.now
        await set_topic_configs(admin, changes)
        return Provisioned(created, changed)
    finally:
        await admin.close()


async def create_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = TOPICS) -> list[str]:
    """:func:`provision_topics`, for callers that only want the names of the topics it created."""
    return (await provision_topics(settings, specs)).created


async def _create_missing(
    admin: AIOKafkaAdminClient, settings: KafkaSettings, wanted: dict[str, dict[str, str]]
) -> list[str]:
    """Create the topics in ``wanted`` (name: configs) that do not exist; the names created."""
    response = await admin.create_topics(
        [
            NewTopic(
                name,
                num_partitions=settings.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=configs,
            )
            for name, configs in wanted.items()
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
