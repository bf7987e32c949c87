"""What time does to stored needs and pledges: a closed crisis closes its needs, dates lapse, owners
are reminded before they do. Plain functions of the stored state and ``today``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.events import canonical
from shared.events.outbound import ExpiryReminder

__all__ = ["close_needs", "expire", "expiry_reminder"]


def close_needs(open_needs: list[dict[str, Any]]) -> list[canonical.NeedRecorded]:
    """A closed crisis closes its open needs; each gets a new revision."""
    return [
        canonical.NeedRecorded.model_validate(
            {**state, "status": "closed", "revision": state["revision"] + 1}
        )
        for state in open_needs
        if state["status"] == "open"
    ]


def expire(state: dict[str, Any], today: dt.date) -> canonical.NeedRecorded | canonical.PledgeRecorded | None:
    """The expired version of a live need past its needed-by date or pledge past its expiry.

    A need is useful up to and including its needed-by day, a pledge available up to and
    including its expiry day; the day after, they lapse. ``None`` when ``state`` is not due.
    """
    if "need_id" in state:
        if state["status"] != "open" or dt.date.fromisoformat(state["needed_by"]) >= today:
            return None
        return canonical.NeedRecorded.model_validate(
            {**state, "status": "expired", "revision": state["revision"] + 1}
        )
    if state["status"] != "active" or dt.date.fromisoformat(state["expires_on"]) >= today:
        return None
    return canonical.PledgeRecorded.model_validate(
        {**state, "status": "expired", "revision": state["revision"] + 1}
    )


def expiry_reminder(state: dict[str, Any], today: dt.date, days_before: int) -> ExpiryReminder | None:
    """The reminder to a live need's organisation or pledge's donor whose date is near, or None."""
    is_need = "need_id" in state
    live = state["status"] == ("open" if is_need else "active")
    ends = dt.date.fromisoformat(state["needed_by" if is_need else "expires_on"])
    days_left = (ends - today).days
    if not live or not 0 <= days_left <= days_before:
        return None
    owner = state["organisation" if is_need else "donor"]
    spec = state["spec"]
    return ExpiryReminder(
        entity_type="need" if is_need else "pledge",
        entity_id=state["need_id" if is_need else "pledge_id"],
        owner_kind="organisation" if is_need else "donor",
        owner_id=owner["id"],
        title=state["title"],
        crisis_id=state.get("crisis_id"),
        category=spec["category"],
        expires_on=ends,
        days_left=days_left,
    )
