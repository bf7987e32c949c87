"""The short texts people receive: what, where, how much, what to do next, and the ids.

Plain text that reads the same in an email, a chat message forwarded from a webhook, or a log.
Pure functions; ``tests/unit/notify/test_templates.py`` pins each one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from services.notify.domain import Audience
from shared.events.outbound import ExpiryReminder, MatchUpdated, NeedContext, NeedCoverage

__all__ = ["Message", "render_digest", "render_expiring", "render_filled", "render_match", "render_reminder"]

Message = tuple[str, str]  # (subject, text)

_VERB = {
    "proposed": "Proposed",
    "confirmed": "Confirmed",
    "rejected": "Rejected",
    "expired": "Expired",
    "fulfilled": "Delivered",
    "cancelled": "Cancelled",
}

# What the reader should do next, by match status and by who reads it.
_NEXT: dict[tuple[str, Audience], str] = {
    ("proposed", "coordinator"): "Next: confirm with `drx decide confirm {match_id} --source <your source>` "
    "or reject with `drx decide reject {match_id} --source <your source> --reason ...`.",
    ("proposed", "organisation"): "Next: nothing yet; a coordinator will confirm or reject it.",
    ("proposed", "donor"): "Next: nothing yet; a coordinator will confirm or reject it. Keep it available.",
    ("expired", "coordinator"): "No decision came in time; the pledge is free again and will be re-matched.",
    ("expired", "organisation"): "No decision came in time; matching continues for this need.",
    ("expired", "donor"): "No decision came in time; your pledge is free again.",
    ("confirmed", "organisation"): "Next: agree delivery with the donor; report arrival as fulfilled.",
    ("confirmed", "donor"): "Next: arrange delivery with {organisation}.",
    ("rejected", "organisation"): "Matching continues for this need.",
    ("rejected", "donor"): "Your pledge is free again and will be offered elsewhere.",
    ("fulfilled", "organisation"): "Thank you; the need's ledger is updated.",
    ("fulfilled", "donor"): "Thank you: your pledge reached {organisation}.",
    ("cancelled", "organisation"): "Matching continues for this need.",
    ("cancelled", "donor"): "Your pledge is free again (or withdrawn) and will be offered elsewhere.",
}


def _qty(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _where(context: NeedContext) -> str:
    parts = [p for p in (context.place_name, context.admin_area, context.country) if p]
    return ", ".join(dict.fromkeys(parts))


def _link(public_url: str | None, path: str) -> str:
    return f"\n{public_url.rstrip('/')}/{path}" if public_url else ""


# After a short delivery: where the part that did not arrive went (docs/matching.md).
_SHORTFALL: dict[Audience, str] = {
    "coordinator": "The other {missing} are open again on the need and free again on the pledge; "
    "both are matched again.",
    "organisation": "The other {missing} are open again for this need; matching continues.",
    "donor": "The other {missing} are offered again from your pledge; if you no longer have them, "
    "reduce or withdraw it (`drx post pledge FILE --action updated`).",
}


def _amount(match: MatchUpdated) -> str:
    """How much, as the reader should see it: "80 of 100 piece delivered" after a short delivery."""
    delivered = match.delivered_quantity
    if delivered is None or delivered >= match.quantity:
        return f"{_qty(match.quantity)} {match.unit}"
    return f"{_qty(delivered)} of {_qty(match.quantity)} {match.unit} delivered"


def _shortfall(match: MatchUpdated, audience: Audience) -> str | None:
    delivered = match.delivered_quantity
    if delivered is None or delivered >= match.quantity:
        return None
    return _SHORTFALL[audience].format(missing=f"{_qty(match.quantity - delivered)} {match.unit}")


def render_match(match: MatchUpdated, audience: Audience, public_url: str | None = None) -> Message:
    """One match status change, worded for a coordinator, the organisation or the donor."""
    c = match.context
    amount = _amount(match)
    headline = amount.removesuffix(" delivered")  # "Delivered: 80 of 100 piece for …"
    subject = f"{_VERB[match.status]}: {headline} for {c.need_title} ({_where(c)})"
    if audience == "donor":
        lead = f"Your pledge “{c.pledge_title}” and the need “{c.need_title}” of {c.organisation_name}"
    else:
        lead = f"{c.donor_name} (“{c.pledge_title}”) and the need “{c.need_title}” of {c.organisation_name}"
    lines = [
        f"{lead}: {amount}, match {match.status}.",
        f"Where: {_where(c)}. Sector {c.sector}, urgency {c.urgency}, needed by {c.needed_by.isoformat()}.",
    ]
    if match.status == "proposed":
        lines.append(f"Why: {match.explanation}")
    elif match.reason:
        lines.append(f"Reason: {match.reason}")
    if shortfall := _shortfall(match, audience):
        lines.append(shortfall)
    next_step = _NEXT.get((match.status, audience))
    if next_step:
        lines.append(next_step.format(match_id=match.match_id, organisation=c.organisation_name))
    lines.append(
        f"Match {match.match_id}, need {match.need_id}, pledge {match.pledge_id}, crisis {match.crisis_id}."
        + _link(public_url, f"matches/{match.match_id}")
    )
    return subject, "\n".join(lines)


def render_reminder(match: MatchUpdated, public_url: str | None = None) -> Message:
    """To coordinators: a proposal still waits for a decision, and will expire without one."""
    c = match.context
    amount = f"{_qty(match.quantity)} {match.unit}"
    subject = f"Waiting for a decision: {amount} for {c.need_title} ({_where(c)})"
    lines = [
        (
            f"{c.donor_name} (“{c.pledge_title}”) and the need “{c.need_title}” of {c.organisation_name}: "
            f"{amount}, proposed and still undecided."
        ),
        f"Where: {_where(c)}. Sector {c.sector}, urgency {c.urgency}, needed by {c.needed_by.isoformat()}.",
        f"Why: {match.explanation}",
        (
            f"Next: confirm with `drx decide confirm {match.match_id} --source <your source>` or reject "
            f"with `drx decide reject {match.match_id} --source <your source> --reason ...`. Without a "
            "decision it expires and the pledge is offered elsewhere."
        ),
        f"Match {match.match_id}, need {match.need_id}, pledge {match.pledge_id}, crisis {match.crisis_id}."
        + _link(public_url, f"matches/{match.match_id}"),
    ]
    return subject, "\n".join(lines)


def render_expiring(reminder: ExpiryReminder, public_url: str | None = None) -> Message:
    """To an organisation or donor: their need or pledge reaches its date soon."""
    when = (
        "today"
        if reminder.days_left == 0
        else f"in {reminder.days_left} day" + "s" * (reminder.days_left != 1)
    )
    date = reminder.expires_on.isoformat()
    if reminder.entity_type == "need":
        subject = f"Needed by {date} ({when}): {reminder.title}"
        lead = f"Your need “{reminder.title}” is needed by {date}, {when}. After that day it expires"
        lead += " and proposals still undecided for it are released."
        extend = "a new needed-by date"
    else:
        subject = f"Available until {date} ({when}): {reminder.title}"
        lead = f"Your pledge “{reminder.title}” is available until {date}, {when}. After that day it"
        lead += " expires and proposals still undecided for it are released; confirmed ones stand."
        extend = "a later expiry date"
    lines = [
        lead,
        (
            f"Next: to keep it open, post an update with {extend} "
            f"(`drx post {reminder.entity_type} FILE --action updated`); otherwise nothing to do."
        ),
        f"{reminder.entity_type.capitalize()} {reminder.entity_id}"
        + (f", crisis {reminder.crisis_id}." if reminder.crisis_id else ".")
        + _link(public_url, f"{reminder.entity_type}s/{reminder.entity_id}"),
    ]
    return subject, "\n".join(lines)


def render_filled(coverage: NeedCoverage, public_url: str | None = None) -> Message:
    """A need you heard about is now filled: confirmed and delivered pledges cover it."""
    c = coverage.context
    amount = f"{_qty(coverage.quantity)} {coverage.unit}"
    subject = f"Filled: {c.need_title} ({_where(c)})"
    text = "\n".join(
        [
            (
                f"The need “{c.need_title}” of {c.organisation_name} is filled: {amount} confirmed "
                f"({_qty(coverage.fulfilled)} delivered so far)."
            ),
            f"Where: {_where(c)}. Sector {c.sector}.",
            "Next: no more offers are needed for it; thank you.",
            f"Need {coverage.need_id}, crisis {coverage.crisis_id}."
            + _link(public_url, f"needs/{coverage.need_id}"),
        ]
    )
    return subject, text


def render_digest(items: Sequence[Message], start: dt.datetime, end: dt.datetime) -> Message:
    """Several held notifications as one message: a count, then each subject and text."""
    span = f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC" if end - start <= dt.timedelta(hours=1) else ""
    span = span or f"{start:%Y-%m-%d} UTC"
    noun = "update" if len(items) == 1 else "updates"
    subject = f"drx digest: {len(items)} {noun}, {span}"
    body = [f"{len(items)} {noun} between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC."]
    for number, (item_subject, item_text) in enumerate(items, start=1):
        body += ["", f"{number}. {item_subject}", item_text]
    return subject, "\n".join(body)
