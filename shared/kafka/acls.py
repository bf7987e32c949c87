"""Who may do what on drx's Kafka topics: the ACL plan, as a pure function of prefix and integrations.

Kafka's authoriser (``allow.everyone.if.no.acl.found=false``) refuses everything not allowed
here, so this plan is the whole of what each principal can do. ``drx topics create`` writes it
(``shared/kafka/admin.py``); ``docs/kafka-identities.md`` shows it as a table, checked against
this module by ``tests/unit/shared/test_acls.py``.

The principals (SCRAM users, created by the deployment, never by drx):

- ``drx-ingest``, ``drx-matching``, ``drx-notify``: one per worker, each with exactly the topics
  its handlers read and its outbox writes, and its own consumer group
  (``<prefix>drx-<service>``, as ``shared/worker.Worker.group_id`` names it);
- ``drx-operator``: provisions topics and these ACLs, reads ``rejected`` and ``audit``, and
  writes what operator commands write (``drx rejected replay``, ``drx post``, ``drx audit
  checkpoint``);
- ``drx-int-<name>``: one per producing integration, with Write on its role's intake topics only.

Kafka implies Describe from Read and Write on a topic or group; the integrations' Describe is
listed anyway because their clients' metadata requests are all they do besides writing.
Idempotent producers need no cluster-wide ``IdempotentWrite``: since Kafka 2.8 (KIP-679) Write
on any topic is enough for ``InitProducerId``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from shared.kafka.topics import (
    AUDIT,
    CANONICAL,
    CRISES_IN,
    DECISIONS_IN,
    MATCHES,
    NEEDS_IN,
    NOTIFICATIONS,
    PLEDGES_IN,
    REJECTED,
    SUBSCRIPTIONS_IN,
    TopicSpec,
    topic_name,
)

__all__ = [
    "INTEGRATION_PREFIX",
    "OPERATOR",
    "ROLE_TOPICS",
    "SERVICES",
    "AclBinding",
    "Integration",
    "Operation",
    "PatternType",
    "ResourceType",
    "acl_plan",
    "markdown_table",
    "parse_integrations",
    "service_group",
]

ResourceType = Literal["TOPIC", "GROUP", "CLUSTER"]
PatternType = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "CREATE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"]
Role = Literal["organisation", "donor", "coordinator"]

OPERATOR = "drx-operator"
INTEGRATION_PREFIX = "drx-int-"
CLUSTER_NAME = "kafka-cluster"  # Kafka's one name for the cluster resource

SERVICES: dict[str, tuple[tuple[TopicSpec, ...], tuple[TopicSpec, ...]]] = {
    # service: (topics it reads, topics it writes)
    "ingest": ((CRISES_IN, NEEDS_IN, PLEDGES_IN, DECISIONS_IN), (CANONICAL, REJECTED, AUDIT)),
    # matching parks an unreadable canonical record on rejected (services/matching/handlers.py)
    "matching": ((CANONICAL,), (MATCHES, REJECTED, AUDIT)),
    "notify": ((CANONICAL, MATCHES, SUBSCRIPTIONS_IN), (NOTIFICATIONS, REJECTED, AUDIT)),
}
"""Each worker's topics, from its handlers (what it subscribes to) and its outbox (what it writes);
every worker writes audit (its records and the scheduled signed checkpoints)."""

ROLE_TOPICS: dict[Role, tuple[TopicSpec, ...]] = {
    "organisation": (NEEDS_IN, SUBSCRIPTIONS_IN),
    "donor": (PLEDGES_IN, SUBSCRIPTIONS_IN),
    "coordinator": (CRISES_IN, DECISIONS_IN, SUBSCRIPTIONS_IN),
}
"""What each role posts (docs/security.md): every party may manage its subscriptions."""

_INTAKE = (CRISES_IN, NEEDS_IN, PLEDGES_IN, DECISIONS_IN, SUBSCRIPTIONS_IN)
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True, order=True)
class AclBinding:
    """One ALLOW ACL: ``principal`` may do ``operation`` on the resource (from any host)."""

    principal: str  # with Kafka's "User:" in front
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType
    operation: Operation

    def __str__(self) -> str:
        pattern = "" if self.pattern == "LITERAL" else f" ({self.pattern.lower()})"
        return f"{self.principal} {self.operation} {self.resource_type} {self.resource_name}{pattern}"


@dataclass(frozen=True, slots=True)
class Integration:
    """A producing integration: its principal is ``drx-int-<name>``, it posts as ``role``."""

    name: str
    role: Role

    @property
    def principal(self) -> str:
        return f"{INTEGRATION_PREFIX}{self.name}"


def service_group(prefix: str, service: str) -> str:
    """A worker's consumer group: the same name ``shared.worker.Worker.group_id`` gives it."""
    return f"{prefix}drx-{service}"


