"""Notify's rules, without I/O: who hears about what, who may manage a subscription, when to
retry, when a digest is due.

Everything here is a plain function of its arguments (the clock and the random source are
parameters), so the rules are unit-tested on their own; ``service.py`` and ``delivery.py`` apply
them to the database and the network.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from shared.events.outbound import MatchUpdated

__all__ = [
    "MATCH_AUDIENCE",
    "REMINDER_AUDIENCE",
    "Audience",
    "Recipient",
    "RegisteredSource",
    "SubscriptionView",
    "authorise",
    "delivery_id",
    "digest_period",
    "match_recipients",
    "owner_recipients",
    "retry_delay",
]

Audience = Literal["coordinator", "organisation", "donor"]
Channel = Literal["webhook", "email", "kafka"]
Digest = Literal["off", "hourly", "daily"]

# Who hears about each match status. Coordinators decide proposals, so they hear of new ones and
# of those that lapsed undecided; the two parties hear of everything that concerns them.
MATCH_AUDIENCE: dict[str, frozenset[Audience]] = {
    "proposed": frozenset({"coordinator", "organisation", "donor"}),
    "expired": frozenset({"coordinator", "organisation", "donor"}),
    "confirmed": frozenset({"organisation", "donor"}),
    "rejected": frozenset({"organisation", "donor"}),
    "fulfilled": frozenset({"organisation", "donor"}),
    "cancelled": frozenset({"organisation", "donor"}),
}


# A proposal awaiting a decision: only those who decide are reminded.
REMINDER_AUDIENCE: frozenset[Audience] = frozenset({"coordinator"})


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A subscription as the rules see it. ``None`` filters match anything."""

    subscription_id: str
    recipient_id: str
    recipient_kind: Audience
    channel: Channel
    digest: Digest = "off"
    crisis_id: str | None = None
    country: str | None = None
    sector: str | None = None
    category: str | None = None
    address: str | None = None
    key_id: str | None = None

    def covers(self, crisis_id: str, country: str, sector: str, category: str) -> bool:
        """Whether a coordinator subscription's filters all accept this need."""
        wanted = ((self.crisis_id, crisis_id), (self.country, country), (self.sector, sector))
        return all(f is None or f == v for f, v in (*wanted, (self.category, category)))


@dataclass(frozen=True, slots=True)
class Recipient:
    subscription: SubscriptionView

    @property
    def held_for_digest(self) -> bool:
        return self.subscription.digest != "off" and self.subscription.channel != "kafka"


def match_recipients(
    match: MatchUpdated,
    subscriptions: Iterable[SubscriptionView],
    audience: frozenset[Audience] | None = None,
) -> list[Recipient]:
    """Everyone who hears about ``match`` in its current status, one per (recipient, channel).

    Coordinators by their filters (crisis, country, sector, category); the need's organisation
    and the pledge's donor by their subscriptions as parties. When one person has several
    subscriptions on a channel that all match, the first (by id) wins: they hear once.
    ``audience`` overrides who hears (a reminder goes to coordinators only).
    """
    if audience is None:
        audience = MATCH_AUDIENCE.get(match.status, frozenset())
    party = {"organisation": match.organisation_id, "donor": match.donor_id}
    chosen: dict[tuple[str, str], Recipient] = {}
    for sub in sorted(subscriptions, key=lambda s: s.subscription_id):
        if sub.recipient_kind not in audience:
            continue
        if sub.recipient_kind == "coordinator":
            context = match.context
            if not sub.covers(match.crisis_id, context.country, context.sector, match.category):
                continue
        elif party[sub.recipient_kind] != sub.recipient_id:
            continue
        chosen.setdefault((sub.recipient_id, sub.channel), Recipient(sub))
    return list(chosen.values())


def owner_recipients(
    owner_kind: Audience, owner_id: str, subscriptions: Iterable[SubscriptionView]
) -> list[Recipient]:
    """The subscriptions of one party (an organisation or a donor), one per channel."""
    chosen: dict[str, Recipient] = {}
    for sub in sorted(subscriptions, key=lambda s: s.subscription_id):
        if sub.recipient_kind == owner_kind and sub.recipient_id == owner_id:
            chosen.setdefault(sub.channel, Recipient(sub))
    return list(chosen.values())


@dataclass(frozen=True, slots=True)
class RegisteredSource:
    """A row of the source registry (``sources``), as the rules see it (revoked: may manage nothing)."""

    source: str
    role: str
    party_id: str
    revoked_on: dt.datetime | None = None
    revoked_reason: str | None = None


def authorise(
    source: str, registered: RegisteredSource | None, recipient_kind: str | None, recipient_id: str | None
) -> str | None:
    """Why ``source`` may not manage the subscription of this recipient, or None if it may.

    ``registered`` is the source's registry row (None: not registered); the recipient is the one
    a ``subscription.set`` names, or the stored subscription a ``.removed`` names (both None when
    there is none). Coordinators manage any subscription; an organisation or donor only its own
    party's. A revoked source manages none.
    """
    if registered is None:
        return f"source {source!r} is not registered (drx sources add)"
    if registered.revoked_on is not None:
        on = f"{registered.revoked_on.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        why = f": {registered.revoked_reason}" if registered.revoked_reason else ""
        return f"source {source!r} was revoked on {on}{why}"
    if registered.role == "coordinator":
        return None
    if recipient_kind != registered.role or recipient_id != registered.party_id:
        return (
            f"source {source!r} is a {registered.role} for {registered.party_id!r}; it may manage only "
            f"its own {registered.role} subscriptions"
        )
    return None


def delivery_id(recipient_id: str, channel: str, kind: str, subject_id: str) -> str:
    """The one id of a (recipient, channel, kind, subject) delivery: redelivery cannot make two."""
    digest = hashlib.sha256(f"{recipient_id}\x1f{channel}\x1f{kind}\x1f{subject_id}".encode()).hexdigest()
    return f"dlv-{digest[:24]}"


def retry_delay(attempt: int, *, base_s: float, max_s: float, jitter: float) -> dt.timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based).

    Exponential (``base * 2**(attempt-1)``, capped at ``max_s``) with "equal jitter": half the
    delay is fixed, half is scaled by ``jitter`` in [0, 1], so many failing deliveries do not
    retry in lockstep against an endpoint that is coming back.
    """
    if not 0 <= jitter <= 1:
        msg = f"jitter must be in [0, 1], got {jitter}"
        raise ValueError(msg)
    capped = min(max_s, base_s * 2 ** max(attempt - 1, 0))
    return dt.timedelta(seconds=capped / 2 + capped / 2 * jitter)


def digest_period(mode: Digest, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) digest period (UTC hours or days) that ``at`` falls in."""
    at = at.astimezone(dt.UTC)
    if mode == "hourly":
        start = at.replace(minute=0, second=0, microsecond=0)
        return start, start + dt.timedelta(hours=1)
    if mode == "daily":
        start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + dt.timedelta(days=1)
    msg = f"no digest period for mode {mode!r}"
    raise ValueError(msg)
