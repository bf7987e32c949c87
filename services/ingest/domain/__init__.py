"""Ingest's rules, as plain functions over values: reference checks, normalisation, authority,
and what an accepted event does to the stored state. No I/O, no clock: ``today`` is a parameter
(the Kafka record's timestamp), so a replayed message is judged by when it was sent.

``values`` holds what the rules take and give, ``rules.decide`` the acceptance of one event
(with ``authority`` and ``checks``), ``expiry`` what time does to needs and pledges. The import
contract "domain modules are pure" covers the whole package.
"""

from __future__ import annotations

from services.ingest.domain.expiry import close_needs, expire, expiry_reminder
from services.ingest.domain.rules import decide
from services.ingest.domain.values import Accept, Outcome, Reference, Reject, SourceInfo, Stale, Stored

__all__ = [
    "Accept",
    "Outcome",
    "Reference",
    "Reject",
    "SourceInfo",
    "Stale",
    "Stored",
    "close_needs",
    "decide",
    "expire",
    "expiry_reminder",
]
