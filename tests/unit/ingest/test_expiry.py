"""When needs and pledges lapse, and when their owners are reminded: pure rules, no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from services.ingest.domain import expire, expiry_reminder
from shared.events.canonical import NeedRecorded
from shared.events.examples import EXAMPLES

NEED = EXAMPLES["org.drx.need.recorded"]["data"]
PLEDGE = EXAMPLES["org.drx.pledge.recorded"]["data"]
NEEDED_BY = dt.date.fromisoformat(NEED["needed_by"])
EXPIRES_ON = dt.date.fromisoformat(PLEDGE["expires_on"])


def test_a_need_is_useful_through_its_needed_by_day_and_expires_the_day_after():
    assert expire(NEED, NEEDED_BY) is None
    expired = expire(NEED, NEEDED_BY + dt.timedelta(days=1))
    assert isinstance(expired, NeedRecorded)
    assert (expired.status, expired.revision) == ("expired", NEED["revision"] + 1)
    assert expired.need_id == NEED["need_id"]


def test_a_pledge_expires_the_day_after_its_expiry_date():
    assert expire(PLEDGE, EXPIRES_ON) is None
    expired = expire(PLEDGE, EXPIRES_ON + dt.timedelta(days=1))
    assert expired is not None
    assert (expired.status, expired.revision) == ("expired", PLEDGE["revision"] + 1)


@pytest.mark.parametrize("status", ["withdrawn", "closed", "expired"])
def test_only_live_needs_expire(status):
    assert expire({**NEED, "status": status}, NEEDED_BY + dt.timedelta(days=30)) is None


def test_the_owner_is_reminded_within_the_window_with_the_days_left():
    assert expiry_reminder(NEED, NEEDED_BY - dt.timedelta(days=4), days_before=3) is None
    reminder = expiry_reminder(NEED, NEEDED_BY - dt.timedelta(days=3), days_before=3)
    assert reminder is not None
    assert (reminder.owner_kind, reminder.owner_id) == ("organisation", NEED["organisation"]["id"])
    assert (reminder.days_left, reminder.expires_on) == (3, NEEDED_BY)
    assert (on_the_day := expiry_reminder(NEED, NEEDED_BY, days_before=3)) is not None
    assert on_the_day.days_left == 0
    assert expiry_reminder(NEED, NEEDED_BY + dt.timedelta(days=1), days_before=3) is None


def test_a_donor_is_reminded_of_a_pledge_and_a_withdrawn_one_is_left_alone():
    reminder = expiry_reminder(PLEDGE, EXPIRES_ON - dt.timedelta(days=1), days_before=3)
    assert reminder is not None
    assert (reminder.entity_type, reminder.owner_kind, reminder.owner_id) == (
        "pledge",
        "donor",
        PLEDGE["donor"]["id"],
    )
    withdrawn = {**PLEDGE, "status": "withdrawn"}
    assert expiry_reminder(withdrawn, EXPIRES_ON - dt.timedelta(days=1), days_before=3) is None
