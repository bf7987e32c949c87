"""Contact details stay where delivery needs them, on the real stack: nowhere else, for ever.

Subscriptions (an email address, webhook URLs with tokens in their path and query) are set,
replaced, removed and refused through ``intake.subscriptions``; alerts are delivered by email and
webhook, and one webhook dies. Then every record of every topic under the test's prefix, every
row of every table, the audit export (JSON Lines and CSV) and every log line are searched for the
addresses and tokens, and for the webhook signing secrets drx generated (revealed to the
operator, one handed to the receiver). Addresses may be found only on the door they came in by
(``intake.subscriptions``) and in the ``address`` columns of ``subscriptions`` and ``deliveries``
-- which the search also shows, so it is known to look in the right places; the secrets nowhere
(``webhook_secrets`` holds them sealed, which the search reads as text too).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator

import pytest
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select, text

from shared.audit.export import iter_records, record_writer
from shared.db.models import DeliveryRow, SubscriptionRow
from shared.db.models.messaging import OutboxMessage
from shared.infra._process import free_port
from shared.kafka.topics import REJECTED, SUBSCRIPTIONS_IN, TOPICS, topic_name
from shared.logging import configure_logging
from shared.redact import fingerprint
from tests.integration.notify.conftest import reveal_to
from tests.support import builders as b
from tests.support.kafka import eventually
from tests.support.pipeline import Pipeline, running_pipeline
from tests.support.receivers import HttpReceiver

COORD, ORG, _, DONOR = (s[0] for s in b.SOURCES)
OLD_MAIL = "amina.yusuf@example.org"
NEW_MAIL = "amina.y@relief-desk.example.net"
REFUSED_MAIL = "omar.refused@example.org"
TOKENS = {
    "org": "tok-ORG-5f1e9a",
    "org_query": "qk-ORG-77c2d0",
    "dead": "tok-DEAD-0b3c4d",
    "refused": "tok-REFUSED-a8e6f2",
}
SECRETS = (OLD_MAIL, NEW_MAIL, REFUSED_MAIL, *TOKENS.values())


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log line of the in-process workers, as the JSON a deployment ships."""
    out = io.StringIO()
    configure_logging("DEBUG", "json", stream=out)
    try:
        yield out
    finally:
        structlog.contextvars.clear_contextvars()
        configure_logging()


@pytest.fixture
async def stack(settings, notify_settings, logs):
    settings = settings.model_copy(update={"notify": notify_settings})
    async with (
        running_pipeline(settings, REJECTED, notify=True) as pipeline,
        HttpReceiver() as receiver,
    ):
        yield pipeline, receiver


async def _subscribe(pipeline: Pipeline, sub_id: str, source: str, **fields) -> None:
    await pipeline.post("org.drx.subscription.set", {"subscription_id": sub_id, **fields}, source)


async def _subscription(pipeline: Pipeline, sub_id: str) -> SubscriptionRow | None:
    async with pipeline.worker.sessions() as session:
        return await session.get(SubscriptionRow, sub_id)


async def _wait_subscription(pipeline: Pipeline, sub_id: str, predicate, what: str) -> None:
    async def met() -> bool:
        row = await _subscription(pipeline, sub_id)
        return row is not None and predicate(row)

    await eventually(met, 30, what)


async def _deliveries(pipeline: Pipeline) -> list[DeliveryRow]:
    async with pipeline.worker.sessions() as session:
        return list(await session.scalars(select(DeliveryRow)))


