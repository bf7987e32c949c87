"""Each principal can do what the ACL plan allows and nothing else, on a real Kafka that enforces it.

The broker (``conftest.py``) authenticates with SCRAM-SHA-512 over TLS and refuses what no ACL
allows; ``drx topics create`` wrote the ACLs as ``drx-operator``. Every rule is shown both ways:
the allowed client succeeds, the other is refused by the broker with an authorisation error.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from shared.config import KafkaSettings
from shared.kafka.acls import OPERATOR, acl_plan
from shared.kafka.configs import describe_topic_configs, set_topic_configs
from shared.kafka.topics import CONTACTS_RETENTION_MS, TOPICS
from tests.integration.kafka_security.conftest import INTEGRATIONS, PREFIX, Secured, drx_env
from tests.support.cli import run_drx

ORGANISATION, DONOR, COORDINATOR = (i.principal for i in INTEGRATIONS)
TIMEOUT = 30


async def produce(settings: KafkaSettings, topic: str) -> bytes:
    """Write one record to ``PREFIX + topic`` with an idempotent producer, as drx's clients do."""
    value = uuid.uuid4().bytes
    producer = AIOKafkaProducer(**settings.client_options(), enable_idempotence=True, acks="all")
    try:  # stopped even when starting fails: a refused client must not leave a socket behind
        await producer.start()
        async with asyncio.timeout(TIMEOUT):
            await producer.send_and_wait(f"{PREFIX}{topic}", value)
    finally:
        await producer.stop()
    return value


