"""A need's coverage and a match's lifecycle.

- :func:`need_status` and :func:`need_filled` are a need's coverage, as coordinators see it;
- :func:`transition` says which decision (or a lapse) moves a match from which status to which;
- :func:`decision_refusal` says whether the deciding coordinator's scope covers the match;
- :func:`released_by` says which live matches a withdrawn, closed or expired need or pledge releases;
- :func:`declined` says which ended matches keep their pair from being proposed again;
- :func:`settle` says what a fulfilment report does to the ledgers, a short delivery included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from shared.scope import Scope, outside

__all__ = [
    "DECLINED",
    "LIVE",
    "RELEASES",
    "TRANSITIONS",
    "MatchStatus",
    "Move",
    "NeedStatus",
    "Settlement",
    "decision_refusal",
    "declined",
    "delivered",
    "held_in",
    "need_filled",
    "need_status",
    "released_by",
    "settle",
    "transition",
]


NeedStatus = Literal["open", "partially covered", "covered", "closed", "closed with shortfall", "withdrawn"]


def need_status(
    status: str, quantity: Decimal, proposed: Decimal, confirmed: Decimal, fulfilled: Decimal
) -> NeedStatus:
    """A need's coverage status from its ledger, as coordinators see it.

    Covered counts proposals too: a proposed pledge is on its way to a decision.
    """
    if status == "withdrawn":
        return "withdrawn"
    if status in ("closed", "expired"):
        return "closed" if need_filled(quantity, confirmed, fulfilled) else "closed with shortfall"
    allocated = proposed + confirmed + fulfilled
    if allocated >= quantity:
        return "covered"
    return "partially covered" if allocated > 0 else "open"


def need_filled(quantity: Decimal, confirmed: Decimal, fulfilled: Decimal) -> bool:
    """Filled: confirmed and fulfilled reach the quantity (proposals do not: they may be refused)."""
    return confirmed + fulfilled >= quantity


# --- a match's lifecycle ---------------------------------------------------------------------------

MatchStatus = Literal["proposed", "confirmed", "fulfilled", "rejected", "cancelled", "expired"]
Move = Literal["confirm", "reject", "fulfilled", "cancel", "lapse"]
LIVE: tuple[MatchStatus, ...] = ("proposed", "confirmed")  # what the ledgers hold

# What moves a match, from which statuses, to which: a coordinator's decision, or "lapse" (no
# decision before the proposal's time ran out). Anything else from any other status is refused.
TRANSITIONS: dict[Move, tuple[tuple[MatchStatus, ...], MatchStatus]] = {
    "confirm": (("proposed",), "confirmed"),
    "reject": (("proposed",), "rejected"),
    "fulfilled": (("confirmed",), "fulfilled"),
    "cancel": (("proposed", "confirmed"), "cancelled"),
    "lapse": (("proposed",), "expired"),
}


def transition(move: Move, status: str) -> MatchStatus | None:
    """The status ``move`` takes a match in ``status`` to, or None when it may not move it."""
    allowed, target = TRANSITIONS[move]
    return target if status in allowed else None


def decision_refusal(
    decider: str, scope: Scope, *, match_id: str, need_id: str, crisis_id: str, country: str
) -> str | None:
    """Why ``decider`` may not decide this match, or None: its need's crisis or country is in scope.

    Checked here, not in ingest, because only matching holds the match and its need; ingest puts
    the coordinator's scope from the registry on the ``decision.recorded`` it publishes.
    """
    if scope.covers_place(crisis_id, country):
        return None
    what = f"match {match_id} (need {need_id}, crisis {crisis_id} in {country})"
    return f"not authorised: {outside(decider, scope, what)}"


def delivered(quantity: Decimal, reported: Decimal | None) -> Decimal:
    """How much of a fulfilled match counts as delivered: the report, at most the match (none: all)."""
    return min(reported or quantity, quantity)


@dataclass(frozen=True)
class Settlement:
    """A fulfilled match's numbers: what arrived of what was confirmed, and the shortfall."""

    confirmed: Decimal
    delivered: Decimal

    @property
    def shortfall(self) -> Decimal:
        """What was confirmed but did not arrive (0 for a full delivery)."""
        return self.confirmed - self.delivered

    def ledger_moves(self) -> dict[str, Decimal]:
        """The relative changes to the need's and the pledge's ledgers (``repository.shift``).

        The confirmed quantity leaves the need's *confirmed* column; what arrived enters
        *fulfilled*, so the shortfall is the need's demand again. The pledge keeps allocated only
        what arrived: the shortfall is its capacity again. The organisation that reports knows
        what arrived, not why the rest did not; the donor does, and is told (docs/matching.md).
        """
        return {"confirmed": -self.confirmed, "fulfilled": self.delivered, "allocated": -self.shortfall}


def settle(confirmed: Decimal, reported: Decimal | None) -> Settlement:
    """The settlement of a fulfilment report of ``reported`` against a match of ``confirmed``."""
    return Settlement(confirmed=confirmed, delivered=delivered(confirmed, reported))


def held_in(status: str) -> Literal["proposed", "confirmed"]:
    """The need's ledger column a live match's quantity sits in."""
    return "proposed" if status == "proposed" else "confirmed"


# Which live matches a need or pledge in each status releases (they become cancelled). Withdrawn:
# everything live. Closed with its crisis, or expired: only proposals; confirmed help still comes.
RELEASES: dict[str, tuple[MatchStatus, ...]] = {
    "open": (),
    "active": (),
    "withdrawn": LIVE,
    "closed": ("proposed",),
    "expired": ("proposed",),
}


def released_by(status: str) -> tuple[MatchStatus, ...]:
    """The statuses of the live matches a need or pledge now in ``status`` releases."""
    return RELEASES[status]


# A pair whose match ended in one of these is not proposed again: a coordinator said no (or let
# the proposal lapse, or cancelled it), and the same offer for the same need would be noise.
DECLINED: tuple[MatchStatus, ...] = ("rejected", "expired", "cancelled")


def declined(status: str, *, trimmed: bool) -> bool:
    """A match that ended declined: rejected, expired or cancelled, but not trimmed away.

    A match cancelled by a trim (its need or pledge shrank) is no decline: the pair may meet
    again. ``candidates.declined`` says the same in SQL, for the candidate queries.
    """
    return status in DECLINED and not trimmed
