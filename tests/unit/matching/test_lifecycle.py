"""A match's lifecycle: where each move takes it, what a need or pledge releases, declined pairs."""

from decimal import Decimal
from typing import get_args

import pytest

from services.matching.domain import (
    DECLINED,
    LIVE,
    RELEASES,
    MatchStatus,
    Move,
    decision_refusal,
    declined,
    delivered,
    held_in,
    need_filled,
    released_by,
    settle,
    transition,
)
from shared.scope import Scope

STATUSES: tuple[MatchStatus, ...] = get_args(MatchStatus)
MOVES: tuple[Move, ...] = get_args(Move)

# Every move from every status: where it takes the match, or None (refused). The lifecycle of
# docs/matching.md, spelled out whole so that a change to any cell is a deliberate one.
EXPECTED: dict[Move, dict[MatchStatus, MatchStatus | None]] = {
    "confirm": {"proposed": "confirmed"},
    "reject": {"proposed": "rejected"},
    "fulfilled": {"confirmed": "fulfilled"},
    "cancel": {"proposed": "cancelled", "confirmed": "cancelled"},
    "lapse": {"proposed": "expired"},
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("move", MOVES)
def test_each_move_from_each_status_is_allowed_or_refused(move, status):
    assert transition(move, status) == EXPECTED[move].get(status)


def test_the_moves_are_the_coordinators_decisions_and_the_lapse():
    from shared.events.inbound import MatchDecided

    decisions = get_args(MatchDecided.model_fields["decision"].annotation)
    assert set(MOVES) == {*decisions, "lapse"}


@pytest.mark.parametrize("status", ["fulfilled", "rejected", "cancelled", "expired"])
def test_an_ended_match_never_moves_again(status):
    assert all(transition(move, status) is None for move in MOVES)


def test_only_live_matches_move():
    assert {s for m in MOVES for s in STATUSES if transition(m, s) is not None} == set(LIVE)


# --- what a need or pledge releases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "released"),
    [
        ("open", ()),
        ("active", ()),
        ("withdrawn", ("proposed", "confirmed")),  # everything live
        ("closed", ("proposed",)),  # with its crisis: confirmed help still comes
        ("expired", ("proposed",)),
    ],
)
def test_what_a_need_or_pledge_in_each_status_releases(status, released):
    assert released_by(status) == released


def test_every_need_and_pledge_status_has_a_release_policy():
    from shared.events.canonical import NeedRecorded, PledgeRecorded

    statuses = {
        *get_args(NeedRecorded.model_fields["status"].annotation),
        *get_args(PledgeRecorded.model_fields["status"].annotation),
    }
    assert statuses == set(RELEASES)


# --- declined pairs -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("trimmed", [False, True])
def test_a_pair_is_declined_by_a_rejected_expired_or_cancelled_match_not_trimmed(status, trimmed):
    expected = status in ("rejected", "expired", "cancelled") and not trimmed
    assert declined(status, trimmed=trimmed) is expected


def test_live_and_fulfilled_matches_decline_nothing():
    assert not set(DECLINED) & {*LIVE, "fulfilled"}


# --- ledgers ------------------------------------------------------------------------------------


def test_a_live_match_sits_in_the_proposed_or_confirmed_column():
    assert (held_in("proposed"), held_in("confirmed")) == ("proposed", "confirmed")


@pytest.mark.parametrize(
    ("reported", "counted"),
    [(None, 100), (Decimal(60), 60), (Decimal(100), 100), (Decimal(150), 100)],
)
def test_a_fulfilment_delivers_what_was_reported_at_most_the_match(reported, counted):
    assert delivered(Decimal(100), reported) == counted


@pytest.mark.parametrize(
    ("confirmed", "fulfilled", "filled"),
    [(0, 0, False), (300, 99, False), (300, 100, True), (0, 400, True), (400, 0, True)],
)
def test_a_need_is_filled_when_confirmed_and_fulfilled_reach_its_quantity(confirmed, fulfilled, filled):
    assert need_filled(Decimal(400), Decimal(confirmed), Decimal(fulfilled)) is filled


@pytest.mark.parametrize(
    ("reported", "delivered_", "shortfall"),
    [(None, 100, 0), (Decimal(80), 80, 20), (Decimal(100), 100, 0), (Decimal(150), 100, 0)],
)
def test_a_settlement_says_what_arrived_and_what_fell_short(reported, delivered_, shortfall):
    settlement = settle(Decimal(100), reported)
    assert (settlement.confirmed, settlement.delivered, settlement.shortfall) == (100, delivered_, shortfall)


def test_a_short_delivery_reopens_the_need_and_frees_the_pledge_by_the_shortfall():
    # Need 100, confirmed 100 from a pledge of 100 (allocated 100); 80 arrive.
    moves = settle(Decimal(100), Decimal(80)).ledger_moves()
    assert moves == {"confirmed": Decimal(-100), "fulfilled": Decimal(80), "allocated": Decimal(-20)}
    need = {"proposed": Decimal(0), "confirmed": Decimal(100), "fulfilled": Decimal(0)}
    need = {column: value + moves.get(column, Decimal(0)) for column, value in need.items()}
    assert Decimal(100) - sum(need.values()) == 20  # the need lacks the shortfall again
    assert Decimal(100) + moves["allocated"] == 80  # the pledge holds only what arrived
    assert not need_filled(Decimal(100), need["confirmed"], need["fulfilled"])


def test_a_full_delivery_moves_confirmed_to_fulfilled_and_keeps_the_pledge_allocated():
    moves = settle(Decimal(100), None).ledger_moves()
    assert moves == {"confirmed": Decimal(-100), "fulfilled": Decimal(100), "allocated": Decimal(0)}


# --- who may decide a match ----------------------------------------------------------------------


def _refusal(scope: Scope) -> str | None:
    return decision_refusal(
        "urn:drx:coord:x", scope, match_id="m-1", need_id="n-1", crisis_id="c-1", country="NPL"
    )


def test_a_decision_is_allowed_when_the_needs_crisis_or_country_is_in_scope():
    assert _refusal(Scope.of(crises=("c-1",))) is None
    assert _refusal(Scope.of(countries=("NPL",))) is None
    assert _refusal(Scope(everything=True)) is None


def test_a_decision_outside_the_scope_is_refused_naming_scope_and_match():
    assert _refusal(Scope.of(crises=("c-2",), countries=("TUR",))) == (
        "not authorised: urn:drx:coord:x may act only within crises [c-2] and countries [TUR]; "
        "match m-1 (need n-1, crisis c-1 in NPL) is outside it"
    )


def test_an_empty_scope_decides_nothing():
    refusal = _refusal(Scope())
    assert refusal is not None
    assert "has an empty scope" in refusal
