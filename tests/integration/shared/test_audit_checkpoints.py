"""Signed checkpoints on the real Kafka and PostgreSQL: the superuser's rewrite is named, a forger is ignored.

The attack replayed (issue 15): as the database superuser, rewrite a record's ``after``, re-chain
every hash after it, re-publish the rewritten records as the outbox would. The chain verifies on
its own; only the signed checkpoint on the audit topic, whose key is not in the database, tells.
"""

import asyncio
import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from services.cli.audit import audit_app
from shared import audit
from shared.audit.anchor import sort_messages
from shared.config import AuditSettings, Settings
from shared.db.session import create_engine, create_session_factory
from shared.kafka.admin import create_topics
from shared.kafka.topics import AUDIT, topic_name
from shared.outbox import OutboxRelay
from shared.worker import Worker


@pytest.fixture
def signing_key(tmp_path: Path) -> tuple[Path, str]:
    """A key made by ``drx audit keygen``: its file and the public key it printed."""
    path = tmp_path / "audit-signing.pem"
    result = CliRunner().invoke(audit_app, ["keygen", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o777 == 0o600
    (line,) = [x for x in result.output.splitlines() if x.startswith("DRX_AUDIT_VERIFY_KEY=")]
    return path, line.removeprefix("DRX_AUDIT_VERIFY_KEY=")


def _env(settings: Settings, key: tuple[Path, str]) -> dict[str, str]:
    return {
        "DRX_DATABASE_URL": settings.database.sqlalchemy_url,
        "DRX_KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "DRX_AUDIT_SIGNING_KEY_FILE": str(key[0]),
        "DRX_AUDIT_VERIFY_KEY": key[1],
    }


def _drx_audit(settings: Settings, key: tuple[Path, str], *args: str):
    return CliRunner().invoke(audit_app, list(args), env=_env(settings, key))


def _write_and_publish(settings: Settings, numbers: range) -> None:
    """Audit records as services write them, published by the outbox relay as workers do."""

    async def run() -> None:
        engine = create_engine(settings.database)
        sessions = create_session_factory(engine)
        relay = OutboxRelay(sessions, settings.kafka)
        await relay.connect()
        try:
            for n in numbers:
                async with sessions.begin() as session:
                    audit.record(
                        session,
                        settings.kafka.topic_prefix,
                        audit.AuditEntry(
                            "urn:drx:org:trc", "need.revised", "need", f"need-{n}", after={"q": n}
                        ),
                    )
            while await relay.publish_once():
                pass
        finally:
            await relay.stop()
            await engine.dispose()

    asyncio.run(run())


def _rewrite_as_superuser(settings: Settings, from_seq: int) -> None:
    """The attacker: change record ``from_seq``'s ``after``, re-chain every record after it, re-publish."""
    url = settings.database.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT seq, at, actor, action, entity_type, entity_id, before, after, causing_event_id, "
            "correlation_id, prev_hash, hash FROM audit_log ORDER BY seq"
        ).fetchall()
        kept = [audit.AuditRecord(*row) for row in rows if row[0] < from_seq]
        entries = [
            (
                audit.AuditEntry(
                    r.actor, r.action, r.entity_type, r.entity_id, r.before,
                    {"q": "nothing was delivered"} if r.seq == from_seq else r.after,
                    r.causing_event_id, r.correlation_id,
                ),
                r.at,
            )
            for r in (audit.AuditRecord(*row) for row in rows if row[0] >= from_seq)
        ]  # fmt: skip
        forged = audit.chain(entries, last_seq=kept[-1].seq, last_hash=kept[-1].hash)
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        for rec in forged:
            conn.execute(
                "UPDATE audit_log SET after = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                (Jsonb(rec.after), rec.prev_hash, rec.hash, rec.seq),
            )
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    _send(settings, *(rec.event().model_dump_json().encode() for rec in forged))


def _send(settings: Settings, *values: bytes) -> None:
    """Anyone on the network: messages straight onto the audit topic, under the chain's key."""

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(
                    topic_name(settings.kafka.topic_prefix, AUDIT), value, key=audit.AUDIT_KEY.encode()
                )
        finally:
            await producer.stop()

    asyncio.run(run())


class TestTheSuperusersRewrite:
    def test_a_rechained_rewrite_verifies_alone_but_contradicts_the_signed_checkpoint(
        self, settings, signing_key
    ):
        asyncio.run(create_topics(settings.kafka))
        _write_and_publish(settings, range(1, 11))
        signed = _drx_audit(settings, signing_key, "checkpoint")
        assert signed.exit_code == 0, signed.output
        assert "signed checkpoint published to" in signed.output
        assert "record 10, signed" in signed.output
        _write_and_publish(settings, range(11, 13))  # after the checkpoint: not yet covered

        honest = _drx_audit(settings, signing_key, "verify", "--against-topic")
        assert honest.exit_code == 0, honest.output
        assert "audit chain verified: 12 records" in honest.output
        assert "all good up to record 10" in honest.output
        assert "2 records after it not yet covered" in honest.output

        _rewrite_as_superuser(settings, from_seq=4)

        alone = _drx_audit(settings, signing_key, "verify")
        assert alone.exit_code == 0, alone.output  # consistent on its own: hashes and links recomputed
        compared = _drx_audit(settings, signing_key, "verify", "--against-topic")
        assert compared.exit_code == 1, compared.output
        assert (
            "the database was rewritten: record 10's hash differs from signed checkpoint at"
            in compared.output
        )
        assert "(ignored)" not in compared.output  # the re-published record events are not messages to flag

    def test_a_removed_tail_under_a_checkpoint_is_named(self, settings, signing_key):
        asyncio.run(create_topics(settings.kafka))
        _write_and_publish(settings, range(1, 6))
        assert _drx_audit(settings, signing_key, "checkpoint").exit_code == 0
        url = settings.database.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            conn.execute("DELETE FROM audit_log WHERE seq >= 4")
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        assert _drx_audit(settings, signing_key, "verify").exit_code == 0  # records 1-3 alone are fine
        compared = _drx_audit(settings, signing_key, "verify", "--against-topic")
        assert compared.exit_code == 1
        assert "record 5 is missing" in compared.output


class TestForgedMessages:
    def test_unsigned_messages_on_the_topic_are_reported_as_ignored_not_as_failure(
        self, settings, signing_key
    ):
        asyncio.run(create_topics(settings.kafka))
        _write_and_publish(settings, range(1, 4))
        assert _drx_audit(settings, signing_key, "checkpoint").exit_code == 0
        now = dt.datetime.now(dt.UTC)
        forged_checkpoint = audit.checkpoint_event(
            audit.Checkpoint(seq=2, hash="0" * 64, at=now, key_id="0" * 16, signature="AAAA")
        )
        forged_record = json.loads(_any_record(settings).event().model_dump_json())
        forged_record["data"]["hash"] = "f" * 64  # the single message that used to fail verify
        _send(settings, forged_checkpoint.model_dump_json().encode(), json.dumps(forged_record).encode())

        result = _drx_audit(settings, signing_key, "verify", "--against-topic")
        assert result.exit_code == 0, result.output
        assert "unsigned or badly signed message on the audit topic at partition" in result.output
        assert "(ignored): signed with key '0000000000000000'" in result.output
        assert result.output.count("(ignored)") == 1  # a record event is the unsigned copy, not a forgery
        assert "all good up to record 3" in result.output

    def test_verifying_against_the_topic_needs_the_public_key(self, settings, signing_key):
        env = {k: v for k, v in _env(settings, signing_key).items() if k != "DRX_AUDIT_VERIFY_KEY"}
        result = CliRunner().invoke(audit_app, ["verify", "--against-topic"], env=env)
        assert result.exit_code == 2
        assert "DRX_AUDIT_VERIFY_KEY" in result.output


def _any_record(settings: Settings) -> audit.AuditRecord:
    async def first() -> audit.AuditRecord:
        engine = create_engine(settings.database)
        try:
            async with create_session_factory(engine)() as session:
                async for rec in audit.iter_records(session, last_seq=1):
                    return rec
        finally:
            await engine.dispose()
        raise AssertionError("no record")

    return asyncio.run(first())


class TestTheSigner:
    async def test_the_worker_holding_the_key_signs_on_schedule(self, settings, signing_key):
        await create_topics(settings.kafka)
        await asyncio.to_thread(_write_and_publish, settings, range(1, 3))
        holder = Worker(settings.model_copy(update={"audit": AuditSettings(signing_key_file=signing_key[0])}))
        try:
            outcome = await holder.scheduler().tick("audit.checkpoint")
        finally:
            await holder.engine.dispose()
        assert outcome.ran
        assert outcome.count == 2
        keys = audit.load_verify_keys(signing_key[1])
        messages = await audit.read_audit_topic(settings.kafka)
        found = sort_messages(messages, keys)
        assert [cp.seq for cp in found.checkpoints] == [2]
        assert found.ignored == []
        assert found.record_events == 2

    def test_a_worker_without_the_key_has_no_signing_job(self, settings):
        assert "audit.checkpoint" not in {job.name for job in Worker(settings).jobs()}

    async def test_the_audit_topic_is_created_to_be_kept_for_ever(self, settings):
        await create_topics(settings.kafka)
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
        await admin.start()
        try:
            name = topic_name(settings.kafka.topic_prefix, AUDIT)
            (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        finally:
            await admin.close()
        configs = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
        assert configs["retention.ms"] == "-1"
        assert configs["cleanup.policy"] == "delete"


def test_a_broken_chain_is_not_signed(settings, signing_key):
    asyncio.run(create_topics(settings.kafka))
    _write_and_publish(settings, range(1, 4))
    url = settings.database.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    result = _drx_audit(settings, signing_key, "checkpoint")
    assert result.exit_code == 1
    assert "the audit chain is broken at record 2" in result.output
    assert "not signing it" in result.output
    keys = audit.load_verify_keys(signing_key[1])
    assert sort_messages(asyncio.run(audit.read_audit_topic(settings.kafka)), keys).checkpoints == []
