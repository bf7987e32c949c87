"""Notify's rules, without I/O: who hears about what, who may manage a subscription, which
addresses a webhook may reach, when to retry, when a digest is due.

Everything here is a plain function of its arguments (the clock and the random source are
parameters), so the rules are unit-tested on their own; ``service.py`` and ``delivery.py`` apply
them to the database and the network.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from shared.events.outbound import MatchUpdated
from shared.scope import Scope, outside

__all__ = [
    "MATCH_AUDIENCE",
    "REMINDER_AUDIENCE",
    "Audience",
    "Bounds",
    "HeldSubscription",
    "Network",
    "Party",
    "Recipient",
    "RegisteredSource",
    "SubscriptionView",
    "authorise",
    "delivery_id",
    "digest_period",
    "internal_address",
    "ip_literal",
    "match_recipients",
    "owner_recipients",
    "retry_delay",
    "webhook_target_refusal",
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
    """A row of the source registry (``sources``), as the rules see it (revoked: may manage nothing).

    ``scope`` is a coordinator's: the crises and countries it may act in (``shared/scope.py``).
    """

    source: str
    role: str
    party_id: str
    revoked_on: dt.datetime | None = None
    revoked_reason: str | None = None
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True, slots=True)
class Bounds:
    """A coordinator subscription's crisis and country filters: what a scope is checked against."""

    crisis_id: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """Who a subscription is for: ``(recipient_kind, recipient_id)``."""

    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class HeldSubscription:
    """A stored subscription as the ownership rule sees it.

    ``owner_source`` is the source that created it (for ``drx subscribe add``, the operator's
    actor name); None for subscriptions made before drx remembered it (migration 0011).
    ``bounds`` are its crisis and country filters.
    """

    subscription_id: str
    owner_source: str | None
    recipient: Party
    bounds: Bounds = field(default_factory=Bounds)


def authorise(
    source: str,
    registered: RegisteredSource | None,
    *,
    wanted: Party | None,
    held: HeldSubscription | None,
    wanted_bounds: Bounds | None = None,
) -> str | None:
    """Why ``source`` may not set or remove this subscription, or None if it may.

    ``wanted`` is the recipient a ``subscription.set`` names (None for a ``.removed``); ``held``
    is the stored subscription with that id (None when there is none). An organisation or donor
    subscribes only itself, and replaces or removes only a subscription it created: reusing
    another party's subscription id, even with itself as the recipient, would take that party's
    alerts away. A subscription made before owners were kept is its recipient's. A revoked source
    manages none.

    A coordinator replaces or removes a subscription it created, or one its scope covers; what it
    sets must lie in its scope too (``wanted_bounds``: the new subscription's filters), see
    :func:`_coordinator_refusal`.
    """
    if registered is None:
        return f"source {source!r} is not registered (drx sources add)"
    if registered.revoked_on is not None:
        on = f"{registered.revoked_on.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        why = f": {registered.revoked_reason}" if registered.revoked_reason else ""
        return f"source {source!r} was revoked on {on}{why}"
    if registered.role == "coordinator":
        return _coordinator_refusal(source, registered.scope, wanted, wanted_bounds or Bounds(), held)
    own = Party(registered.role, registered.party_id)
    only_its_own = (
        f"source {source!r} is a {registered.role} for {registered.party_id!r}; it may manage only "
        f"its own {registered.role} subscriptions"
    )
    if wanted is not None and wanted != own:
        return only_its_own
    if held is None:
        return None if wanted is not None else only_its_own  # nothing to remove is nobody's own
    if held.owner_source is None:
        return None if held.recipient == own else only_its_own
    if held.owner_source != source:
        return (
            f"subscription {held.subscription_id!r} was created by another source; only that source "
            "or a coordinator whose scope covers it may replace or remove it (choose another subscription id)"
        )
    return None


