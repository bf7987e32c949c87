import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from shared.reference import build

ROOT = Path(build.__file__).parent


def test_committed_derived_files_are_what_the_build_produces_now():
    for path, text in build.build().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is out of date: run `python -m shared.reference.build` and commit the result"
        )


def test_the_build_reads_only_the_packaged_sources():
    assert build.SOURCES.is_relative_to(ROOT / "data" / "sources")
    assert (build.SOURCES / "LICENSE").is_file()


def test_catalogue_json_shape():
    items = json.loads(build.CATALOGUE.read_text(encoding="utf-8"))["items"]
    assert [i["code"] for i in items] == sorted(i["code"] for i in items)
    for i in items:
        assert set(i) == {"code", "name", "category", "sector", "base_unit", "units", "substitution_group"}
        assert Decimal(i["units"][i["base_unit"]]) == 1


def test_every_group_rule_is_used():
    items = json.loads(build.CATALOGUE.read_text(encoding="utf-8"))["items"]
    used = {i["substitution_group"] for i in items}
    assert {group for group, _ in build.GROUP_RULES} <= used
    assert set(build.GROUP_CODES.values()) <= used


def test_data_stays_small():
    total = sum(p.stat().st_size for p in (ROOT / "data").rglob("*") if p.is_file())
    assert total < 3_000_000


def test_ifrc_text_is_decoded_from_cp1252():
    items = {i["code"]: i for i in json.loads(build.CATALOGUE.read_text(encoding="utf-8"))["items"]}
    assert "mégaphone" in items["KADMIDEN03"]["name"]
    assert "Ø" in items["XFIXSTRA29209"]["name"]


def test_a_group_mixing_base_units_fails_the_build(monkeypatch):
    mixed = (("mixed", re.compile(r"(BLANKET|RICE)\b")), *build._GROUP_PATTERNS)
    monkeypatch.setattr(build, "_GROUP_PATTERNS", mixed)
    with pytest.raises(build.BuildError, match="different base units"):
        build.build()


def test_a_rule_matching_nothing_fails_the_build(monkeypatch):
    monkeypatch.setattr(build, "GROUP_RULES", (*build.GROUP_RULES, ("unicorn", "UNICORN")))
    with pytest.raises(build.BuildError, match="unicorn"):
        build.build()
