"""Notify's sending side: due deliveries go out concurrently, with retries, then a dead letter.

One attempt is three short steps, none of which holds a lock while waiting on the network:

1. **claim** (one transaction): due rows are taken with ``FOR UPDATE SKIP LOCKED`` and leased
   (``attempts + 1``, ``next_attempt_at`` pushed past the send timeout), so several notify
   workers never send the same row at once;
2. **send**, outside any transaction, with the channel's timeout; a webhook is signed with the
   secrets its subscription has at that moment (after a rotation, the new and, during the
   overlap, the old one), opened from ``webhook_secrets`` just before;
3. **record** (one transaction, only if the lease is still ours): ``sent`` with its
   ``org.drx.notification.sent`` event and audit record, or a retry time with backoff and jitter,
   or ``dead`` with the last error after ``max_attempts``. Those audit records name the cause
   stored on the row when the delivery was planned (the match event, or none for a digest).

A worker that dies between 2 and 3 leaves a leased row; the lease runs out and another attempt
sends it again. Receivers deduplicate on the delivery id (``X-Drx-Delivery``, ``Message-ID``).

Each delivery is its own task, at most ``delivery_concurrency`` at a time: a slow endpoint holds
one slot for at most its timeout and never delays the others.

While claiming fails (PostgreSQL is away), the loop polls with growing pauses up to
:data:`MAX_PAUSE_S` and logs the first failure, then one line per window and one on recovery
(``shared/retrying.py``); it once wrote a traceback every poll, 40 MB in five minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.channels import Channels, DeliveryError, Outgoing
from services.notify.domain import Digest, digest_period, retry_delay
from services.notify.outputs import audit_attempt, audit_digested, digest_delivery, enqueue_sent
from services.notify.repository import NotifyRepository
from services.notify.sealing import SealingError
from services.notify.webhook_secrets import keyring_of, signing_secrets
from shared.config import NotifySettings
from shared.db.models import DeliveryRow
from shared.logging import get_logger
from shared.observability import dead_letter, notification_attempt
from shared.redact import scrub
from shared.retrying import Delays, RetryLog
from shared.scheduling import Clock

__all__ = ["MAX_PAUSE_S", "Attempt", "DeliveryLoop"]

MAX_PAUSE_S = 10.0
"""The longest pause between polls while the database is away: deliveries resume that soon after."""

log = get_logger("drx.notify")
_LEASE_MARGIN_S = 30.0
_COLUMNS = ("delivery_id", "recipient_id", "recipient_kind", "channel", "kind", "subject", "text")
_CAUSE = ("causing_event_id", "correlation_id")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed delivery: what to send, and the attempt number that proves the lease is ours."""

    row: dict[str, Any]
    attempt: int


