"""One secure Apache Kafka per module (TLS, SCRAM-SHA-512, ACLs enforced), provisioned by drx itself.

Starting a broker JVM costs seconds, so the module shares one; its topics live under ``drx.``
on a broker no other test uses. Provisioning is what a deployment does: the super user writes
``drx-operator``'s own ACLs once, then ``drx topics create`` runs as ``drx-operator`` and writes
every other ACL.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from subprocess import CompletedProcess

import pytest

from shared.infra.kafka_secure import SUPER_USER, SecureKafkaServer
from shared.kafka.acls import OPERATOR, acl_plan, parse_integrations
from shared.kafka.admin import provision_acls
from tests.support.cli import run_drx

PREFIX = "drx."
INTEGRATIONS = parse_integrations(["trc-gaziantep=organisation", "hta-berlin=donor", "iom-desk=coordinator"])
USERS = ("drx-ingest", "drx-matching", "drx-notify", OPERATOR, *(i.principal for i in INTEGRATIONS))


def drx_env(server: SecureKafkaServer, user: str, password: str | None = None) -> dict[str, str]:
    """The ``DRX_KAFKA_*`` variables of a drx process that signs in to ``server`` as ``user``."""
    return {
        "DRX_KAFKA_BOOTSTRAP_SERVERS": server.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": PREFIX,
        "DRX_KAFKA_PARTITIONS": "2",
        "DRX_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "DRX_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "DRX_KAFKA_SASL_USERNAME": user,
        "DRX_KAFKA_SASL_PASSWORD": password or server.users[user],
        "DRX_KAFKA_SSL_CAFILE": str(server.ca_file),
        "COLUMNS": "250",
    }


@dataclass
class Secured:
    """The broker, and what the two runs of ``drx topics create`` printed."""

    server: SecureKafkaServer
    first: CompletedProcess[str]
    second: CompletedProcess[str]


@pytest.fixture(scope="module")
def secured() -> Iterator[Secured]:
    with SecureKafkaServer({user: secrets.token_urlsafe(16) for user in USERS}) as server:
        operator = [b for b in acl_plan(PREFIX) if b.principal == f"User:{OPERATOR}"]
        asyncio.run(provision_acls(server.client_settings(SUPER_USER), operator))
        env = drx_env(server, OPERATOR)
        env["DRX_KAFKA_INTEGRATIONS"] = ",".join(f"{i.name}={i.role}" for i in INTEGRATIONS)
        first = run_drx("topics", "create", env=env)
        second = run_drx("topics", "create", env=env)
        yield Secured(server, first, second)