async def consume(settings: KafkaSettings, topic: str, value: bytes, group: str | None = None) -> None:
    """Read ``PREFIX + topic`` from its start until ``value`` comes by; commit in ``group`` if given."""
    consumer = AIOKafkaConsumer(
        f"{PREFIX}{topic}",
        **settings.client_options(),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        async with asyncio.timeout(TIMEOUT):
            while (await consumer.getone()).value != value:
                pass
            if group is not None:
                await consumer.commit()
    finally:
        await consumer.stop()


def as_user(secured: Secured, user: str) -> KafkaSettings:
    return secured.server.client_settings(user, topic_prefix=PREFIX)


class TestProvisioning:
    def test_drx_topics_create_as_the_operator_creates_the_topics_and_adds_the_acls_once(self, secured):
        first, second = secured.first, secured.second
        plan = acl_plan(PREFIX, INTEGRATIONS)
        operators = [b for b in plan if b.principal == f"User:{OPERATOR}"]
        assert first.returncode == 0, first.stderr
        assert f"created {len(TOPICS)} topic(s)" in first.stdout
        assert f"added {len(plan) - len(operators)} ACL(s) of {len(plan)}" in first.stdout
        assert f"User:{ORGANISATION} WRITE TOPIC drx.intake.needs" in first.stdout
        assert second.returncode == 0, second.stderr
        assert "created 0 topic(s)" in second.stdout
        assert "changed 0 topic config(s)" in second.stdout
        assert f"ACLs: all {len(plan)} already in place" in second.stdout

    async def test_the_subscriptions_intake_keeps_its_contact_addresses_a_day(self, secured):
        admin = AIOKafkaAdminClient(**as_user(secured, OPERATOR).client_options())
        await admin.start()
        try:
            found = await describe_topic_configs(admin, [f"{PREFIX}intake.subscriptions"], ["retention.ms"])
        finally:
            await admin.close()
        assert found[f"{PREFIX}intake.subscriptions"]["retention.ms"] == str(CONTACTS_RETENTION_MS)

    async def test_the_operator_restores_a_longer_retention_and_a_worker_may_not_change_it(self, secured):
        subscriptions = f"{PREFIX}intake.subscriptions"
        week = str(7 * CONTACTS_RETENTION_MS)

        async def alter(user: str) -> None:
            admin = AIOKafkaAdminClient(**as_user(secured, user).client_options())
            try:
                await admin.start()
                await set_topic_configs(admin, {subscriptions: {"retention.ms": week}})
            finally:
                await admin.close()

        with pytest.raises(RuntimeError, match="could not set topic configs"):
            await alter("drx-notify")
        await alter(OPERATOR)
        again = run_drx("topics", "create", env=drx_env(secured.server, OPERATOR))
        assert again.returncode == 0, again.stderr
        assert f"{subscriptions}: retention.ms {week} -> {CONTACTS_RETENTION_MS}" in again.stdout

    @pytest.mark.parametrize(
        ("item", "reason"),
        [
            (
                "trc=admin",
                "integration 'trc' has role 'admin'; a role is one of organisation, donor, coordinator",
            ),
            ("TRC=donor", "integration name 'TRC' must be 1-63 lower-case letters"),
        ],
    )
    def test_a_bad_integration_is_refused_with_exit_2_before_kafka_is_touched(self, secured, item, reason):
        done = run_drx("topics", "create", "--integration", item, env=drx_env(secured.server, OPERATOR))
        assert done.returncode == 2
        assert reason in done.stderr
        assert "created" not in done.stdout


class TestIntegrations:
    @pytest.mark.parametrize(
        ("principal", "topic"),
        [
            (ORGANISATION, "intake.needs"),
            (ORGANISATION, "intake.subscriptions"),
            (DONOR, "intake.pledges"),
            (COORDINATOR, "intake.crises"),
            (COORDINATOR, "intake.decisions"),
        ],
    )
    async def test_an_integration_writes_its_roles_intake_topics_idempotently(
        self, secured, principal, topic
    ):
        await produce(as_user(secured, principal), topic)

    @pytest.mark.parametrize(
        ("principal", "topic"),
        [
            (ORGANISATION, "intake.pledges"),
            (ORGANISATION, "intake.crises"),
            (DONOR, "intake.needs"),
            (DONOR, "intake.decisions"),
            (COORDINATOR, "intake.needs"),
            (ORGANISATION, "canonical"),
            (ORGANISATION, "matches"),
            (DONOR, "audit"),
            (COORDINATOR, "notifications"),
            (COORDINATOR, "rejected"),
        ],
    )
    async def test_an_integration_cannot_write_another_roles_topic_or_drxs_own(
        self, secured, principal, topic
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(as_user(secured, principal), topic)

    @pytest.mark.parametrize("topic", ["rejected", "intake.needs", "canonical"])
    async def test_an_integration_cannot_read(self, secured, topic):
        with pytest.raises(TopicAuthorizationFailedError):
            await consume(as_user(secured, ORGANISATION), topic, b"anything")


class TestServices:
    async def test_ingest_writes_canonical_and_matching_may_not(self, secured):
        value = await produce(as_user(secured, "drx-ingest"), "canonical")
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(as_user(secured, "drx-matching"), "canonical")
        await consume(as_user(secured, "drx-matching"), "canonical", value, group=f"{PREFIX}drx-matching")
        await consume(as_user(secured, "drx-notify"), "canonical", value, group=f"{PREFIX}drx-notify")

    async def test_matching_writes_matches_and_notify_reads_them_but_ingest_may_not(self, secured):
        value = await produce(as_user(secured, "drx-matching"), "matches")
        await consume(as_user(secured, "drx-notify"), "matches", value, group=f"{PREFIX}drx-notify")
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(as_user(secured, "drx-ingest"), "matches")
        with pytest.raises(TopicAuthorizationFailedError):
            await consume(as_user(secured, "drx-ingest"), "matches", value)

    async def test_ingest_consumes_an_intake_topic_with_its_group_and_no_other(self, secured):
        value = await produce(as_user(secured, ORGANISATION), "intake.needs")
        await consume(as_user(secured, "drx-ingest"), "intake.needs", value, group=f"{PREFIX}drx-ingest")
        with pytest.raises(GroupAuthorizationFailedError):
            await consume(
                as_user(secured, "drx-ingest"), "intake.needs", value, group=f"{PREFIX}drx-matching"
            )

    async def test_notify_reads_subscriptions_and_ingest_may_not(self, secured):
        value = await produce(as_user(secured, DONOR), "intake.subscriptions")
        await consume(
            as_user(secured, "drx-notify"), "intake.subscriptions", value, group=f"{PREFIX}drx-notify"
        )
        with pytest.raises(TopicAuthorizationFailedError):
            await consume(as_user(secured, "drx-ingest"), "intake.subscriptions", value)

    async def test_only_the_operator_reads_rejected(self, secured):
        value = await produce(as_user(secured, "drx-notify"), "rejected")
        await consume(as_user(secured, OPERATOR), "rejected", value)
        for service in ("drx-ingest", "drx-matching", "drx-notify"):
            with pytest.raises(TopicAuthorizationFailedError):
                await consume(as_user(secured, service), "rejected", value)

    async def test_the_operator_reads_audit_and_a_worker_may_not(self, secured):
        value = await produce(as_user(secured, "drx-matching"), "audit")
        await consume(as_user(secured, OPERATOR), "audit", value)
        with pytest.raises(TopicAuthorizationFailedError):
            await consume(as_user(secured, "drx-ingest"), "audit", value)


class TestAuthentication:
    async def test_a_wrong_password_is_refused(self, secured):
        settings = secured.server.client_settings("drx-ingest", password="not-the-password")
        with pytest.raises(KafkaConnectionError):
            await produce(settings, "canonical")

    @pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SSL"])
    async def test_a_client_without_tls_or_without_sasl_is_refused(self, secured, protocol):
        good = secured.server.client_settings("drx-ingest")
        settings = good.model_copy(update={"security_protocol": protocol})
        with pytest.raises(KafkaConnectionError):
            await produce(settings, "canonical")
