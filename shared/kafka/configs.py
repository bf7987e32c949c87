"""Read and set a topic's configs, one key at a time (Kafka's IncrementalAlterConfigs).

aiokafka 0.14's admin client offers only the old ``AlterConfigs``, which replaces a topic's
whole set of overrides: setting ``message.timestamp.type`` with it would silently reset a
``retention.ms`` an operator had set. So this module defines the request Kafka has offered since
2.3 (API key 44, version 0) in aiokafka's own protocol classes and sends it through the admin
client's connection; describing uses aiokafka's public ``describe_configs``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Schema, String

__all__ = ["describe_topic_configs", "set_topic_configs"]

_UNKNOWN_TOPIC = 3  # Kafka protocol error code UNKNOWN_TOPIC_OR_PARTITION
_SET = 0  # IncrementalAlterConfigs operation: set the value (1 deletes, 2 appends, 3 subtracts)


class _IncrementalAlterConfigsResponseV0(Response):  # type: ignore[misc] # aiokafka is untyped
    API_KEY = 44
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "responses",
            Array(
                ("error_code", Int16),
                ("error_message", String("utf-8")),
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
            ),
        ),
    )


class _IncrementalAlterConfigsRequestV0(RequestStruct):  # type: ignore[misc] # aiokafka is untyped
    API_KEY = 44
    API_VERSION = 0
    RESPONSE_TYPE = _IncrementalAlterConfigsResponseV0
    SCHEMA = Schema(
        (
            "resources",
            Array(
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
                (
                    "configs",
                    Array(("name", String("utf-8")), ("config_operation", Int8), ("value", String("utf-8"))),
                ),
            ),
        ),
        ("validate_only", Boolean),
    )


class _IncrementalAlterConfigs(Request[_IncrementalAlterConfigsRequestV0]):  # type: ignore[misc]
    API_KEY = 44

    def __init__(self, resources: list[tuple[int, str, list[tuple[str, int, str]]]]) -> None:
        self._resources = resources

    def build(self, request_struct_class: type[Any]) -> Any:
        return request_struct_class(self._resources, False)  # noqa: FBT003 - validate_only, positional


async def describe_topic_configs(
    admin: AIOKafkaAdminClient,
    topics: Iterable[str],
    keys: Iterable[str] | None = None,
    *,
    wait_s: float = 15.0,
) -> dict[str, dict[str, str | None]]:
    """The current value of ``keys`` (every config if ``None``) of each topic, whoever set it.

    A topic created a moment ago may not have reached the answering broker's metadata yet
    (``UNKNOWN_TOPIC_OR_PARTITION``): it is asked again, with growing pauses, for up to ``wait_s``.
    """
    names = list(keys) if keys is not None else None
    pending = list(topics)
    found: dict[str, dict[str, str | None]] = {}
    deadline = time.monotonic() + wait_s
    pause = 0.05
    while pending:
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, topic, dict.fromkeys(names) if names else None)
            for topic in pending
        ]
        unknown = []
        for response in await admin.describe_configs(resources):
            for code, message, _type, topic, entries in response.resources:
                if code == _UNKNOWN_TOPIC and time.monotonic() < deadline:
                    unknown.append(topic)
                elif code != 0:
                    raise RuntimeError(f"could not describe {topic}: {message or f'error code {code}'}")
                else:
                    found[topic] = {entry[0]: entry[1] for entry in entries}
        pending = unknown
        if pending:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
    return found


async def set_topic_configs(
    admin: AIOKafkaAdminClient, changes: Mapping[str, Mapping[str, str]], *, wait_s: float = 15.0
) -> None:
    """Set the given configs of each topic, leaving its other configs as they are.

    Returns once the broker reports the new values (a change reaches the brokers' metadata a
    moment after the controller accepts it), so a record produced next gets the new behaviour.
    Raises ``RuntimeError`` naming every topic the broker refused, with the broker's reason, or
    the topics whose new values it still does not report after ``wait_s``.
    """
    if not changes:
        return
    resources = [
        (int(ConfigResourceType.TOPIC), topic, [(key, _SET, value) for key, value in configs.items()])
        for topic, configs in changes.items()
    ]
    # Topic configs may be altered through any broker (it forwards them to the controller).
    response = await admin._send_request(_IncrementalAlterConfigs(resources))  # noqa: SLF001 - see module
    failures = [
        f"{topic}: {message or f'error code {code}'}"
        for code, message, _type, topic in response.responses
        if code != 0
    ]
    if failures:
        raise RuntimeError("could not set topic configs: " + "; ".join(failures))
    deadline = time.monotonic() + wait_s
    pause = 0.05
    while True:
        keys = {key for configs in changes.values() for key in configs}
        current = await describe_topic_configs(admin, changes, keys, wait_s=wait_s)
        behind = [
            t for t, configs in changes.items() if any(current[t].get(k) != v for k, v in configs.items())
        ]
        if not behind:
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"topic configs set but not in effect after {wait_s:g} s: {', '.join(behind)}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)
