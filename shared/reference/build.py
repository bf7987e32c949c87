"""Build the derived reference files from the copied sources: ``python -m shared.reference.build``.

Reads only ``data/sources/`` (provenance in ``data/README.md``) and writes ``data/catalogue.json``.
A unit test checks that the committed file is exactly what :func:`build` returns, so the two cannot
drift: after changing a source or a rule (here, in ``item_rules`` or in ``source_items``), run the
command and commit the result.

The rules, in plain words (the source formats are read in :mod:`shared.reference.source_items`,
sectors and units decided in :mod:`shared.reference.item_rules`, groups here):

Items
    * IFRC Emergency Items Catalogue (``IFRC/supply_item_eic.csv``, cp1252): every row becomes an item
      with its IFRC code; its category is the IFRC group and family
      (``IFRC/supply_item_category_ifrc_standard.csv``), e.g. "Housing / Shelter".
    * Sahana Eden's ``default/StandardItems.csv`` (no codes: the code is ``SE-`` and the upper-case
      slug of the name) and ``default/DefaultItems.csv`` (``SE-`` and the slug of its item code, so
      ``FdRice50`` is ``SE-FDRICE50``). Services, facilities, cash and "Other" rows are not supplies
      and are left out; when a name appears twice the first row wins.

Base unit and accepted units (the IFRC file has no unit column; Sahana's does)
    * IFRC: "per liter" → ``l``, "per m"/"per meter" → ``m``, "per kg" → ``kg``; edible oils
      (family FOIL) weighing 0.9 kg are litres; food (group F) weighing exactly 1 kg whose
      description states no pack size is counted in ``kg``; a description whose first two parts
      name a KIT or a SET is counted in ``kit`` or ``set``; everything else in ``piece``.
    * Sahana: ``ea`` → piece, ``dz`` → piece with ``dozen`` = 12, ``lbs`` → kg, ``gal`` (US) → l with
      ``gal`` = 3.785411784, ``cy`` → m3, ``lf`` → m, ``sf``/``sy``/``sq`` (roofing square, 100 sq ft)
      → m2, ``bx`` → box, ``roll``/``kit``/``kg`` as they are; ``sack20kg`` → kg with ``sack`` = 20.
      Each pack column (Pack/Pack2/Pack3 with its quantity) adds two units: the pack's name and
      "<pack> of <quantity>[ <unit>]", e.g. ``sack`` and ``sack of 50 kg`` = 50 kg.
    * Generic mass/volume/length units (g, t, lb, ml, m3, cm …) are not listed per item: the
      catalogue applies them to every item whose base unit is of that dimension.

Sector: from the IFRC group/family, or the Sahana category, with a few named exceptions (tables
below); ``None`` where no IASC cluster clearly owns the item.

Substitution groups: an item belongs to the group of the first rule in ``GROUP_RULES`` whose pattern
matches the start of its upper-cased name (or the group listed for its code in ``GROUP_CODES``).
Rules exist only for kinds of relief item where one unit of any variant serves the same need (any
blanket for a blanket, any family tent for a family tent, any rice for rice); medicines, instruments,
spare parts and equipment of different ratings never share a group. All members of a group must
share a base unit, so quantities compare; the build fails otherwise.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from shared.reference.item_rules import BuildError
from shared.reference.source_items import DATA, SOURCES, ifrc_items, sahana_items

__all__ = ["CATALOGUE", "GROUP_CODES", "GROUP_RULES", "SOURCES", "BuildError", "build", "main"]

CATALOGUE = DATA / "catalogue.json"


# --- substitution groups ----------------------------------------------------------------------

GROUP_RULES: tuple[tuple[str, str], ...] = (
    # shelter and household items
    ("blanket", r"BLANKETS?\b"),
    ("tent.family", r"TENT, FAMILY\b"),
    ("tarpaulin", r"(TARPAULINS?\b|TARPS$)"),
    ("mosquito_net", r"MOSQUITO NET\b"),
    ("sleeping_mat", r"(SLEEPING MAT\b|MAT, PLASTIC\b)"),
    ("shelter_kit", r"SHELTER KIT\b"),
    ("kitchen_set.family", r"KITCHEN SET FAMI"),  # "familly" in the source
    ("bucket", r"(BUCKET, (METAL|PLASTIC)\b|BUCKETS?$)"),
    ("jerrycan", r"(JERRYCAN, |JERRYCANS?$)"),
    ("hygiene_kit", r"(HYGIENE KIT\b|KIT, HYGIENE\b)"),
    ("soap.body", r"SOAP, BODY SOAP\b"),
    ("soap.laundry", r"SOAP, LAUNDRY SOAP\b"),
    ("towel", r"(BATH TOWEL\b|TOWELS?$)"),
    ("clothing.children", r"(CLOTHING, SECOND HAND, CHILD\b|CHILDRENS CLOTHING$)"),
    ("clothing.men", r"(CLOTHING, SECOND HAND,? MEN\b|MENS CLOTHING$)"),
    ("clothing.women", r"(CLOTHING, SECOND HAND,? WOMEN\b|WOMENS CLOTHING$)"),
    ("torch", r"(LAMP, TORCH\b|TORCH LAMP\b|FLASHLIGHT$)"),
    # food (bulk commodities are counted in kg, oil in litres)
    ("rice", r"RICE\b(?!.*\bSEEDS?\b)"),
    ("maize.grain", r"MAIZE, (WHITE|YELLOW), GRAIN$"),
    ("maize.grits", r"MAIZE, (WHITE|YELLOW), GRITS$"),
    ("maize.meal", r"MAIZE, (WHITE|YELLOW), MEAL$"),
    ("beans", r"BEANS\b"),
    ("lentils", r"LENTILS\b"),
    ("peas", r"PEAS\b"),
    ("cooking_oil", r"OIL, (GROUDNUTS|MAIZE|OLIVE|PALM|RAPESEED|SOYABEAN|SUNFLOWER)\b"),
    ("emergency_biscuits", r"BISCUITS ICSM TYPE\b"),
    # fuel
    ("diesel", r"(DIESEL FUEL\b|DIESEL$)"),
    ("petrol", r"(PETROL FUEL\b|GASOLINE$)"),
    # health and dignity
    ("first_aider_kit", r"KIT, FIRST AIDER'S\b"),
    ("stretcher", r"(STRETCHER, |STRETCHER$)"),
    ("wheelchair", r"(WORLDMADE WHEELCHAIR\b|WHEELCHAIR$)"),
    ("body_bag", r"BODY BAGS?\b(?!.*INFECTIOUS)"),
)
"""(group, pattern matched at the start of the upper-cased name), first match wins."""

GROUP_CODES: dict[str, str] = {
    # Sahana's default "Tent" (ShTent): "This should house a family of up to 8 people".
    "SE-SHTENT": "tent.family",
}
"""Items placed in a group by code, where the name alone is too vague (StandardItems' "Tent" is not)."""

_GROUP_PATTERNS = tuple((group, re.compile(pattern)) for group, pattern in GROUP_RULES)


def _group(code: str, name: str) -> str | None:
    if code in GROUP_CODES:
        return GROUP_CODES[code]
    upper = name.upper()
    return next((group for group, pattern in _GROUP_PATTERNS if pattern.match(upper)), None)


# --- the catalogue ----------------------------------------------------------------------------


def _catalogue() -> list[dict[str, object]]:
    ifrc = ifrc_items()
    seen = {item.code for item in ifrc}
    if len(seen) != len(ifrc):
        msg = "the IFRC catalogue repeats an item code"
        raise BuildError(msg)
    items = list(ifrc)
    for item in sahana_items():
        if item.code not in seen:  # StandardItems lists Tarps, Towels, Ventilator, Wheelchair twice
            seen.add(item.code)
            items.append(item)
    items.sort(key=lambda item: item.code)
    groups = {item.code: _group(item.code, item.name) for item in items}
    units_of: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if group := groups[item.code]:
            units_of[group].add(item.base_unit)
    mixed = {group: sorted(units) for group, units in units_of.items() if len(units) > 1}
    if mixed:
        msg = f"substitution groups whose items have different base units: {mixed}"
        raise BuildError(msg)
    unused = {group for group, _ in GROUP_RULES} - units_of.keys()
    if unused:
        msg = f"substitution rules that match no item: {sorted(unused)}"
        raise BuildError(msg)
    return [item.as_json(groups[item.code]) for item in items]


def build() -> dict[Path, str]:
    """Each derived file and the text it should have."""
    lines = [json.dumps(item, ensure_ascii=False, sort_keys=True) for item in _catalogue()]
    catalogue = '{"items": [\n' + ",\n".join(lines) + "\n]}\n"
    return {CATALOGUE: catalogue}


def main() -> None:
    for path, text in build().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(DATA.parent.parent.parent)} ({len(text.encode()):,} bytes)")  # noqa: T201


if __name__ == "__main__":
    main()