async def test_no_address_or_token_is_kept_anywhere_but_where_delivery_needs_it(stack, smtp, logs):  # noqa: PLR0915 - one scenario, then the search
    pipeline, receiver = stack
    org_url = f"{receiver.url}/t/{TOKENS['org']}?key={TOKENS['org_query']}"
    dead_url = f"http://127.0.0.1:{free_port()}/t/{TOKENS['dead']}"
    coordinator = {
        "recipient_id": "iom-desk",
        "recipient_kind": "coordinator",
        "country": "TUR",
    }  # in its scope

    await _subscribe(pipeline, "s-coord", COORD, **coordinator, channel="email", address=OLD_MAIL)
    await _wait_subscription(pipeline, "s-coord", lambda r: r.address == OLD_MAIL, "s-coord set")
    await _subscribe(pipeline, "s-coord", COORD, **coordinator, channel="email", address=NEW_MAIL)
    await _wait_subscription(pipeline, "s-coord", lambda r: r.address == NEW_MAIL, "s-coord replaced")
    organisation = {"recipient_id": "trc-gaziantep", "recipient_kind": "organisation"}
    await _subscribe(pipeline, "s-org", ORG, **organisation, channel="webhook", address=org_url)
    await _subscribe(pipeline, "s-dead", COORD, **coordinator, channel="webhook", address=dead_url)
    # Refused: a subscriber names no signing key (the old scheme); a Kafka reader has no address.
    refused_url = f"https://hooks.example.org/t/{TOKENS['refused']}"
    await _subscribe(
        pipeline, "s-keyed", ORG, **organisation, channel="webhook", address=refused_url, key_id="k1"
    )
    donor = {"recipient_id": "hta-berlin", "recipient_kind": "donor"}
    await _subscribe(pipeline, "s-kafka", DONOR, **donor, channel="kafka", address=REFUSED_MAIL)
    rejected = await pipeline.wait_rejected(2)
    await _wait_subscription(pipeline, "s-dead", lambda r: True, "s-dead set")
    await _wait_subscription(pipeline, "s-org", lambda r: True, "s-org set")
    assert pipeline.notify is not None
    prefix = pipeline.settings.kafka.topic_prefix
    sessions, notify_settings = pipeline.notify.sessions, pipeline.settings.notify
    revealed = [
        await reveal_to(sessions, notify_settings, "s-org", receiver, prefix),
        await reveal_to(sessions, notify_settings, "s-dead", None, prefix),
    ]
    searched = (*SECRETS, *(issued.secret for issued in revealed))

    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)
    await pipeline.wait_matching("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)

    async def delivered() -> bool:
        dead = [d for d in await _deliveries(pipeline) if d.subscription_id == "s-dead"]
        return bool(smtp.to(NEW_MAIL) and receiver.accepted and dead and dead[0].status == "dead")

    await eventually(delivered, 60, "an email, a webhook and a dead-lettered webhook")
    await pipeline.post("org.drx.subscription.removed", {"subscription_id": "s-coord"}, COORD)
    await _wait_subscription(pipeline, "s-coord", lambda r: not r.active, "s-coord removed")
    await _wait_outbox_relayed(pipeline)

    # The search is sound: it finds the contacts where they must be.
    topics = await _read_all_topics(pipeline)
    door = topic_name(pipeline.settings.kafka.topic_prefix, SUBSCRIPTIONS_IN)
    for secret in (OLD_MAIL, NEW_MAIL, REFUSED_MAIL, TOKENS["org"], TOKENS["refused"]):
        assert any(secret in shown for shown, _ in topics[door]), secret
    tables = await _read_all_tables(pipeline, keep_address=True)
    assert NEW_MAIL in tables["subscriptions"]
    assert TOKENS["dead"] in tables["deliveries"]

    # Nowhere else.
    originals = {hashlib.sha256(value).hexdigest() for _, value in topics.pop(door)}
    places = {
        **{f"topic {name}": "\n".join(shown for shown, _ in records) for name, records in topics.items()},
        **{f"table {name}": rows for name, rows in (await _read_all_tables(pipeline)).items()},
        **await _audit_exports(pipeline),
        "logs": logs.getvalue(),
    }
    found = [(place, secret) for place, content in places.items() for secret in searched if secret in content]
    assert found == []
    # The sealed secrets are there, and the fingerprints are what the audit trail names them by.
    assert len(places["table webhook_secrets"].splitlines()) > 0
    for issued in revealed:
        assert issued.fingerprint in places["audit export (jsonl)"]
    assert len(topics) == len(TOPICS) - 1
    assert "notification.dead_lettered" in places["audit export (jsonl)"]  # the searches saw the
    assert "notification dead-lettered" in places["logs"]  # dead letter, and its error

    # What is kept instead: a redacted original with the digest of the real one, and in the
    # audit the redacted address with its fingerprint.
    for record in rejected:
        data = record["data"]
        assert data["original_redacted"] is True
        assert data["original_sha256"] in originals
        assert base64.b64decode(data["original_base64"]).decode() == data["original_text"]
    replaced = await _audit_after(pipeline, "subscription.replaced", "s-coord")
    assert replaced["address"] == "a***@relief-desk.example.net"
    assert replaced["address_sha256"] == fingerprint(NEW_MAIL)
    org = await _audit_after(pipeline, "subscription.added", "s-org")
    assert org["address"] == f"{receiver.url.split('/hooks')[0]}/…"


async def _read_all_topics(pipeline: Pipeline) -> dict[str, list[tuple[str, bytes]]]:
    """Every record of every drx topic under the test's prefix: its key, headers and value as
    text, and its value as it is."""
    prefix = pipeline.settings.kafka.topic_prefix
    consumer = AIOKafkaConsumer(
        bootstrap_servers=pipeline.settings.kafka.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        names = sorted(t for t in await consumer.topics() if t.startswith(prefix))
        partitions = [
            TopicPartition(name, p) for name in names for p in range(pipeline.settings.kafka.partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        read: dict[str, list[tuple[str, bytes]]] = {name: [] for name in names}

        async def caught_up() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    value = r.value or b""
                    key = (r.key or b"").decode("utf-8", "replace")
                    headers = " ".join(f"{k}={v.decode('utf-8', 'replace')}" for k, v in r.headers)
                    shown = f"{key} {headers} {value.decode('utf-8', 'replace')}"
                    read[r.topic].append((shown, value))
            return all([await consumer.position(tp) >= end for tp, end in ends.items()])

        await eventually(caught_up, 30, "every record of every topic")
    finally:
        await consumer.stop()
    return read


async def _wait_outbox_relayed(pipeline: Pipeline) -> None:
    async def relayed() -> bool:
        async with pipeline.worker.sessions() as session:
            pending = select(func.count()).where(OutboxMessage.published_at.is_(None))
            return await session.scalar(pending.select_from(OutboxMessage)) == 0

    await eventually(relayed, 30, "the outbox relayed")


async def _read_all_tables(pipeline: Pipeline, *, keep_address: bool = False) -> dict[str, str]:
    """Every row of every table, each column as text; without ``keep_address``, minus the
    ``address`` columns of ``subscriptions`` and ``deliveries`` (where delivery reads it)."""
    tables: dict[str, str] = {}
    async with pipeline.worker.sessions() as session:
        names = await session.scalars(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        )
        for name in list(names):
            rows = (await session.execute(text(f'SELECT * FROM "{name}"'))).mappings().all()
            cells = []
            for row in rows:
                for column, value in row.items():
                    if column == "address" and name in ("subscriptions", "deliveries") and not keep_address:
                        continue
                    cells.append(_as_text(value))
            tables[name] = "\n".join(cells)
    return tables


def _as_text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def _audit_exports(pipeline: Pipeline) -> dict[str, str]:
    """The audit chain exported as ``drx audit export`` writes it, in both formats."""
    exports = {}
    for export_format in ("jsonl", "csv"):
        out = io.StringIO()
        write = record_writer(export_format, out)
        async with pipeline.worker.sessions() as session:
            async for record in iter_records(session):
                write(record)
        exports[f"audit export ({export_format})"] = out.getvalue()
    return exports


async def _audit_after(pipeline: Pipeline, action: str, entity_id: str) -> dict:
    async with pipeline.worker.sessions() as session:
        rows = await session.execute(
            text("SELECT after FROM audit_log WHERE action = :a AND entity_id = :e ORDER BY seq"),
            {"a": action, "e": entity_id},
        )
        (after,) = rows.scalars().all()[-1:]
        return after
