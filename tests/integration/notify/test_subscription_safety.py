"""Issue 15, item 3, replayed on real PostgreSQL and real local receivers: a subscription belongs to
whoever created it, and webhooks cannot reach inside.

Each attack is refused with a reason, and the legitimate path beside it still works: the
organisation whose subscription id a donor reused still hears of its match; a receiver that
redirects or answers at length costs drx a short excerpt, never a second request or an audit entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shlex
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from services.notify.service import NotifyService
from shared.db.models import AuditRecordRow, SubscriptionRow
from shared.db.models.messaging import OutboxMessage
from shared.intake.parsing import RawMessage
from shared.kafka.topics import SUBSCRIPTIONS_IN
from shared.redact import redact_url
from tests.integration.notify.conftest import PREFIX, SECRETS_KEY, match_event
from tests.support import builders as b
from tests.support.cli import run_drx
from tests.support.provision import register_sources
from tests.support.receivers import HttpReceiver

ORG, DONOR = b.ORGANISATION[0], b.DONOR[0]
PUBLIC_ONLY = (
    "drx sends webhooks to public addresses only (an operator may allow a network with "
    "DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS)"
)


def _raw(event_type: str, data: dict, source: str, offset: int) -> RawMessage:
    return dataclasses.replace(b.raw(SUBSCRIPTIONS_IN, event_type, data, source), offset=offset)


def _webhook(subscription_id: str, kind: str, party: str, url: str) -> dict:
    return {
        "subscription_id": subscription_id,
        "recipient_id": party,
        "recipient_kind": kind,
        "channel": "webhook",
        "address": url,
    }


async def _register(database) -> None:
    await register_sources(database.settings, actor="test", topic_prefix=PREFIX)


async def _rejections(notify) -> list[str]:
    async with notify.service._sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic.endswith("rejected")).order_by(OutboxMessage.id)
        )
        return [json.loads(row.payload)["data"]["reason"] for row in rows]


async def _subscription(notify, subscription_id: str) -> SubscriptionRow | None:
    async with notify.service._sessions() as session:
        return await session.get(SubscriptionRow, subscription_id)


async def _audit_text(notify) -> str:
    """Every audit record's before and after, as one text to search."""
    async with notify.service._sessions() as session:
        rows = await session.scalars(select(AuditRecordRow))
        return json.dumps([[row.action, row.before, row.after] for row in rows], default=str)


async def test_a_donor_cannot_take_over_an_organisation_s_subscription_and_the_organisation_still_hears(
    notify, database
):
    await _register(database)
    async with HttpReceiver() as organisation, HttpReceiver() as donor:
        own = _webhook("s-org", "organisation", "trc-gaziantep", organisation.url)
        takeover = _webhook("s-org", "donor", "hta-berlin", donor.url)  # the org's id, the donor as recipient
        removal = {"subscription_id": "s-org"}
        outcomes = [
            (await notify.service.handle_subscription(raw)).outcome
            for raw in (
                _raw("org.drx.subscription.set", own, ORG, 10),
                _raw("org.drx.subscription.set", takeover, DONOR, 11),
                _raw("org.drx.subscription.removed", removal, DONOR, 12),
            )
        ]
        assert outcomes == ["applied", "rejected", "rejected"]
        refused = (
            "subscription 's-org' was created by another source; only that source or a coordinator whose "
            "scope covers it may replace or remove it (choose another subscription id)"
        )
        assert await _rejections(notify) == [refused, refused]
        stored = await _subscription(notify, "s-org")
        assert stored is not None
        assert (stored.recipient_kind, stored.recipient_id, stored.owner_source, stored.active) == (
            "organisation",
            "trc-gaziantep",
            ORG,
            True,
        )

        await notify.reveal("s-org", organisation)  # the operator hands the secret to the org
        await notify.loop.start()
        await notify.service.handle(match_event())
        (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "sent", "the org's webhook")
    assert row.recipient_id == "trc-gaziantep"
    assert [r.delivery_id for r in organisation.accepted] == [row.delivery_id]
    assert donor.requests == []


async def test_the_owner_may_still_replace_its_subscription_and_a_coordinator_keeps_it_its_owner(
    notify, database
):
    await register_sources(database.settings, (b.GLOBAL_COORDINATOR,), actor="test", topic_prefix=PREFIX)
    await _register(database)
    email = {"channel": "email", "recipient_id": "trc-gaziantep", "recipient_kind": "organisation"}
    steps = [
        (
            _raw(
                "org.drx.subscription.set", {"subscription_id": "s-o", **email, "address": "a@x.org"}, ORG, 20
            )
        ),
        (
            _raw(
                "org.drx.subscription.set", {"subscription_id": "s-o", **email, "address": "b@x.org"}, ORG, 21
            )
        ),
        (
            _raw(
                "org.drx.subscription.set",
                {"subscription_id": "s-o", **email, "address": "c@x.org"},
                b.GLOBAL_COORDINATOR[0],  # an organisation's subscription is in a global scope only
                22,
            )
        ),
    ]
    assert [(await notify.service.handle_subscription(raw)).outcome for raw in steps] == ["applied"] * 3
    stored = await _subscription(notify, "s-o")
    assert stored is not None
    assert (stored.address, stored.owner_source) == ("c@x.org", ORG)


