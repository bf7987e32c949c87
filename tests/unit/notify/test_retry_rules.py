"""Which deliveries ``drx deliveries retry`` resends, and what it answers for the others."""

from __future__ import annotations

import pytest

from services.notify.retry import RetryResult, outcome_for


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("dead", "retried"),
        ("pending", "already pending"),
        ("sent", "already sent"),
        ("held", "not dead"),
        ("digested", "not dead"),
        (None, "unknown"),
    ],
)
def test_only_a_dead_letter_is_retried(status, outcome):
    assert outcome_for(status) == outcome


def test_each_answer_is_one_readable_line():
    assert str(RetryResult("d1", "retried")) == "d1: retried, it will be sent again shortly"
    assert str(RetryResult("d1", "already sent", "sent")) == "d1: not retried, it is sent already"
    assert str(RetryResult("d1", "already pending", "pending")) == "d1: not retried, it is pending already"
    assert str(RetryResult("d1", "unknown")) == "d1: no such delivery"
    assert "only dead letters" in str(RetryResult("d1", "not dead", "held"))
