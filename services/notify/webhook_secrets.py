"""Webhook signing secrets as operations: issue, reveal once, rotate with an overlap, rewrap.

drx generates every webhook subscription's secret (``services/notify/sealing.py``) when the
subscription is first stored, seals it into ``webhook_secrets`` and shows it once: to the operator
who ran ``drx subscribe add`` at once, or, for a subscription set over ``intake.subscriptions``, to
the operator who runs ``drx subscribe secret reveal`` (once; afterwards only a rotation makes a
secret that can be shown). Each step writes an audit record naming the secret by its fingerprint;
the plaintext leaves this module only as the return value the CLI prints, or as the signing
secrets the delivery loop uses for one request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.repository import NotifyRepository
from services.notify.sealing import Keyring, Sealed, SealingError, fingerprint, new_secret
from shared import audit
from shared.db.models import WebhookSecretRow

__all__ = [
    "NO_KEY",
    "Issued",
    "SecretRefused",
    "issue_secret",
    "keyring_of",
    "reveal_secret",
    "rewrap_secrets",
    "rotate_secret",
    "signing_secrets",
]

NO_KEY = (
    "webhook subscriptions need DRX_NOTIFY_SECRETS_KEY: drx generates each one's signing secret "
    "and stores it encrypted with that key, and none is set"
)


class SecretRefused(ValueError):  # noqa: N818 - a refusal, not an error of drx's
    """A secret operation that must not happen; the message says why, never quoting a secret."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A secret just made: the plaintext to show once, its version and fingerprint."""

    subscription_id: str
    version: int
    secret: str
    fingerprint: str
    retiring: str | None = None  # the fingerprint of the secret it replaces, which signs until…
    retires_at: dt.datetime | None = None  # …then

    def __repr__(self) -> str:  # never the secret
        return f"Issued({self.subscription_id!r}, version={self.version}, fingerprint={self.fingerprint})"


def _row(
    keyring: Keyring, subscription_id: str, version: int, secret: str, now: dt.datetime
) -> WebhookSecretRow:
    sealed = keyring.seal(secret, subscription_id=subscription_id, version=version)
    return WebhookSecretRow(
        subscription_id=subscription_id,
        version=version,
        key_id=sealed.key_id,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        fingerprint=fingerprint(secret),
        created_at=now,
    )


def _open(keyring: Keyring, row: WebhookSecretRow) -> str:
    sealed = Sealed(row.key_id, row.nonce, row.ciphertext)
    try:
        return keyring.open(sealed, subscription_id=row.subscription_id, version=row.version)
    except SealingError as error:
        msg = f"the signing secret of subscription {row.subscription_id!r} (version {row.version}) {error}"
        raise SealingError(msg) from None


def _audit(
    session: AsyncSession,
    prefix: str,
    action: str,
    subscription_id: str,
    *,
    actor: str,
    after: dict[str, object],
    before: dict[str, object] | None = None,
    causing_event_id: str | None = None,
) -> None:
    entry = audit.AuditEntry(
        actor=actor,
        action=action,
        entity_type="subscription",
        entity_id=subscription_id,
        before=before,
        after=after,
        causing_event_id=causing_event_id,
    )
    audit.record(session, prefix, entry)


async def issue_secret(
    session: AsyncSession,
    prefix: str,
    keyring: Keyring,
    subscription_id: str,
    *,
    actor: str,
    now: dt.datetime,
    reveal: bool,
    causing_event_id: str | None = None,
) -> Issued | None:
    """Give the subscription its first secret, unless it has one; None when it has.

    ``reveal`` marks it shown now: the caller prints :attr:`Issued.secret` after committing.
    """
    repo = NotifyRepository(session)
    if await repo.current_secret(subscription_id) is not None:
        return None
    version = await repo.latest_secret_version(subscription_id) + 1
    secret = new_secret()
    row = _row(keyring, subscription_id, version, secret, now)
    row.revealed_at = now if reveal else None
    repo.add_secret(row)
    after = {
        "version": version,
        "fingerprint": row.fingerprint,
        "revealed": reveal,
        "sealed_with": row.key_id,
    }
    _audit(
        session,
        prefix,
        "subscription.secret_issued",
        subscription_id,
        actor=actor,
        after=after,
        causing_event_id=causing_event_id,
    )
    return Issued(subscription_id, version, secret, row.fingerprint)


