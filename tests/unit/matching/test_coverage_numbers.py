"""Coverage's covered and shortfall (issue 16, item 1): an undecided proposal covers nothing."""

from decimal import Decimal

from services.matching.domain.coverage import CoverageLine


def row(*, needed: int, proposed: int = 0, confirmed: int = 0, fulfilled: int = 0) -> CoverageLine:
    numbers = (Decimal(needed), Decimal(proposed), Decimal(confirmed), Decimal(fulfilled))
    return CoverageLine("c-1", "shelter", "Housing / Shelter", "piece", *numbers)


def test_covered_is_confirmed_plus_fulfilled_and_ignores_proposals():
    counted = row(needed=400, proposed=100, confirmed=150, fulfilled=50)
    assert counted.covered == 200
    assert counted.shortfall == 200


def test_a_need_with_only_proposals_is_short_of_all_of_it():
    assert row(needed=400, proposed=400).shortfall == 400


def test_the_shortfall_is_never_negative():
    assert row(needed=100, confirmed=80, fulfilled=40).shortfall == 0
