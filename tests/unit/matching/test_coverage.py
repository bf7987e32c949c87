"""Coverage adds up: demand sums per row, each pledge's free capacity counted once per crisis total."""

from decimal import Decimal

from services.matching.domain.coverage import ALL_SECTORS, NeedLine, PledgeLine, coverage_lines, may_serve

D = Decimal


def need(crisis="c-1", sector="wash", *, quantity=100, proposed=0, confirmed=0, fulfilled=0, **kw):
    fields = {
        "category": "supplies",
        "unit": "piece",
        "country": "TUR",
        "item_code": "JERRYCAN20",
        "substitution_group": "jerrycans",
        "status": "open",
        **kw,
    }
    return NeedLine(crisis, sector, quantity=D(quantity), proposed=D(proposed), confirmed=D(confirmed),
                    fulfilled=D(fulfilled), **fields)  # fmt: skip


def pledge(pledge_id, quantity, allocated=0, crisis=None, **kw):
    fields = {
        "category": "supplies",
        "unit": "piece",
        "item_code": "JERRYCAN20",
        "substitution_group": "jerrycans",
    }
    return PledgeLine(pledge_id, crisis, quantity=D(quantity), allocated=D(allocated), **{**fields, **kw})


def rows(needs, pledges):
    return {(r.crisis_id, r.sector): r for r in coverage_lines(needs, pledges)}


def test_a_pledge_that_may_serve_two_rows_is_shown_in_both_and_counted_once_in_the_total():
    found = rows([need(sector="wash"), need(sector="shelter")], [pledge("p-1", 300, allocated=50)])
    assert found[("c-1", "wash")].available == D(250)
    assert found[("c-1", "shelter")].available == D(250)
    total = found[("c-1", ALL_SECTORS)]
    assert (total.available, total.pledges, total.needed) == (D(250), 1, D(200))


def test_earmarks_split_what_a_pledge_may_serve():
    needs = [need(sector="wash"), need(sector="shelter"), need(crisis="c-2", sector="wash")]
    pledges = [
        pledge("wash-only", 40, earmark_sectors=("wash",)),
        pledge("c-2-only", 70, earmark_crises=("c-2",)),
        pledge("for-c-1", 5, crisis="c-1"),
        pledge("syria-only", 9, earmark_countries=("SYR",)),
    ]
    found = rows(needs, pledges)
    assert found[("c-1", "wash")].available == D(45)
    assert found[("c-1", "shelter")].available == D(5)
    assert found[("c-1", ALL_SECTORS)].available == D(45)
    assert found[("c-2", "wash")].available == D(110)
    assert found[("c-2", ALL_SECTORS)].available == D(110)


def test_a_standing_pledge_counts_once_in_each_crisis_it_may_serve():
    found = rows([need(crisis="c-1"), need(crisis="c-2")], [pledge("standing", 30)])
    assert found[("c-1", ALL_SECTORS)].available == found[("c-2", ALL_SECTORS)].available == D(30)


def test_items_decide_too_a_substitute_group_serves_and_another_item_does_not():
    other = pledge("blankets", 50, item_code="BLANKET", substitution_group="blankets")
    cousin = pledge("jerrycan10", 20, item_code="JERRYCAN10")
    assert not may_serve(other, need())
    assert may_serve(cousin, need())
    assert rows([need()], [other, cousin])[("c-1", "wash")].available == D(20)


def test_a_fully_allocated_pledge_adds_nothing():
    found = rows([need()], [pledge("spent", 10, allocated=10)])
    assert (found[("c-1", "wash")].available, found[("c-1", "wash")].pledges) == (D(0), 0)


def test_covered_is_confirmed_plus_fulfilled_and_a_proposal_covers_nothing():
    line = rows([need(quantity=100, proposed=30, confirmed=20, fulfilled=10)], [])[("c-1", "wash")]
    assert (line.proposed, line.confirmed, line.fulfilled) == (D(30), D(20), D(10))
    assert (line.covered, line.shortfall) == (D(30), D(70))


def test_sector_rows_sum_to_the_crisis_total_and_the_total_comes_after_them():
    needs = [
        need(sector="wash", quantity=10, status="open"),
        need(sector="shelter", quantity=5, status="covered", confirmed=5),
    ]
    lines = coverage_lines(needs, [])
    assert [line.sector for line in lines] == ["shelter", "wash", ALL_SECTORS]
    total = lines[-1]
    assert total.needed == sum(line.needed for line in lines[:-1]) == D(15)
    assert total.needs_by_status == {"open": 1, "covered": 1}