def parse_integrations(items: Iterable[str]) -> list[Integration]:
    """``NAME=ROLE`` strings (``--integration``, ``DRX_KAFKA_INTEGRATIONS``) to integrations.

    Raises ``ValueError`` saying which item is wrong and why: a name is 1-63 lower-case
    letters, digits and inner hyphens (it becomes part of a principal), a role is one of
    ``organisation``, ``donor``, ``coordinator``, and a name is given once.
    """
    found: dict[str, Integration] = {}
    for item in items:
        name, sep, role = item.strip().partition("=")
        name, role = name.strip(), role.strip()
        if not sep:
            msg = f"integration {item!r} is not NAME=ROLE"
            raise ValueError(msg)
        if not _NAME.fullmatch(name):
            msg = (
                f"integration name {name!r} must be 1-63 lower-case letters, digits or '-', "
                "starting and ending with a letter or digit"
            )
            raise ValueError(msg)
        if role not in ROLE_TOPICS:
            msg = f"integration {name!r} has role {role!r}; a role is one of {', '.join(ROLE_TOPICS)}"
            raise ValueError(msg)
        if name in found:
            msg = f"integration {name!r} is given twice"
            raise ValueError(msg)
        found[name] = Integration(name, role)
    return list(found.values())


def acl_plan(prefix: str, integrations: Sequence[Integration] = ()) -> list[AclBinding]:
    """Every ACL drx needs under topic prefix ``prefix``, sorted, without duplicates."""
    plan: set[AclBinding] = set()

    def topic(principal: str, spec: TopicSpec, *operations: Operation) -> None:
        for operation in operations:
            plan.add(AclBinding(f"User:{principal}", "TOPIC", topic_name(prefix, spec), "LITERAL", operation))

    for service, (reads, writes) in SERVICES.items():
        principal = f"drx-{service}"
        for spec in reads:
            topic(principal, spec, "READ")
        for spec in writes:
            topic(principal, spec, "WRITE")
        plan.add(AclBinding(f"User:{principal}", "GROUP", service_group(prefix, service), "LITERAL", "READ"))

    operator = f"User:{OPERATOR}"
    # every drx topic, and only drx topics: a prefixed pattern (an empty prefix is every topic)
    everything: tuple[str, PatternType] = (prefix, "PREFIXED") if prefix else ("*", "LITERAL")
    for operation in ("CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"):
        plan.add(AclBinding(operator, "TOPIC", *everything, operation))
    plan.add(AclBinding(operator, "CLUSTER", CLUSTER_NAME, "LITERAL", "DESCRIBE"))  # DescribeAcls
    plan.add(AclBinding(operator, "CLUSTER", CLUSTER_NAME, "LITERAL", "ALTER"))  # CreateAcls
    topic(OPERATOR, REJECTED, "READ")  # drx rejected
    topic(OPERATOR, AUDIT, "READ", "WRITE")  # drx audit verify --against-topic, drx audit checkpoint
    for spec in _INTAKE:
        topic(OPERATOR, spec, "WRITE")  # drx rejected replay, drx post, drx decide

    for integration in integrations:
        for spec in ROLE_TOPICS[integration.role]:
            topic(integration.principal, spec, "WRITE", "DESCRIBE")
    return sorted(plan)


def markdown_table(plan: Iterable[AclBinding]) -> str:
    """The plan as the Markdown table ``docs/kafka-identities.md`` shows: one row per principal
    and resource, its operations together."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for binding in sorted(plan):
        where = f"`{binding.resource_name}`" + (" (prefix)" if binding.pattern == "PREFIXED" else "")
        key = (binding.principal, binding.resource_type.lower(), where)
        rows.setdefault(key, []).append(binding.operation)
    lines = ["| principal | resource | name | operations |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{principal}` | {kind} | {name} | {', '.join(sorted(ops))} |"
        for (principal, kind, name), ops in rows.items()
    ]
    return "\n".join(lines) + "\n"
