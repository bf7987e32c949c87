import csv
from pathlib import Path

import pytest

from shared.reference import Sector, Skill, SkillTaxonomy, UnknownSkillError, load_skills

DATA = Path(__file__).parents[3] / "shared" / "reference" / "data"
SAHANA = DATA / "sources" / "sahana-eden"
LISTS = {
    "ifrc": (SAHANA / "IFRC" / "hrm_skill.csv", "Name"),
    "rw": (SAHANA / "historic" / "RW" / "hrm_skill.csv", "Name"),
    "nyc": (SAHANA / "historic" / "NYC" / "hrm_skill.csv", "Name"),
    "default": (SAHANA / "default" / "DefaultSkillList.csv", "Name"),
    "occupation": (SAHANA / "BRCMS" / "Evac" / "pr_occupation_type.csv", "Name"),
}


def tree(*codes: str) -> SkillTaxonomy:
    return SkillTaxonomy(Skill(code, code, code.rpartition(".")[0] or None, None) for code in codes)


class TestTree:
    def test_ancestors_nearest_first(self):
        assert load_skills().ancestors("health.medicine.surgery.orthopaedic") == (
            "health.medicine.surgery",
            "health.medicine",
            "health",
        )
        assert load_skills().ancestors("health") == ()

    def test_is_within(self):
        skills = load_skills()
        assert skills.is_within("health.medicine.surgery.orthopaedic", "health.medicine")
        assert skills.is_within("health.medicine", "health.medicine")
        assert not skills.is_within("health", "health.medicine")
        assert not skills.is_within("health.nursing", "health.medicine")
        assert not skills.is_within("engineering.water", "health")

    def test_a_shared_prefix_is_not_ancestry(self):
        skills = tree("it", "it.data", "it.database")
        assert not skills.is_within("it.database", "it.data")

    def test_children(self):
        skills = load_skills()
        assert "health.medicine.surgery.orthopaedic" in skills.children("health.medicine.surgery")
        assert "health.medicine.surgery.orthopaedic" not in skills.children("health.medicine")
        assert skills.children("health.medicine.surgery.orthopaedic") == ()

    def test_roots(self):
        assert tree("a", "a.b", "c").roots() == ("a", "c")

    def test_unknown_codes(self):
        skills = load_skills()
        assert skills.get("health.wizardry") is None
        assert "health.wizardry" not in skills
        with pytest.raises(UnknownSkillError, match=r"'health\.wizardry' is not in the skills taxonomy"):
            skills.ancestors("health.wizardry")
        with pytest.raises(UnknownSkillError):
            skills.is_within("health.medicine", "health.wizardry")
        with pytest.raises(UnknownSkillError):
            skills.is_within("health.wizardry", "health")
        with pytest.raises(UnknownSkillError):
            skills.children("health.wizardry")

    def test_get(self):
        skill = load_skills().get("engineering.water")
        assert skill is not None
        assert skill.parent == "engineering"
        assert skill.sector is Sector.WASH
        assert skill.name == "Water and sanitation engineering"


class TestValidation:
    def test_missing_parent(self):
        with pytest.raises(ValueError, match="unknown parent 'a'"):
            tree("a.b")

    def test_bad_code(self):
        with pytest.raises(ValueError, match="not a dotted lower-case path"):
            tree("Health")

    def test_duplicate(self):
        with pytest.raises(ValueError, match="appears twice"):
            tree("a", "a")

    def test_parent_must_agree_with_the_code(self):
        with pytest.raises(ValueError, match="its code says otherwise"):
            SkillTaxonomy([Skill("a", "a", None, None), Skill("b", "b", "a", None)])


class TestShippedTaxonomy:
    def test_size(self):
        assert 80 <= len(load_skills()) <= 200

    def test_covers_what_diaspora_professionals_offer(self):
        skills = load_skills()
        for code in (
            "health.medicine.surgery.orthopaedic",
            "health.nursing",
            "health.mental_health",
            "engineering.civil",
            "engineering.structural",
            "engineering.water",
            "education.teaching",
            "logistics.supply_chain",
            "logistics.driving",
            "legal.immigration",
            "translation.interpreting",
            "it.networking",
            "finance.accounting",
        ):
            assert code in skills, code

    def test_every_sector_is_served_by_some_skill(self):
        served = {skill.sector for skill in load_skills()}
        assert set(Sector) <= served

    def test_cached(self):
        assert load_skills() is load_skills()

    def test_sahana_cross_references_exist_in_the_sources(self):
        entries = {}
        for key, (path, column) in LISTS.items():
            with path.open(encoding="utf-8", newline="") as source:
                entries[key] = {row[column].strip() for row in csv.DictReader(source)}
        with (DATA / "skills.csv").open(encoding="utf-8", newline="") as source:
            rows = list(csv.DictReader(source))
        referenced = 0
        for row in rows:
            for ref in filter(None, (part.strip() for part in row["sahana"].split("|"))):
                key, _, name = ref.partition(":")
                assert name in entries[key], f"{row['code']}: {ref!r} is not in the {key} list"
                referenced += 1
        assert referenced > 150
