"""The "Delivered: …" notice says how much arrived, and after a short delivery where the rest went."""

from decimal import Decimal

import pytest

from services.notify.templates import render_match
from shared.events.examples import EXAMPLES
from shared.events.outbound import MatchUpdated

FULFILLED = MatchUpdated.model_validate(EXAMPLES["org.drx.match.fulfilled"]["data"]).model_copy(
    update={"quantity": Decimal(100), "reason": None}
)


def _delivered(quantity: str) -> MatchUpdated:
    return FULFILLED.model_copy(update={"delivered_quantity": Decimal(quantity)})


@pytest.mark.parametrize("audience", ["coordinator", "organisation", "donor"])
def test_a_short_delivery_says_how_much_of_the_confirmed_quantity_arrived(audience):
    subject, text = render_match(_delivered("80.0000"), audience)
    assert (
        subject
        == "Delivered: 80 of 100 piece for Blankets for the Gaziantep tent camp (Gaziantep, TR-27, TUR)"
    )
    assert ": 80 of 100 piece delivered, match fulfilled." in text
    assert "The other 20 piece" in text
    assert "fulfilled 100" not in text
    assert " 100 piece," not in text


def test_each_reader_learns_what_becomes_of_the_undelivered_part():
    _, donor = render_match(_delivered("80"), "donor")
    assert "The other 20 piece are offered again from your pledge" in donor
    assert "reduce or withdraw it" in donor
    _, org = render_match(_delivered("80"), "organisation")
    assert "The other 20 piece are open again for this need; matching continues." in org
    _, coordinator = render_match(_delivered("80"), "coordinator")
    assert "open again on the need and free again on the pledge" in coordinator


def test_a_full_delivery_reads_as_the_quantity_alone():
    subject, text = render_match(_delivered("100"), "donor")
    assert subject.startswith("Delivered: 100 piece for ")
    assert "The other" not in text
    assert "Thank you: your pledge reached Turkish Red Crescent, Gaziantep branch." in text


def test_other_statuses_are_unchanged_by_the_delivered_field():
    confirmed = FULFILLED.model_copy(update={"status": "confirmed", "delivered_quantity": None})
    subject, text = render_match(confirmed, "organisation")
    assert subject.startswith("Confirmed: 100 piece for ")
    assert "The other" not in text
