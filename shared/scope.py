"""A coordinator's scope: the crises and countries it may act in, and the refusals that name it.

Pure values and rules, shared by the three doors a coordinator acts through: ingest (declare,
update or close a crisis), matching (decide a match; the scope travels in the canonical
``org.drx.decision.recorded`` because only matching knows a match's need) and notify (manage a
subscription). The registry (``shared/sources.py``) stores it; ``drx sources scope`` changes it.

An empty scope is *nothing*, never "everything": a coordinator registered without one may post
nothing a scope guards until an operator assigns crises or countries, or grants ``everything``
(``drx sources scope --all``) to a global desk that triages every crisis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Scope", "outside"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Crisis ids and ISO 3166-1 alpha-3 country codes a coordinator may act in, or everything."""

    crises: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    everything: bool = False

    @classmethod
    def of(
        cls, crises: Iterable[str] = (), countries: Iterable[str] = (), *, everything: bool = False
    ) -> Scope:
        return cls(frozenset(crises), frozenset(c.upper() for c in countries), everything)

    def covers_countries(self, countries: Iterable[str]) -> bool:
        """Every one of ``countries`` is in scope (none given: only ``everything`` covers that)."""
        wanted = set(countries)
        return self.everything or (bool(wanted) and wanted <= self.countries)

    def covers_crisis(self, crisis_id: str, countries: Iterable[str]) -> bool:
        """The crisis is assigned by id, or every one of its countries is in scope."""
        return self.everything or crisis_id in self.crises or self.covers_countries(countries)

    def covers_place(self, crisis_id: str | None, country: str | None) -> bool:
        """A need (its crisis and its place's country) or a filter: either one in scope is enough.

        A need lies in one crisis and one country; being assigned either makes it the
        coordinator's. A subscription's filters are conjunctive, so one bound in scope keeps
        everything it selects in scope.
        """
        if self.everything:
            return True
        return (crisis_id is not None and crisis_id in self.crises) or (
            country is not None and country in self.countries
        )

    def describe(self) -> str:
        """The scope for people: ``crises [c-1] and countries [NPL]``, or ``every crisis and country``."""
        if self.everything:
            return "every crisis and country"
        if not self.crises and not self.countries:
            return "no crisis or country (an empty scope)"
        return (
            f"crises [{', '.join(sorted(self.crises))}] and countries [{', '.join(sorted(self.countries))}]"
        )


def outside(source: str, scope: Scope, what: str) -> str:
    """A refusal naming the scope and what is outside it.

    ``outside("urn:drx:coord:x", scope, "crisis c-1 (NPL)")`` →
    ``urn:drx:coord:x may act only within crises [...] and countries [...]; crisis c-1 (NPL) is
    outside it``.
    """
    if not scope.crises and not scope.countries and not scope.everything:
        return (
            f"{source} has an empty scope and may act in no crisis or country; {what} is outside it "
            "(an operator assigns one with `drx sources scope`)"
        )
    return f"{source} may act only within {scope.describe()}; {what} is outside it"
