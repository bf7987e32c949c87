"""Explicit topic provisioning (``drx topics create``); workers never rely on auto-creation.

Provisioning also keeps the configs drx depends on (``TopicSpec.configs``: the broker's clock
on intake topics) on topics created before drx asked for them, and, on a cluster that
authenticates, writes the ACLs of :func:`shared.kafka.acls.acl_plan`. aiokafka 0.14's admin
client has no ``create_acls``/``describe_acls``: its protocol structs for them (CreateAcls v1,
DescribeAcls v1, which Kafka 4.x still accepts) are sent through the admin client's connection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.admin import CreateAclsRequest_v1, DescribeAclsRequest
from aiokafka.protocol.api import Request

from shared.config import KafkaSettings
from shared.kafka.acls import AclBinding, Operation, PatternType, ResourceType
from shared.kafka.configs import describe_topic_configs, set_topic_configs
from shared.kafka.topics import TOPICS, TopicSpec, topic_name

__all__ = [
    "ConfigChange",
    "Provisioned",
    "create_topics",
    "describe_acls",
    "list_topics",
    "provision_acls",
    "provision_topics",
]

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


# Kafka's protocol codes for the ACL requests (org.apache.kafka.common.acl / resource).
_RESOURCE_TYPES: dict[ResourceType, int] = {"TOPIC": 2, "GROUP": 3, "CLUSTER": 4}
_PATTERNS: dict[PatternType, int] = {"LITERAL": 3, "PREFIXED": 4}
_OPERATIONS: dict[Operation, int] = {
    "READ": 3,
    "WRITE": 4,
    "CREATE": 5,
    "ALTER": 7,
    "DESCRIBE": 8,
    "DESCRIBE_CONFIGS": 10,
    "ALTER_CONFIGS": 11,
}
_ANY = 1  # the filter code that matches every resource type, pattern, operation or permission
_ALLOW = 3


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc] # aiokafka is untyped
    """CreateAcls v1 with many creations in one request (aiokafka's own sends one)."""

    API_KEY = 30

    def __init__(self, bindings: list[AclBinding]) -> None:
        self._creations = [
            (
                _RESOURCE_TYPES[b.resource_type],
                b.resource_name,
                _PATTERNS[b.pattern],
                b.principal,
                "*",
                _OPERATIONS[b.operation],
                _ALLOW,
            )
            for b in bindings
        ]

    def build(self, request_struct_class: type[Any]) -> Any:
        return request_struct_class(self._creations)


async def describe_acls(admin: AIOKafkaAdminClient) -> set[AclBinding]:
    """Every ALLOW ACL for any host the cluster has, of the kinds :mod:`shared.kafka.acls` plans."""
    request = DescribeAclsRequest(_ANY, None, _ANY, None, None, _ANY, _ANY)
    response = await admin._send_request(request)  # noqa: SLF001 - aiokafka has no describe_acls
    if response.error_code != 0:
        raise RuntimeError(f"could not describe ACLs: {response.error_message or response.error_code}")
    types = {code: name for name, code in _RESOURCE_TYPES.items()}
    patterns = {code: name for name, code in _PATTERNS.items()}
    operations = {code: name for name, code in _OPERATIONS.items()}
    found = set()
    for resource_type, name, pattern, acls in response.resources:
        for principal, host, operation, permission in acls:
            known = resource_type in types and pattern in patterns and operation in operations
            if known and host == "*" and permission == _ALLOW:
                found.add(
                    AclBinding(
                        principal, types[resource_type], name, patterns[pattern], operations[operation]
                    )
                )
    return found


async def provision_acls(
    settings: KafkaSettings, plan: list[AclBinding], *, wait_s: float = 15.0
) -> list[AclBinding]:
    """Create the ACLs of ``plan`` the cluster does not have yet; return those it created.

    Returns once the broker reports them (they reach its authoriser a moment after the
    controller accepts them), so a client that starts next is already held to them.

    Idempotent: a second run finds every binding and creates nothing. ACLs outside the plan
    are left alone (an operator's own grants stay; removing a binding is a deliberate
    ``kafka-acls --remove``).
    """
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30_000)
    await admin.start()
    try:
        missing = sorted(set(plan) - await describe_acls(admin))
        if not missing:
            return []
        response = await admin._send_request(_CreateAcls(missing))  # noqa: SLF001 - see _CreateAcls
        failures = [
            f"{binding}: {message or f'error code {code}'}"
            for binding, (code, message) in zip(missing, response.creation_responses, strict=True)
            if code != 0
        ]
        if failures:
            raise RuntimeError("could not create ACLs: " + "; ".join(failures))
        await _wait_for_acls(admin, set(missing), wait_s)
        return missing
    finally:
        await admin.close()


async def _wait_for_acls(admin: AIOKafkaAdminClient, wanted: set[AclBinding], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    pause = 0.05
    while missing := wanted - await describe_acls(admin):
        if time.monotonic() >= deadline:
            shown = ", ".join(str(b) for b in sorted(missing)[:5])
            raise RuntimeError(f"ACLs created but not in effect after {wait_s:g} s: {shown}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)