def _coordinator_refusal(
    source: str, scope: Scope, wanted: Party | None, bounds: Bounds, held: HeldSubscription | None
) -> str | None:
    """A coordinator manages the subscriptions its scope covers, and those it created.

    A scope covers a coordinator subscription whose crisis or country filter lies in it (filters
    are conjunctive: one bound in scope keeps every alert it selects in scope). An unfiltered one,
    or an organisation's or donor's (a party is bound to no crisis or country), is covered only by
    a global scope (``drx sources scope --all``).
    """
    if held is not None and held.owner_source != source and not _covers(scope, held.recipient, held.bounds):
        what = f"subscription {held.subscription_id!r} ({_described(held.recipient, held.bounds)})"
        return (
            f"{outside(source, scope, what)}; only the source that created it or a coordinator "
            "whose scope covers it may replace or remove it"
        )
    if wanted is not None and not _covers(scope, wanted, bounds):
        return outside(source, scope, f"a subscription {_described(wanted, bounds)}")
    return None


def _covers(scope: Scope, recipient: Party, bounds: Bounds) -> bool:
    if scope.everything:
        return True
    return recipient.kind == "coordinator" and scope.covers_place(bounds.crisis_id, bounds.country)


def _described(recipient: Party, bounds: Bounds) -> str:
    """``for coordinator iom-desk, crisis c-1, any country``: whose, and which alerts."""
    whose = f"for {recipient.kind} {recipient.id}"
    if recipient.kind != "coordinator":
        return whose
    return f"{whose}, crisis {bounds.crisis_id or 'any'}, country {bounds.country or 'any'}"


# --- where a webhook may be sent -------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _embedded_ipv4(address: _Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped ``::ffff:a.b.c.d``, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def internal_address(address: _Address) -> str | None:
    """What makes ``address`` internal (loopback, private, ...), or None for a public address.

    An IPv6 form of an IPv4 address (``::ffff:127.0.0.1``) is judged as that IPv4 address.
    Anything not globally routable is internal, so shared (100.64/10), documentation and
    benchmarking ranges are refused too.
    """
    checked = _embedded_ipv4(address) or address
    if checked in _METADATA or address in _METADATA:
        return "a cloud metadata address"
    if checked == _BROADCAST:
        return "the broadcast address"
    for kind, test in (
        ("an unspecified address", checked.is_unspecified),
        ("a loopback address", checked.is_loopback),
        ("a link-local address", checked.is_link_local),
        ("a multicast address", checked.is_multicast),
        ("a reserved or broadcast address", checked.is_reserved),
        ("a private address", checked.is_private),
        ("not a globally routable address", not checked.is_global),
    ):
        if test:
            return kind
    return None


_INET_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def ip_literal(host: str) -> _Address | None:
    """The address a URL's host names by itself, in any form a resolver accepts, or None.

    Besides ``127.0.0.1`` and ``[::1]`` that includes the forms of C's ``inet_aton``:
    ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` are all 127.0.0.1.
    """
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_INET_ATON_PART.fullmatch(p) for p in parts):  # noqa: PLR2004
        return None
    numbers = [
        int(p[2:] or "0", 16)
        if p[:2].lower() == "0x"
        else int(p, 8)
        if p != "0" and p[0] == "0"
        else int(p or "0")
        for p in parts
    ]
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):  # noqa: PLR2004
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def webhook_target_refusal(url: str, addresses: Iterable[str], allow: Iterable[Network] = ()) -> str | None:
    """Why a webhook may not be posted to ``url``, whose host resolved to ``addresses``, or None.

    Every address must be public or inside one of the operator's ``allow`` networks
    (``DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS``): a name that resolves to a public and an internal
    address is refused, as is one that resolves to nothing. A host that is an address itself
    (``http://[::ffff:127.0.0.1]/``, ``http://2130706433/``) is judged as that address too. The
    reason names the address, not the URL (which may hold a token), so it can go in the rejected
    event.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return "the webhook address is not a URL"
    if parts.scheme not in {"http", "https"} or not host:
        return "the webhook address needs http:// or https:// and a host"
    candidates = [str(literal)] if (literal := ip_literal(host)) is not None else []
    candidates += addresses
    if not candidates:
        return "the webhook host does not resolve to any address"
    allowed = tuple(allow)
    for text in candidates:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone is not the address
        except ValueError:
            return f"the webhook host resolved to {text[:64]!r}, which is not an IP address"
        forms = {address, _embedded_ipv4(address) or address}
        if any(form in net for form in forms for net in allowed if form.version == net.version):
            continue
        if (kind := internal_address(address)) is not None:
            return (
                f"the webhook host resolves to {address}, {kind}; drx sends webhooks to public addresses "
                "only (an operator may allow a network with DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS)"
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
