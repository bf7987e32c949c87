"""Which matches a coordinators' decision step applies to (pure, deterministic)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from services.demo.scenario import DecisionStep

__all__ = ["MatchState", "select_matches"]


@dataclass
class MatchState:
    """A match as last seen on the matches topic."""

    match_id: str
    need_id: str
    pledge_id: str
    status: str
    category: str
    sector: str
    revision: int


def select_matches(step: DecisionStep, matches: Iterable[MatchState], taken: set[str]) -> list[MatchState]:
    """The matches ``step`` decides on, leaving out ``taken`` (already decided in this phase).

    ``confirm`` and ``reject`` apply to proposed matches, ``fulfilled`` and ``cancel`` to
    confirmed ones. The same set of matches always gives the same choice: they are ordered by
    (need, pledge, match id) and sampled with the step's seed.
    """
    wanted = "proposed" if step.decision in {"confirm", "reject"} else "confirmed"
    eligible = sorted(
        (
            m
            for m in matches
            if m.status == wanted
            and m.match_id not in taken
            and (step.need is None or m.need_id == step.need)
            and (step.pledge is None or m.pledge_id == step.pledge)
            and (step.category is None or m.category == step.category)
            and (step.sector is None or m.sector == step.sector)
        ),
        key=lambda m: (m.need_id, m.pledge_id, m.match_id),
    )
    if step.need is not None:
        return eligible[:1]
    if not eligible:
        return []
    count = step.count if step.count is not None else max(1, round((step.share or 0) * len(eligible)))
    return random.Random(step.seed).sample(eligible, min(count, len(eligible)))  # noqa: S311 - not for security