@pytest.fixture
async def public_only(notify) -> NotifyService:
    """Notify as production runs it: DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS empty."""
    return NotifyService(notify.service._sessions, PREFIX, clock=notify.clock)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (
            "http://169.254.169.254/latest/meta-data/?token=s3cret",
            f"the webhook host resolves to 169.254.169.254, a cloud metadata address; {PUBLIC_ONLY}",
        ),
        (
            "http://127.0.0.1:9100/metrics",
            f"the webhook host resolves to 127.0.0.1, a loopback address; {PUBLIC_ONLY}",
        ),
        (
            "http://localhost:9100/metrics",
            f"the webhook host resolves to 127.0.0.1, a loopback address; {PUBLIC_ONLY}",
        ),
        (
            "http://[::ffff:10.0.0.1]/hook",
            f"the webhook host resolves to ::ffff:a00:1, a private address; {PUBLIC_ONLY}",
        ),
        ("http://drx-nowhere.invalid/hook", "the webhook host does not resolve"),
    ],
)
async def test_an_internal_or_unresolvable_webhook_is_refused_at_subscribe_time(
    notify, database, public_only, address, reason
):
    await _register(database)
    outcome = await public_only.handle_subscription(
        _raw("org.drx.subscription.set", _webhook("s-in", "organisation", "trc-gaziantep", address), ORG, 30)
    )
    assert outcome.outcome == "rejected"
    (refused,) = await _rejections(notify)
    assert refused.startswith(reason)
    assert "s3cret" not in refused
    assert "/metrics" not in refused
    assert await _subscription(notify, "s-in") is None


async def test_a_local_receiver_is_accepted_when_the_operator_allows_its_network(notify, database):
    await _register(database)
    async with HttpReceiver() as receiver:
        raw = _raw(
            "org.drx.subscription.set",
            _webhook("s-ok", "organisation", "trc-gaziantep", receiver.url),
            ORG,
            31,
        )
        assert (await notify.service.handle_subscription(raw)).outcome == "applied"


def test_drx_subscribe_add_refuses_the_metadata_service_too(database):
    env = {
        "DRX_DATABASE_URL": database.url,
        "DRX_KAFKA_TOPIC_PREFIX": PREFIX,
        "DRX_LOG_LEVEL": "WARNING",
        "DRX_NOTIFY_SECRETS_KEY": SECRETS_KEY,
    }
    command = "subscribe add s-meta --recipient c --channel webhook --address http://169.254.169.254/latest"
    result = run_drx(*shlex.split(command), env=env)
    assert result.returncode == 2, result.stdout
    assert "169.254.169.254, a cloud metadata address" in " ".join(result.stderr.split())
    allowed = run_drx(
        *shlex.split(command), env={**env, "DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS": "169.254.0.0/16"}
    )
    assert allowed.returncode == 0, allowed.stderr


@contextlib.asynccontextmanager
async def _answering(status: int, headers: str = "", body: bytes = b"") -> AsyncIterator[str]:
    """An HTTP endpoint on 127.0.0.1 that answers every request with ``status``; yields its URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            answer = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{headers}"
            writer.write(f"{answer}\r\n".encode() + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/drx"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_redirect_is_not_followed(notify):
    async with HttpReceiver() as inside:  # where the redirect points: drx was not asked to post there
        target = inside.url
        async with _answering(302, f"Location: {target}\r\n") as redirecting:
            await notify.organisation_webhook(redirecting)
            await notify.loop.start()
            await notify.service.handle(match_event())
            (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "dead", "the dead letter")
    assert row.attempts == 1  # a redirect is final: never followed, never retried
    shown, location = redact_url(redirecting), redact_url(target)  # URLs keep scheme and host only
    assert row.last_error == f"HTTP 302 from {shown} (redirects are not followed): Location: {location}"
    assert inside.requests == []


async def test_a_long_answer_is_kept_as_a_short_excerpt_on_the_delivery_and_not_in_the_audit(notify):
    answer = b"internal-metrics-start \x1b[2J\r\n" + b"process_open_fds 17\n" * 500
    async with _answering(422, body=answer) as talkative:
        await notify.organisation_webhook(talkative)
        await notify.loop.start()
        await notify.service.handle(match_event())
        (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "dead", "the dead letter")
    prefix = f"HTTP 422 from {redact_url(talkative)}: "
    assert row.last_error is not None
    assert row.last_error.startswith(
        prefix + "internal-metrics-start [2J process_open_fds 17 process_open_fds"
    )
    excerpt = row.last_error.removeprefix(prefix)
    assert len(excerpt) == 200
    assert excerpt.isprintable()
    audit = await _audit_text(notify)
    assert "internal-metrics-start" not in audit
    assert "process_open_fds" not in audit
    # The dead letter's record says what happened, not what was said (the "…" is escaped in JSON).
    assert f"HTTP 422 from {redact_url(talkative).removesuffix('…')}" in audit
