"""A coordinator's scope: what it covers, and how a refusal names it."""

from shared.scope import Scope, outside


def test_an_empty_scope_covers_nothing():
    empty = Scope()
    assert not empty.covers_countries(["TUR"])
    assert not empty.covers_countries([])
    assert not empty.covers_crisis("c-1", ["TUR"])
    assert not empty.covers_place("c-1", "TUR")


def test_everything_covers_everything_even_a_crisis_without_countries():
    assert Scope(everything=True).covers_countries([])
    assert Scope(everything=True).covers_crisis("c-1", ["NPL"])
    assert Scope(everything=True).covers_place(None, None)


def test_a_crisis_is_covered_by_its_id_or_by_all_of_its_countries():
    scope = Scope.of(crises=("c-1",), countries=("tur",))
    assert scope.covers_crisis("c-1", ["NPL"])
    assert scope.covers_crisis("c-2", ["TUR"])
    assert not scope.covers_crisis("c-2", ["TUR", "SYR"])


def test_a_place_is_covered_by_either_its_crisis_or_its_country():
    scope = Scope.of(crises=("c-1",), countries=("TUR",))
    assert scope.covers_place("c-1", "NPL")
    assert scope.covers_place("c-9", "TUR")
    assert not scope.covers_place("c-9", "NPL")
    assert not scope.covers_place(None, None)


def test_a_refusal_names_the_scope_and_what_lies_outside_it():
    scope = Scope.of(crises=("c-2", "c-1"), countries=("TUR",))
    assert outside("urn:drx:coord:x", scope, "crisis c-9 (NPL)") == (
        "urn:drx:coord:x may act only within crises [c-1, c-2] and countries [TUR]; "
        "crisis c-9 (NPL) is outside it"
    )


def test_a_scope_change_adds_and_removes_and_leaves_the_global_grant_alone_unless_told():
    from shared.sources import ScopeChange

    before = Scope.of(crises=("c-1",), countries=("TUR",))
    change = ScopeChange(add_crises=("c-2",), remove_crises=("c-1",), add_countries=("npl",))
    assert change.applied_to(before) == Scope.of(crises=("c-2",), countries=("TUR", "NPL"))
    assert ScopeChange(everything=True).applied_to(before) == Scope.of(("c-1",), ("TUR",), everything=True)
    assert ScopeChange(remove_countries=("tur",)).applied_to(before) == Scope.of(crises=("c-1",))