class DeliveryLoop:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Channels,
        settings: NotifySettings,
        topic_prefix: str,
        *,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),
        jitter: Callable[[], float] = random.random,
        poll_interval: float = 0.2,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._settings = settings
        self._prefix = topic_prefix
        self._clock = clock
        self._jitter = jitter
        self._poll_interval = poll_interval
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._keyring = keyring_of(settings.sealing_keys())
        self._retries = RetryLog(log, "delivery loop", Delays(first_s=poll_interval, max_s=MAX_PAUSE_S))

    # --- running ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._channels.start()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="drx-notify-delivery")

    def wake(self) -> None:
        """New deliveries were committed: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; let in-flight sends finish (each is bounded by its timeout)."""
        # The flag ends the loop even if the cancellation is lost: Python 3.11's wait_for drops
        # a cancel that arrives as the awaited future completes (a delivery finishing wakes the
        # loop), and the loop then polled for ever while this stop waited for it.
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)  # our own cancel still propagates
            self._task = None
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self._channels.stop()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.dispatch()
            except Exception as error:  # noqa: BLE001 - the loop must outlive outages; RetryLog logs it
                pause = self._retries.failed(error)
                self._wake.clear()
                await asyncio.sleep(pause)  # a wake-up cannot cut a backoff short
                continue
            self._retries.succeeded()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()

    async def dispatch(self, now: dt.datetime | None = None) -> int:
        """Claim as many due deliveries as there are free slots and start sending them.

        The loop calls it when woken and at each poll; the scheduled job ``notify.retry-due``
        calls it with the job's time, for retries and lapsed leases wherever they were created.
        """
        free = self._settings.delivery_concurrency - len(self._inflight)
        if free <= 0:
            return 0
        attempts = await self.claim(free, now)
        for attempt in attempts:
            task = asyncio.create_task(self.attempt(attempt))
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return len(attempts)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free

    # --- one attempt -----------------------------------------------------------------------------

    async def claim(self, limit: int, now: dt.datetime | None = None) -> list[Attempt]:
        now = now or self._clock()
        lease = dt.timedelta(seconds=self._settings.webhook_timeout_s + _LEASE_MARGIN_S)
        async with self._sessions.begin() as session:
            rows = await NotifyRepository(session).lease_due(now, lease, limit)
            return [Attempt(_as_dict(row), row.attempts) for row in rows]

    async def attempt(self, claimed: Attempt) -> None:
        row = claimed.row
        try:
            now = self._clock()
            await self._channels.send(await self._outgoing(row, now), now=now)
        except DeliveryError as error:
            await self._failed(claimed, str(error), retryable=error.retryable, summary=error.summary)
        except Exception as error:  # a bug in a channel must not kill the loop
            log.exception("channel crashed", delivery_id=row["delivery_id"])
            crash = f"{type(error).__name__}: {error}"
            await self._failed(claimed, crash, retryable=True, summary=crash)
        else:
            await self._sent(claimed)

    async def _outgoing(self, row: dict[str, Any], now: dt.datetime) -> Outgoing:
        secrets: tuple[str, ...] = ()
        if row["channel"] == "webhook":
            secrets = await self._secrets(row["subscription_id"], now)
        return Outgoing(
            delivery_id=row["delivery_id"],
            channel=row["channel"],
            address=row["address"],
            subject=row["subject"],
            text=row["text"],
            payload=row["payload"],
            subscription_id=row["subscription_id"],
            secrets=secrets,
        )

    async def _secrets(self, subscription_id: str, now: dt.datetime) -> tuple[str, ...]:
        """The subscription's signing secrets now; a delivery that cannot be signed is not sent."""
        if self._keyring is None:
            msg = f"no signing secret for subscription {subscription_id!r}: DRX_NOTIFY_SECRETS_KEY is not set"
            raise DeliveryError(msg, retryable=False)
        async with self._sessions() as session:
            try:
                secrets = await signing_secrets(session, self._keyring, subscription_id, now)
            except SealingError as error:
                raise DeliveryError(str(error), retryable=False) from None
        if not secrets:
            msg = (
                f"no signing secret for subscription {subscription_id!r} "
                f"(the operator makes one: drx subscribe secret reveal {subscription_id})"
            )
            raise DeliveryError(msg, retryable=False)
        return secrets

    async def _sent(self, claimed: Attempt) -> None:
        now = self._clock()
        async with self._sessions.begin() as session:
            if not await self._settle(session, claimed, status="sent", sent_at=now, last_error=None):
                return
            enqueue_sent(session, self._prefix, claimed.row, now)
            after = {"attempts": claimed.attempt}
            audit_attempt(
                session, self._prefix, claimed.row, action="notification.sent", after=after, now=now
            )
        notification_attempt(claimed.row["channel"], "sent")
        log.info("notification sent", delivery_id=claimed.row["delivery_id"], attempts=claimed.attempt)

    async def _failed(self, claimed: Attempt, error: str, *, retryable: bool, summary: str) -> None:
        """Record a failed attempt: ``error`` (with the receiver's answer) on the row as its last
        error; ``summary`` (without it) in the audit record and the log, which last longer. Both
        are scrubbed of contact details first: a receiver's echo keeps none."""
        error, summary = scrub(error), scrub(summary)
        now = self._clock()
        settings = self._settings
        give_up = not retryable or claimed.attempt >= settings.max_attempts
        channel = claimed.row["channel"]
        if give_up:
            async with self._sessions.begin() as session:
                dead = await self._settle(session, claimed, status="dead", last_error=error)
                if dead:
                    after = {"attempts": claimed.attempt, "last_error": summary}
                    action = "notification.dead_lettered"
                    audit_attempt(session, self._prefix, claimed.row, action=action, after=after, now=now)
            if dead:
                notification_attempt(channel, "dead")
                dead_letter(channel)
                log.warning(
                    "notification dead-lettered", delivery_id=claimed.row["delivery_id"], error=summary
                )
            return
        async with self._sessions.begin() as session:
            delay = retry_delay(
                claimed.attempt,
                base_s=settings.backoff_base_s,
                max_s=settings.backoff_max_s,
                jitter=self._jitter(),
            )
            retrying = await self._settle(
                session, claimed, status="pending", next_attempt_at=now + delay, last_error=error
            )
        if retrying:
            notification_attempt(channel, "retry")
        log.info(
            "notification attempt failed; will retry", delivery_id=claimed.row["delivery_id"], error=summary
        )

    @staticmethod
    async def _settle(session: AsyncSession, claimed: Attempt, **values: Any) -> bool:
        """Write the outcome only if no later attempt took the row over (its lease ran out)."""
        return await NotifyRepository(session).settle(claimed.row["delivery_id"], claimed.attempt, **values)

    # --- digests ---------------------------------------------------------------------------------

    async def send_digests(self, now: dt.datetime | None = None) -> int:
        """Fold each subscription's held alerts of every finished period into one digest delivery.

        Run by the scheduled job ``notify.digests``; ``now`` is the job's time.
        """
        now = now or self._clock()
        created = 0
        async with self._sessions.begin() as session:
            repo = NotifyRepository(session)
            held = await repo.held()

            def period_of(item: tuple[DeliveryRow, str]) -> tuple[str, dt.datetime, dt.datetime]:
                row, mode = item
                return (row.subscription_id, *digest_period(_digest_mode(mode), row.created_at))

            for (subscription_id, start, end), group in groupby(held, key=period_of):
                if end > now:
                    continue  # the period is still open
                items = [row for row, _ in group]
                digest = digest_delivery(subscription_id, start, end, items, now)
                folded = [i.delivery_id for i in items]
                await repo.add_digest(digest, folded)
                audit_digested(
                    session, self._prefix, digest["delivery_id"], folded=folded, period=(start, end), now=now
                )
                created += 1
        if created:
            self.wake()
        return created

    async def backlog(self) -> int:
        """Deliveries waiting to be sent (due or not), for metrics and tests."""
        async with self._sessions() as session:
            return await NotifyRepository(session).backlog()


def _digest_mode(mode: str) -> Digest:
    # Alerts held before their subscription switched digests off still go out, at the hour.
    return "daily" if mode == "daily" else "hourly"


def _as_dict(row: DeliveryRow) -> dict[str, Any]:
    columns = (*_COLUMNS, "subscription_id", "address", "payload", "match_id", "need_id", *_CAUSE)
    return {column: getattr(row, column) for column in columns}
