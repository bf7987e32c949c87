"""The summary and the decision choice: pure functions of what the demo read back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from rich.console import Console

from services.demo.scenario import DecisionStep
from services.demo.selection import MatchState, select_matches
from services.demo.summary import (
    ExpectedRejection,
    Rejection,
    Summary,
    Tally,
    coverage_by_sector,
    match_rejections,
    render_summary,
)


@dataclass
class Row:
    crisis_id: str
    sector: str
    category: str
    unit: str
    needed: Decimal
    proposed: Decimal = Decimal(0)
    confirmed: Decimal = Decimal(0)
    fulfilled: Decimal = Decimal(0)
    needs_by_status: dict[str, int] = field(default_factory=lambda: {"open": 1})


def match(n: int, status: str = "proposed", category: str = "supplies") -> MatchState:
    return MatchState(f"m-{n}", f"need-{n % 5}", f"pledge-{n}", status, category, "shelter", 1)


class TestCoverage:
    def test_crises_fold_into_one_line_per_sector_category_and_unit(self):
        lines = coverage_by_sector(
            [
                Row(
                    "a",
                    "shelter",
                    "supplies",
                    "piece",
                    Decimal(400),
                    proposed=Decimal(100),
                    confirmed=Decimal(50),
                ),
                Row("b", "shelter", "supplies", "piece", Decimal(100), fulfilled=Decimal(100)),
                Row("a", "health", "funds", "USD", Decimal(1000)),
            ]
        )
        assert [(line.sector, line.category) for line in lines] == [
            ("health", "funds"),
            ("shelter", "supplies"),
        ]
        shelter = lines[1]
        assert (shelter.needs, shelter.needed, shelter.shortfall) == (2, Decimal(500), Decimal(250))
        assert shelter.covered_share == 0.5

    def test_shortfall_never_goes_below_zero(self):
        (line,) = coverage_by_sector(
            [Row("a", "wash", "supplies", "kit", Decimal(10), confirmed=Decimal(10))]
        )
        assert line.shortfall == 0
        assert line.covered_share == 1.0


class TestRejections:
    def test_events_pair_by_id_and_raw_text_by_its_text(self):
        expected = [
            ExpectedRejection("need x", "unknown crisis", event_id="e-1"),
            ExpectedRejection("raw", "is not JSON", raw="hello"),
            ExpectedRejection("need y", "is in the past", event_id="e-2"),
        ]
        found = [
            Rejection("message is not JSON: Expecting value", "drx.intake.needs", original_text="hello"),
            Rejection("data.crisis_id: unknown crisis 'x'", "drx.intake.needs", event_id="e-1"),
            Rejection("not authorised: nope", "drx.intake.needs", event_id="e-9"),
        ]
        checks, unexpected = match_rejections(expected, found)
        assert [c.ok for c in checks] == [True, True, False]
        assert checks[2].found is None
        assert [r.event_id for r in unexpected] == ["e-9"]

    def test_a_rejection_for_another_reason_fails_the_check(self):
        checks, _ = match_rejections(
            [ExpectedRejection("n", "unknown crisis", event_id="e")],
            [Rejection("not authorised", "t", event_id="e")],
        )
        assert not checks[0].ok


def summary(**changes) -> Summary:
    base = {
        "scenario": "test",
        "elapsed": 12.0,
        "tally": Tally(posted=3, accepted=2, rejected=1),
        "coverage": coverage_by_sector([Row("a", "shelter", "supplies", "piece", Decimal(10))]),
        "matches": Counter({("proposed", "supplies"): 2, ("confirmed", "funds"): 1}),
        "deliveries": Counter(
            {("kafka", "match.proposed", "sent"): 4, ("webhook", "need.filled", "sent"): 1}
        ),
        "rejections": match_rejections(
            [ExpectedRejection("raw", "JSON", raw="x")], [Rejection("not JSON", "t", original_text="x")]
        )[0],
        "unexpected": [],
        "audit_records": 40,
        "audit_last_hash": "ab" * 32,
        "audit_problem": None,
        "webhook_requests": 1,
    }
    return Summary(**{**base, **changes})


def rendered(value: Summary) -> str:
    console = Console(width=160, record=True)
    console.print(render_summary(value))
    return console.export_text()


class TestSummary:
    def test_every_table_and_the_verdict_are_shown(self):
        text = rendered(summary())
        for part in (
            "Coverage by sector and category",
            "Matches by status",
            "Alerts by channel and kind",
            "Rejected inputs",
            "audit chain verified: 40 records",
            "every check passed",
        ):
            assert part in text
        assert summary().problems == []

    def test_a_broken_chain_a_missed_rejection_and_a_bad_signature_are_problems(self):
        broken = summary(
            audit_problem="record 7 (need n, need.recorded): hash mismatch",
            rejections=match_rejections([ExpectedRejection("need", "unknown crisis", event_id="e")], [])[0],
            webhook_bad_signatures=2,
            settle_problems=["phase 2: the pipeline did not go idle within 180s"],
        )
        assert len(broken.problems) == 4
        text = rendered(broken)
        assert "BROKEN" in text
        assert "4 problem(s)" in text

    def test_the_live_line_counts_everything(self):
        line = Tally(phase="phase 2/5", posted=10, proposals=3, alerts=7, webhooks=2).line().plain
        assert "phase 2/5" in line
        assert "posted 10" in line
        assert "proposals 3" in line
        assert "webhook calls 2" in line


class TestSelection:
    def test_a_share_is_sampled_the_same_way_for_the_same_matches(self):
        matches = [match(n) for n in range(20)]
        step = DecisionStep(decision="confirm", source="s", by="b", share=0.25, seed=3)
        first = select_matches(step, matches, set())
        assert len(first) == 5
        assert first == select_matches(step, list(reversed(matches)), set())

    def test_confirm_takes_proposed_and_fulfilled_takes_confirmed(self):
        matches = [match(1), match(2, "confirmed"), match(3, "rejected")]
        confirm = DecisionStep(decision="confirm", source="s", by="b", count=5)
        fulfilled = DecisionStep(decision="fulfilled", source="s", by="b", count=5)
        assert [m.match_id for m in select_matches(confirm, matches, set())] == ["m-1"]
        assert [m.match_id for m in select_matches(fulfilled, matches, set())] == ["m-2"]

    def test_taken_matches_and_other_categories_are_left_out(self):
        matches = [match(1), match(2, category="funds"), match(3)]
        step = DecisionStep(decision="reject", source="s", by="b", count=5, category="supplies")
        assert [m.match_id for m in select_matches(step, matches, {"m-1"})] == ["m-3"]

    def test_a_named_need_takes_its_first_proposal(self):
        step = DecisionStep(decision="confirm", source="s", by="b", need="need-2")
        assert [m.match_id for m in select_matches(step, [match(7), match(2), match(12)], set())] == ["m-12"]