async def reveal_secret(
    session: AsyncSession,
    prefix: str,
    keyring: Keyring,
    subscription_id: str,
    *,
    actor: str,
    now: dt.datetime,
) -> Issued:
    """The current secret, shown this once; a subscription without one (made before drx kept
    secrets) gets one now. Refused once it has been shown: then only a rotation gives a new one."""
    repo = NotifyRepository(session)
    subscription = await repo.subscription(subscription_id)
    if subscription is None or subscription.channel != "webhook":
        msg = f"no webhook subscription {subscription_id!r}"
        raise SecretRefused(msg)
    row = await repo.current_secret(subscription_id)
    if row is None:
        issued = await issue_secret(
            session, prefix, keyring, subscription_id, actor=actor, now=now, reveal=True
        )
        assert issued is not None
        return issued
    if row.revealed_at is not None:
        shown = row.revealed_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        msg = (
            f"the secret of subscription {subscription_id!r} (fingerprint {row.fingerprint}) was shown on "
            f"{shown} and is not shown twice; rotate it to get a new one: "
            f"drx subscribe secret rotate {subscription_id} --overlap 24h"
        )
        raise SecretRefused(msg)
    secret = _open(keyring, row)
    row.revealed_at = now
    after = {"version": row.version, "fingerprint": row.fingerprint}
    _audit(session, prefix, "subscription.secret_revealed", subscription_id, actor=actor, after=after)
    return Issued(subscription_id, row.version, secret, row.fingerprint)


async def rotate_secret(
    session: AsyncSession,
    prefix: str,
    keyring: Keyring,
    subscription_id: str,
    *,
    overlap: dt.timedelta,
    actor: str,
    now: dt.datetime,
) -> Issued:
    """A new current secret, shown now; the old one keeps signing until ``now + overlap``.

    A secret still in an earlier rotation's overlap stops signing at once: never more than two.
    """
    if overlap < dt.timedelta():
        msg = "the overlap cannot be negative"
        raise SecretRefused(msg)
    repo = NotifyRepository(session)
    subscription = await repo.subscription(subscription_id, lock=True)
    if subscription is None or subscription.channel != "webhook":
        msg = f"no webhook subscription {subscription_id!r}"
        raise SecretRefused(msg)
    current = await repo.current_secret(subscription_id)
    version = await repo.latest_secret_version(subscription_id) + 1
    await repo.drop_retiring_secrets(subscription_id)
    retires_at = now + overlap
    if current is not None:
        current.retires_at = retires_at
        await session.flush()  # the unique "one current secret" index sees it retired first
    secret = new_secret()
    row = _row(keyring, subscription_id, version, secret, now)
    row.revealed_at = now
    repo.add_secret(row)
    before = None if current is None else {"version": current.version, "fingerprint": current.fingerprint}
    after = {
        "version": version,
        "fingerprint": row.fingerprint,
        "sealed_with": row.key_id,
        "previous_signs_until": retires_at if current is not None else None,
    }
    _audit(
        session,
        prefix,
        "subscription.secret_rotated",
        subscription_id,
        actor=actor,
        before=before,
        after=after,
    )
    return Issued(
        subscription_id,
        version,
        secret,
        row.fingerprint,
        retiring=None if current is None else current.fingerprint,
        retires_at=None if current is None else retires_at,
    )


async def signing_secrets(
    session: AsyncSession, keyring: Keyring, subscription_id: str, now: dt.datetime
) -> tuple[str, ...]:
    """The secrets a request for the subscription is signed with at ``now``, newest first.

    Raises :class:`SealingError` when one cannot be opened with the configured keys.
    """
    rows = await NotifyRepository(session).signing_secrets(subscription_id, now)
    return tuple(_open(keyring, row) for row in rows)


async def rewrap_secrets(session: AsyncSession, prefix: str, keyring: Keyring, *, actor: str) -> int:
    """Seal every secret sealed with an older key again with the current one; how many were.

    Run after ``DRX_NOTIFY_SECRETS_KEY`` changed (the old key in ``DRX_NOTIFY_SECRETS_OLD_KEYS``);
    afterwards the old key can be dropped.
    """
    moved = 0
    for row in await NotifyRepository(session).all_secrets():
        if row.key_id == keyring.key_id:
            continue
        secret = _open(keyring, row)
        sealed = keyring.seal(secret, subscription_id=row.subscription_id, version=row.version)
        before = {"version": row.version, "sealed_with": row.key_id}
        row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        after = {"version": row.version, "sealed_with": row.key_id, "fingerprint": row.fingerprint}
        _audit(
            session,
            prefix,
            "subscription.secret_rewrapped",
            row.subscription_id,
            actor=actor,
            before=before,
            after=after,
        )
        moved += 1
    return moved


def keyring_of(keys: tuple[bytes, ...]) -> Keyring | None:
    """The keyring of ``NotifySettings.sealing_keys()``, or None when no key is set."""
    return Keyring(keys) if keys else None
