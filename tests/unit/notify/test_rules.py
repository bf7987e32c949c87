"""Notify's rules on plain values: who hears what, retry timing, digest periods, texts."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain import (
    REMINDER_AUDIENCE,
    SubscriptionView,
    delivery_id,
    digest_period,
    match_recipients,
    owner_recipients,
    retry_delay,
)
from services.notify.templates import (
    render_digest,
    render_expiring,
    render_filled,
    render_match,
    render_reminder,
)
from shared.events.examples import EXAMPLES
from shared.events.outbound import ExpiryReminder, MatchUpdated, NeedCoverage

PROPOSED = MatchUpdated.model_validate(EXAMPLES["org.drx.match.proposed"]["data"])
COVERAGE = NeedCoverage.model_validate(EXAMPLES["org.drx.need.coverage"]["data"])


def _match(status: str) -> MatchUpdated:
    return PROPOSED.model_copy(
        update={"status": status, "reason": "no trucks" if status != "proposed" else None}
    )


def _sub(sid: str, kind: str = "coordinator", recipient: str = "coord-1", **filters: str) -> SubscriptionView:
    return SubscriptionView(sid, recipient, kind, "email", address=f"{recipient}@example.org", **filters)  # type: ignore[arg-type]


def _ids(recipients) -> list[str]:
    return [r.subscription.subscription_id for r in recipients]


def test_a_proposal_reaches_matching_coordinators_the_organisation_and_the_donor():
    subs = [
        _sub("s-all"),
        _sub("s-tur", recipient="coord-2", country="TUR", sector="shelter", category="supplies"),
        _sub("s-syr", recipient="coord-3", country="SYR"),
        _sub("s-other-crisis", recipient="coord-4", crisis_id="fl-pak-2026"),
        _sub("s-org", "organisation", PROPOSED.organisation_id),
        _sub("s-other-org", "organisation", "someone-else"),
        _sub("s-donor", "donor", PROPOSED.donor_id),
    ]
    assert _ids(match_recipients(PROPOSED, subs)) == ["s-all", "s-donor", "s-org", "s-tur"]


@pytest.mark.parametrize("status", ["confirmed", "rejected", "fulfilled", "cancelled"])
def test_after_the_proposal_only_the_two_parties_hear(status):
    subs = [
        _sub("s-all"),
        _sub("s-org", "organisation", "trc-gaziantep"),
        _sub("s-donor", "donor", "hta-berlin"),
    ]
    assert _ids(match_recipients(_match(status), subs)) == ["s-donor", "s-org"]


def test_an_expired_proposal_goes_back_to_the_coordinators_too():
    assert _ids(match_recipients(_match("expired"), [_sub("s-all")])) == ["s-all"]


def test_overlapping_subscriptions_of_one_person_on_one_channel_alert_once():
    subs = [_sub("s-b", sector="shelter"), _sub("s-a", country="TUR")]
    assert _ids(match_recipients(PROPOSED, subs)) == ["s-a"]


def test_the_same_person_on_two_channels_hears_on_both():
    webhook = SubscriptionView("s-hook", "coord-1", "coordinator", "webhook", address="https://x")
    assert _ids(match_recipients(PROPOSED, [_sub("s-mail"), webhook])) == ["s-hook", "s-mail"]


def test_delivery_ids_are_stable_and_distinct_per_recipient_channel_kind_and_subject():
    base = delivery_id("coord-1", "email", "match.proposed", "m-1")
    assert base == delivery_id("coord-1", "email", "match.proposed", "m-1")
    others = {
        delivery_id("coord-2", "email", "match.proposed", "m-1"),
        delivery_id("coord-1", "webhook", "match.proposed", "m-1"),
        delivery_id("coord-1", "email", "match.confirmed", "m-1"),
        delivery_id("coord-1", "email", "match.proposed", "m-2"),
    }
    assert base not in others
    assert len(others) == 4


def test_retry_delay_doubles_up_to_the_cap_with_half_of_it_jittered():
    delays = [retry_delay(n, base_s=2, max_s=60, jitter=1).total_seconds() for n in range(1, 8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(3, base_s=2, max_s=60, jitter=0).total_seconds() == 4  # the fixed half
    with pytest.raises(ValueError, match="jitter"):
        retry_delay(1, base_s=2, max_s=60, jitter=1.5)


@given(st.integers(1, 50), st.floats(0, 1))
def test_retry_delay_stays_within_half_and_all_of_the_capped_exponential(attempt, jitter):
    full = min(600, 2 * 2 ** (attempt - 1))
    delay = retry_delay(attempt, base_s=2, max_s=600, jitter=jitter).total_seconds()
    assert full / 2 <= delay <= full


def test_digest_periods_are_utc_hours_and_days():
    at = dt.datetime(2026, 12, 1, 13, 45, 10, tzinfo=dt.timezone(dt.timedelta(hours=3)))  # 10:45 UTC
    assert digest_period("hourly", at) == (
        dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC),
    )
    assert digest_period("daily", at) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
    )
    with pytest.raises(ValueError, match="off"):
        digest_period("off", at)


def test_a_coordinator_reads_what_where_how_much_and_the_command_to_decide():
    subject, text = render_match(PROPOSED, "coordinator")
    assert subject == "Proposed: 250 piece for Blankets for the Gaziantep tent camp (Gaziantep, TR-27, TUR)"
    assert "Gaziantep HTA Berlin" in text
    assert "urgency critical, needed by 2026-12-20" in text
    assert f"Why: {PROPOSED.explanation}" in text
    assert (
        f"Next: confirm with `drx decide confirm {PROPOSED.match_id} --source <your source>` or reject "
        f"with `drx decide reject {PROPOSED.match_id} --source <your source> --reason ...`."
    ) in text
    assert text.endswith(
        "Match m-3f2a9c, need need-gzt-0042, pledge pledge-hta-berlin-7, crisis eq-tur-2026."
    )


def test_the_donor_and_the_organisation_get_their_own_next_step():
    _, donor = render_match(_match("confirmed"), "donor")
    assert donor.startswith("Your pledge “Winter blankets")
    assert "Next: arrange delivery with Turkish Red Crescent, Gaziantep branch." in donor
    assert "Reason: no trucks" in donor
    _, org = render_match(PROPOSED, "organisation", public_url="https://drx.example.org/")
    assert "a coordinator will confirm or reject it" in org
    assert org.endswith("\nhttps://drx.example.org/matches/m-3f2a9c")


def test_filled_and_digest_texts():
    subject, text = render_filled(COVERAGE)
    assert subject == "Filled: Blankets for the Gaziantep tent camp (Gaziantep, TR-27, TUR)"
    assert "is filled: 400 piece confirmed (0 delivered so far)" in text
    start = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    subject, text = render_digest([("A", "a text"), ("B", "b text")], start, start + dt.timedelta(hours=1))
    assert subject == "drx digest: 2 updates, 2026-12-01 10:00-11:00 UTC"
    assert text.splitlines()[2:] == ["1. A", "a text", "", "2. B", "b text"]
    daily_subject, _ = render_digest([("A", "a")], start, start + dt.timedelta(days=1))
    assert daily_subject == "drx digest: 1 update, 2026-12-01 UTC"


def test_quantities_print_without_trailing_zeros():
    _, text = render_match(PROPOSED.model_copy(update={"quantity": Decimal("12.5000")}), "coordinator")
    assert "12.5 piece" in text


def test_a_reminder_goes_to_coordinators_only():
    subs = [
        SubscriptionView("s1", "coord", "coordinator", "email"),
        SubscriptionView("s2", PROPOSED.organisation_id, "organisation", "email"),
        SubscriptionView("s3", PROPOSED.donor_id, "donor", "webhook"),
    ]
    chosen = match_recipients(PROPOSED, subs, REMINDER_AUDIENCE)
    assert [r.subscription.recipient_id for r in chosen] == ["coord"]


def test_an_owner_hears_once_per_channel_and_nobody_else_does():
    subs = [
        SubscriptionView("s1", "trc-gaziantep", "organisation", "email"),
        SubscriptionView("s2", "trc-gaziantep", "organisation", "email"),
        SubscriptionView("s3", "trc-gaziantep", "organisation", "webhook"),
        SubscriptionView("s4", "trc-gaziantep", "donor", "email"),  # same id, other kind of party
        SubscriptionView("s5", "ahbap", "organisation", "email"),
    ]
    chosen = owner_recipients("organisation", "trc-gaziantep", subs)
    assert [r.subscription.subscription_id for r in chosen] == ["s1", "s3"]


def test_a_reminder_text_asks_for_the_decision_and_says_what_happens_without_one():
    subject, text = render_reminder(PROPOSED)
    assert subject.startswith("Waiting for a decision: 250 piece for Blankets")
    assert f"`drx decide confirm {PROPOSED.match_id} --source <your source>`" in text
    assert f"`drx decide reject {PROPOSED.match_id} --source <your source> --reason ...`" in text
    assert "Without a decision it expires" in text


def test_an_expiry_notice_names_the_date_the_days_left_and_how_to_extend():
    need = ExpiryReminder.model_validate(EXAMPLES["org.drx.need.expiring"]["data"])
    subject, text = render_expiring(need)
    assert subject == "Needed by 2026-12-20 (in 3 days): Blankets for the Gaziantep tent camp"
    assert "drx post need FILE --action updated" in text
    pledge = ExpiryReminder.model_validate({**EXAMPLES["org.drx.pledge.expiring"]["data"], "days_left": 0})
    subject, text = render_expiring(pledge)
    assert subject.startswith("Available until 2027-01-15 (today)")
    assert "confirmed ones stand" in text
