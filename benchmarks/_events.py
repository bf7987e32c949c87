"""What the benchmarks post: a crisis, and needs and pledges that meet in pairs.

Made with the test suite's builders (``tests.support.builders``), so a benchmark posts the same
documents the tests do, with the same sources. A need and a pledge of the same item and quantity
match each other whole; spread over many catalogue items, pairs rarely share a match key (and so
a lock in matching).
"""

from __future__ import annotations

from typing import Any

from shared.reference import load_catalogue
from tests.support import builders as b

__all__ = ["CRISIS", "ITEMS", "crisis", "distinct_items", "need", "pledge"]

CRISIS = "bench-crisis"
ITEMS = 200  # distinct catalogue items the pairs cycle through (distinct match keys)
QUANTITY = 40


def distinct_items(count: int = ITEMS) -> list[str]:
    """Catalogue items without substitution group, counted in pieces (their match key is the item)."""
    codes = [i.code for i in load_catalogue() if i.substitution_group is None and i.base_unit == "piece"]
    return codes[:count]


def _posted(event_type: str, data: dict[str, Any], source: str) -> bytes:
    return b.encode(b.envelope(event_type, data, source))


def crisis() -> bytes:
    return _posted("org.drx.crisis.declared", b.crisis(CRISIS), b.COORDINATOR[0])


def need(need_id: str, item: str) -> bytes:
    data = b.need(need_id, crisis_id=CRISIS, spec=b.supplies(item, QUANTITY))
    return _posted("org.drx.need.posted", data, b.ORGANISATION[0])


def pledge(pledge_id: str, item: str) -> bytes:
    data = b.pledge(pledge_id, crisis_id=CRISIS, spec=b.supplies(item, QUANTITY))
    return _posted("org.drx.pledge.posted", data, b.DONOR[0])
