"""The edges of checkpoints: the key file, the chain's head, publishing straight to Kafka, reading back.

A checkpoint is published by a Kafka producer of its own, not through the outbox: the outbox is
a table, and whoever can rewrite the chain can rewrite the outbox too. The signer reads the head
from PostgreSQL, but only after the whole chain verifies, so it never signs a chain that is
already broken; what it cannot see is a rewrite, hashes and all, of records no checkpoint covers
yet. Checkpointing often (``DRX_AUDIT_CHECKPOINT_EVERY_MIN``) keeps that window short.

Who signs: the worker whose environment names ``DRX_AUDIT_SIGNING_KEY_FILE`` runs the
``audit.checkpoint`` job (``shared/worker.py``); ``drx audit checkpoint`` signs one on demand.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit.anchor import TopicMessage
from shared.audit.chain import AUDIT_KEY
from shared.audit.checkpoint import Checkpoint, checkpoint_event, load_signing_key, sign
from shared.audit.verify import verify_database
from shared.config import KafkaSettings
from shared.db.models import AuditRecordRow
from shared.kafka.reading import read_topic
from shared.kafka.topics import AUDIT, topic_name
from shared.logging import get_logger

__all__ = [
    "ChainNotSignedError",
    "hashes_at",
    "publish_checkpoint",
    "read_audit_topic",
    "read_signing_key",
    "sign_head",
]

log = get_logger("drx.audit.signer")
_STRUCTURED = b"application/cloudevents+json; charset=utf-8"


class ChainNotSignedError(RuntimeError):
    """The chain does not verify on its own, so its head is not signed; the message says where."""


def read_signing_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in ``path`` (PEM or raw 32 bytes); ``SigningKeyError`` when it is not one."""
    return load_signing_key(path.read_bytes())


async def sign_head(
    sessions: async_sessionmaker[AsyncSession], key: Ed25519PrivateKey, now: dt.datetime
) -> Checkpoint | None:
    """A checkpoint of the chain's last record, signed at ``now``; None for an empty chain.

    Raises :class:`ChainNotSignedError` when the chain does not verify: signing it would vouch
    for a break.
    """
    async with sessions() as session:
        report = await verify_database(session)  # one REPEATABLE READ snapshot: head is its end
    if report.problem is not None:
        msg = f"the audit chain is broken at {report.problem}; not signing it"
        raise ChainNotSignedError(msg)
    if report.count == 0:
        return None
    return sign(key, report.count, report.last_hash, now)


async def publish_checkpoint(settings: KafkaSettings, checkpoint: Checkpoint) -> None:
    """Publish ``checkpoint`` to the audit topic, under the chain's key, waiting for every replica."""
    event = checkpoint_event(checkpoint)
    producer = AIOKafkaProducer(
        **settings.client_options(), enable_idempotence=settings.idempotent_producer, acks="all"
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_name(settings.topic_prefix, AUDIT),
            json.dumps(event.model_dump(mode="json", exclude_none=True)).encode(),
            key=AUDIT_KEY.encode(),
            headers=[("content-type", _STRUCTURED)],
        )
    finally:
        await producer.stop()
    log.info("audit checkpoint published", seq=checkpoint.seq, key_id=checkpoint.key_id)


async def read_audit_topic(settings: KafkaSettings, timeout_s: float = 30.0) -> list[TopicMessage]:
    """Every message now on the audit topic, as partition, offset and bytes."""
    records = await read_topic(settings, topic_name(settings.topic_prefix, AUDIT), timeout_s)
    return [TopicMessage(r.partition, r.offset, r.value) for r in records]


async def hashes_at(session: AsyncSession, seqs: Iterable[int]) -> tuple[dict[int, str], int]:
    """The stored hashes of records ``seqs`` (those that exist), and the chain's last ``seq`` (0: empty)."""
    wanted = sorted(set(seqs))
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), 1000):
        rows = await session.execute(
            select(AuditRecordRow.seq, AuditRecordRow.hash).where(
                AuditRecordRow.seq.in_(wanted[start : start + 1000])
            )
        )
        stored.update((seq, digest) for seq, digest in rows)
    head = await session.scalar(select(func.max(AuditRecordRow.seq)))
    return stored, int(head or 0)
