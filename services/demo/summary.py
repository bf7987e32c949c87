"""What the demo shows: live counts while it runs, and the tables at the end.

Everything here is pure (plain values in, rich renderables out), so it is unit-tested without a
broker or a database; :mod:`services.demo.runner` gathers the values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = [
    "CoverageLine",
    "ExpectedRejection",
    "Rejection",
    "Summary",
    "Tally",
    "coverage_by_sector",
    "match_rejections",
    "render_summary",
]


@dataclass
class Tally:
    """Counts the live line shows; the runner updates them as records arrive."""

    phase: str = "starting"
    posted: int = 0
    accepted: int = 0
    rejected: int = 0
    subscriptions: int = 0
    proposals: int = 0
    decisions: int = 0
    alerts: int = 0
    webhooks: int = 0
    elapsed: float = 0.0

    def line(self) -> Text:
        parts = (
            ("posted", self.posted),
            ("accepted", self.accepted),
            ("rejected", self.rejected),
            ("subscriptions", self.subscriptions),
            ("proposals", self.proposals),
            ("decisions", self.decisions),
            ("alerts", self.alerts),
            ("webhook calls", self.webhooks),
        )
        text = Text(f"{self.phase}  ", style="bold")
        text.append(" · ".join(f"{label} {count}" for label, count in parts))
        text.append(f"  ({self.elapsed:.0f}s)", style="dim")
        return text


@dataclass(frozen=True, slots=True)
class CoverageLine:
    """One row of the coverage table: a sector, category and unit, summed over crises."""

    sector: str
    category: str
    unit: str
    needs: int
    needed: Decimal
    proposed: Decimal
    confirmed: Decimal
    fulfilled: Decimal

    @property
    def shortfall(self) -> Decimal:
        return max(self.needed - self.proposed - self.confirmed - self.fulfilled, Decimal(0))

    @property
    def covered_share(self) -> float:
        return float((self.needed - self.shortfall) / self.needed) if self.needed else 0.0


def coverage_by_sector(rows: Iterable[Any]) -> list[CoverageLine]:
    """Fold ``services.matching.queries.CoverageRow``-like rows (per crisis) into one line per
    sector, category and unit; sorted by sector, category, unit."""
    sums: dict[tuple[str, str, str], list[Any]] = {}
    for row in rows:
        if getattr(row, "is_total", False):  # a crisis's total row repeats its sectors' needs
            continue
        key = (row.sector, row.category, row.unit)
        acc = sums.setdefault(key, [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        acc[0] += sum(row.needs_by_status.values())
        acc[1] += row.needed
        acc[2] += row.proposed
        acc[3] += row.confirmed
        acc[4] += row.fulfilled
    return [CoverageLine(*key, *values) for key, values in sorted(sums.items())]


@dataclass(frozen=True, slots=True)
class ExpectedRejection:
    """An invalid input the scenario sent, and the text its rejection reason must contain."""

    label: str
    expect: str
    event_id: str | None = None  # events are found by id
    raw: str | None = None  # raw values by their text


@dataclass(frozen=True, slots=True)
class Rejection:
    """What came back on the rejected topic (``org.drx.input.rejected`` data)."""

    reason: str
    source_topic: str
    event_id: str | None = None
    event_type: str | None = None
    original_text: str | None = None


@dataclass(frozen=True, slots=True)
class RejectionCheck:
    expected: ExpectedRejection
    found: Rejection | None

    @property
    def ok(self) -> bool:
        return self.found is not None and self.expected.expect in self.found.reason


def match_rejections(
    expected: Sequence[ExpectedRejection], found: Sequence[Rejection]
) -> tuple[list[RejectionCheck], list[Rejection]]:
    """Pair each expected rejection with what arrived; also return rejections nobody expected."""
    unclaimed = list(found)
    checks = []
    for exp in expected:
        hit = next(
            (
                r
                for r in unclaimed
                if (exp.event_id is not None and r.event_id == exp.event_id)
                or (exp.raw is not None and r.event_id is None and r.original_text == exp.raw)
            ),
            None,
        )
        if hit is not None:
            unclaimed.remove(hit)
        checks.append(RejectionCheck(exp, hit))
    return checks, unclaimed


@dataclass
class Summary:
    """Everything the final tables show, and the checks that decide the exit code."""

    scenario: str
    elapsed: float
    tally: Tally
    coverage: list[CoverageLine]
    matches: Counter[tuple[str, str]]  # (status, category) -> count
    deliveries: Counter[tuple[str, str, str]]  # (channel, kind, status) -> count
    rejections: list[RejectionCheck]
    unexpected: list[Rejection]
    audit_records: int
    audit_last_hash: str
    audit_problem: str | None
    webhook_requests: int = 0
    webhook_bad_signatures: int = 0
    settle_problems: list[str] = field(default_factory=list)
    scheduled_jobs: bool = True

    @property
    def problems(self) -> list[str]:
        found = list(self.settle_problems)
        found += [
            f"{c.expected.label}: expected a rejection containing {c.expected.expect!r}, "
            + (f"got {c.found.reason!r}" if c.found else "none arrived")
            for c in self.rejections
            if not c.ok
        ]
        found += [
            f"unexpected rejection of {r.event_type or 'a record'} {r.event_id or ''}: {r.reason}"
            for r in self.unexpected
        ]
        if self.audit_problem is not None:
            found.append(f"audit chain broken at {self.audit_problem}")
        if self.webhook_bad_signatures:
            found.append(f"{self.webhook_bad_signatures} webhook request(s) failed signature verification")
        return found


def _n(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() or abs(value) >= 100 else f"{value:,.2f}"  # noqa: PLR2004


def _coverage_table(lines: Sequence[CoverageLine]) -> Table:
    table = Table(title="Coverage by sector and category", title_justify="left")
    for name in ("sector", "category", "unit"):
        table.add_column(name)
    for name in ("needs", "needed", "proposed", "confirmed", "fulfilled", "shortfall", "covered"):
        table.add_column(name, justify="right")
    for line in lines:
        table.add_row(
            line.sector,
            line.category,
            line.unit,
            str(line.needs),
            _n(line.needed),
            _n(line.proposed),
            _n(line.confirmed),
            _n(line.fulfilled),
            _n(line.shortfall),
            f"{line.covered_share:.0%}",
        )
    return table


def _matches_table(matches: Counter[tuple[str, str]]) -> Table:
    categories = sorted({category for _, category in matches})
    order = ("proposed", "confirmed", "fulfilled", "rejected", "cancelled", "expired")
    statuses = [s for s in order if any(st == s for st, _ in matches)]
    statuses += sorted({st for st, _ in matches} - set(order))
    table = Table("status", *categories, "total", title="Matches by status", title_justify="left")
    for status in statuses:
        counts = [matches.get((status, c), 0) for c in categories]
        table.add_row(status, *(str(n) for n in counts), str(sum(counts)))
    return table


def _alerts_table(deliveries: Counter[tuple[str, str, str]]) -> Table:
    statuses = sorted({status for _, _, status in deliveries})
    table = Table("channel", "kind", *statuses, title="Alerts by channel and kind", title_justify="left")
    for channel, kind in sorted({(c, k) for c, k, _ in deliveries}):
        table.add_row(channel, kind, *(str(deliveries.get((channel, kind, s), 0)) for s in statuses))
    return table


def _rejections_table(checks: Sequence[RejectionCheck], unexpected: Sequence[Rejection]) -> Table:
    table = Table("", "input", "reason", title="Rejected inputs", title_justify="left")
    for check in checks:
        mark = Text("✓", style="green") if check.ok else Text("✗", style="red")
        table.add_row(
            mark, check.expected.label, check.found.reason if check.found else "(no rejection arrived)"
        )
    for r in unexpected:
        table.add_row(
            Text("✗", style="red"),
            f"unexpected: {r.event_type or r.source_topic} {r.event_id or ''}",
            r.reason,
        )
    return table


def render_summary(summary: Summary) -> RenderableType:
    """The final report: five tables, the audit line and the verdict."""
    t = summary.tally
    counts = Table.grid(padding=(0, 2))
    counts.add_row(
        f"events posted {t.posted}",
        f"accepted {t.accepted}",
        f"rejected {t.rejected}",
        f"subscriptions {t.subscriptions}",
        f"proposals {t.proposals}",
        f"decisions {t.decisions}",
        f"alerts {t.alerts}",
    )
    if summary.audit_problem is None:
        last = summary.audit_last_hash[:16]
        audit = Text(
            f"audit chain verified: {summary.audit_records} records, last hash {last}…", style="green"
        )
    else:
        audit = Text(f"audit chain BROKEN at {summary.audit_problem}", style="bold red")
    webhook = Text(
        f"webhook receiver: {summary.webhook_requests} signed request(s), "
        f"{summary.webhook_bad_signatures} with a bad signature; "
        "email is not part of the demo (it would need an SMTP server)"
    )
    jobs = Text(
        "scheduled jobs: on (checked every few seconds)" if summary.scheduled_jobs else "scheduled jobs: off",
        style="dim",
    )
    problems = summary.problems
    verdict = (
        Text(
            f"drx demo: {summary.scenario}, done in {summary.elapsed:.1f}s, every check passed",
            style="bold green",
        )
        if not problems
        else Text(
            f"drx demo: {summary.scenario}, {len(problems)} problem(s):\n"
            + "\n".join(f"  - {p}" for p in problems),
            style="bold red",
        )
    )
    return Group(
        counts,
        _coverage_table(summary.coverage),
        _matches_table(summary.matches),
        _alerts_table(summary.deliveries),
        _rejections_table(summary.rejections, summary.unexpected),
        webhook,
        jobs,
        audit,
        verdict,
    )
