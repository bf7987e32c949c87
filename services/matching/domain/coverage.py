"""Coverage arithmetic for ``drx coverage``: rows that add up, and pledges counted once.

A row is one crisis, sector, category and unit. Its demand columns (needed, proposed,
confirmed, fulfilled) are sums over its needs, so they add up across rows. Pledged capacity
cannot be split that way without inventing an allocation: a standing water pledge may go to
either of two WASH rows, or to another crisis. So the rule is:

* a pledge's **free** capacity is its quantity less what matches already hold of it;
* a row's ``available`` is the free capacity of every active pledge that may serve at least one
  of its needs (same category and unit; for the crisis or standing; its crisis, sector and
  country earmarks allow it; for supplies, the same item or an item of its substitution group).
  Rows' ``available`` do not add up, and say so: the same pledge is shown in each row it may serve;
* each crisis, category and unit gets a **total** row, whose ``available`` counts each pledge's
  free capacity once, however many of the crisis's rows it may serve. A standing pledge counts
  once in each crisis it may serve: it is the same capacity offered to all of them.

``covered`` is confirmed plus fulfilled (what people have agreed to or received); ``shortfall``
is what ``covered`` leaves of ``needed``. Proposed is its own column: an undecided proposal
covers nothing yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["ALL_SECTORS", "CoverageLine", "NeedLine", "PledgeLine", "coverage_lines", "may_serve"]

ALL_SECTORS = "(all sectors)"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class NeedLine:
    """What coverage needs of one need that is not withdrawn."""

    crisis_id: str
    sector: str
    category: str
    unit: str
    country: str
    item_code: str | None
    substitution_group: str | None
    quantity: Decimal
    proposed: Decimal
    confirmed: Decimal
    fulfilled: Decimal
    status: str  # the label need_status gives it


@dataclass(frozen=True, slots=True)
class PledgeLine:
    """What coverage needs of one active pledge."""

    pledge_id: str
    crisis_id: str | None
    category: str
    unit: str
    item_code: str | None
    substitution_group: str | None
    quantity: Decimal
    allocated: Decimal
    earmark_crises: tuple[str, ...] = ()
    earmark_sectors: tuple[str, ...] = ()
    earmark_countries: tuple[str, ...] = ()

    @property
    def free(self) -> Decimal:
        return max(self.quantity - self.allocated, _ZERO)


@dataclass
class CoverageLine:
    """One row of ``drx coverage``; ``sector`` is :data:`ALL_SECTORS` on a crisis's total row."""

    crisis_id: str
    sector: str
    category: str
    unit: str
    needed: Decimal = _ZERO
    proposed: Decimal = _ZERO
    confirmed: Decimal = _ZERO
    fulfilled: Decimal = _ZERO
    available: Decimal = _ZERO
    pledges: int = 0  # how many pledges make up ``available``
    needs_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def is_total(self) -> bool:
        return self.sector == ALL_SECTORS

    @property
    def covered(self) -> Decimal:
        return self.confirmed + self.fulfilled

    @property
    def shortfall(self) -> Decimal:
        return max(self.needed - self.covered, _ZERO)


def may_serve(pledge: PledgeLine, need: NeedLine) -> bool:
    """Whether the pledge's earmarks and item allow it to serve this need at all."""
    if pledge.category != need.category or pledge.unit != need.unit:
        return False
    if pledge.crisis_id not in (None, need.crisis_id):
        return False
    if pledge.earmark_crises and need.crisis_id not in pledge.earmark_crises:
        return False
    if pledge.earmark_sectors and need.sector not in pledge.earmark_sectors:
        return False
    if pledge.earmark_countries and need.country not in pledge.earmark_countries:
        return False
    if pledge.item_code is None or need.item_code is None or pledge.item_code == need.item_code:
        return True
    return pledge.substitution_group is not None and pledge.substitution_group == need.substitution_group


def _add(line: CoverageLine, need: NeedLine) -> None:
    line.needed += need.quantity
    line.proposed += need.proposed
    line.confirmed += need.confirmed
    line.fulfilled += need.fulfilled
    line.needs_by_status[need.status] = line.needs_by_status.get(need.status, 0) + 1


def coverage_lines(needs: Iterable[NeedLine], pledges: Sequence[PledgeLine]) -> list[CoverageLine]:
    """Sector rows, then each crisis, category and unit's total row after its sectors."""
    by_row: dict[tuple[str, str, str, str], list[NeedLine]] = {}
    for need in needs:
        by_row.setdefault((need.crisis_id, need.sector, need.category, need.unit), []).append(need)
    lines: dict[tuple[str, str, str, str], CoverageLine] = {}
    servers: dict[tuple[str, str, str, str], set[str]] = {}
    free = {p.pledge_id: p.free for p in pledges if p.free > 0}
    for key, members in by_row.items():
        crisis_id, _sector, category, unit = key
        total_key = (crisis_id, ALL_SECTORS, category, unit)
        line = lines[key] = CoverageLine(*key)
        total = lines.setdefault(total_key, CoverageLine(*total_key))
        for need in members:
            _add(line, need)
            _add(total, need)
        here = {p.pledge_id for p in pledges if p.pledge_id in free and any(may_serve(p, n) for n in members)}
        servers[key] = here
        servers.setdefault(total_key, set()).update(here)
    for key, line in lines.items():
        line.available = sum((free[p] for p in servers[key]), _ZERO)
        line.pledges = len(servers[key])
    return sorted(lines.values(), key=lambda r: (r.crisis_id, r.category, r.unit, r.is_total, r.sector))
