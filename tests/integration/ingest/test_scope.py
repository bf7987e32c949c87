"""Coordinator scopes on the real stack: crises are closed only within them, and needs lie in their crisis.

The scope is changed as an operator changes it (``shared/sources.py``, which ``drx sources scope``
calls), while ingest runs; each change leaves an audit record.
"""

from __future__ import annotations

from sqlalchemy import select

from shared.db.models import AuditRecordRow
from shared.scope import Scope
from shared.sources import ScopeChange, add_source, change_scope
from tests.support import builders as b
from tests.support.cli import run_drx

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)
NEPAL_COORD = b.NEPAL_COORDINATOR[0]
NEPAL = b.crisis("eq-npl-2026", name="Earthquake in Nepal", countries=["NPL"], areas=[], glide=None)


async def _register_nepal_desk(settings) -> None:
    await add_source(settings, *b.NEPAL_COORDINATOR, scope=b.SCOPES[NEPAL_COORD], actor="cli:ops")


async def test_a_coordinator_closes_a_crisis_in_its_scope_and_is_refused_outside_it(ingest):
    await _register_nepal_desk(ingest.settings)
    await ingest.declare(b.crisis())  # TUR and SYR: the test coordinator's countries
    await ingest.post("org.drx.need.posted", b.need("n-tur"), ORG)
    await ingest.wait_row("need", "n-tur")

    await ingest.post("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}, NEPAL_COORD)
    (refused,) = await ingest.wait_rejected(1)
    assert refused["data"]["reason"] == (
        "not authorised: urn:drx:coord:npl-desk may act only within crises [] and countries [NPL]; "
        "crisis eq-tur-2026 (TUR, SYR) is outside it"
    )
    assert (await ingest.row("crisis", "eq-tur-2026")).status == "active"
    assert (await ingest.row("need", "n-tur")).status == "open"

    await ingest.post("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}, COORD)
    await ingest.wait_row("crisis", "eq-tur-2026", lambda row: row.status == "closed")
    await ingest.wait_row("need", "n-tur", lambda row: row.status == "closed")


async def test_a_crisis_assigned_by_id_may_be_closed_once_the_operator_assigns_it(ingest):
    await _register_nepal_desk(ingest.settings)
    await ingest.declare(b.crisis())
    change = ScopeChange(add_crises=("eq-tur-2026",))
    assert await change_scope(ingest.settings, NEPAL_COORD, change, actor="cli:ops") == Scope.of(
        crises=("eq-tur-2026",), countries=("NPL",)
    )
    assert await change_scope(ingest.settings, NEPAL_COORD, change, actor="cli:ops") is None  # no change

    await ingest.post("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}, NEPAL_COORD)
    await ingest.wait_row("crisis", "eq-tur-2026", lambda row: row.status == "closed")
    async with ingest.worker.sessions() as session:
        rows = await session.scalars(
            select(AuditRecordRow).where(
                AuditRecordRow.entity_id == NEPAL_COORD, AuditRecordRow.action == "source.scope_changed"
            )
        )
        (record,) = rows
    assert record.actor == "cli:ops"
    assert record.before["scope"] == {"crises": [], "countries": ["NPL"], "all": False}
    assert record.after["scope"] == {"crises": ["eq-tur-2026"], "countries": ["NPL"], "all": False}


async def test_a_need_in_paris_is_refused_for_the_nepal_earthquake(ingest):
    await _register_nepal_desk(ingest.settings)
    await ingest.post("org.drx.crisis.declared", NEPAL, NEPAL_COORD)
    await ingest.wait_row("crisis", "eq-npl-2026")
    paris = b.need("n-paris", crisis_id="eq-npl-2026", place={"country": "FRA", "name": "Paris"})
    await ingest.post("org.drx.need.posted", paris, ORG)
    (refused,) = await ingest.wait_rejected(1)
    assert refused["data"]["reason"] == (
        "data.place.country: the need is in Paris, FRA (France), outside crisis 'eq-npl-2026' "
        "(Earthquake in Nepal), which covers Nepal (NPL)"
    )
    kathmandu = b.need("n-ktm", crisis_id="eq-npl-2026", place={"country": "NPL", "name": "Kathmandu"})
    await ingest.post("org.drx.need.posted", kathmandu, ORG)
    await ingest.wait_row("need", "n-ktm")
    assert await ingest.row("need", "n-paris") is None


def test_drx_sources_add_scope_and_list(database):
    env = {"DRX_DATABASE_URL": database.url, "DRX_LOG_LEVEL": "WARNING", "COLUMNS": "250"}
    args = ("--role", "coordinator", "--party", "npl", "--name", "Nepal desk")
    added = run_drx("sources", "add", NEPAL_COORD, *args, "--country", "npl", "--crisis", "c-1", env=env)
    assert added.returncode == 0, added.stderr
    assert "crises [c-1] and countries [NPL]" in run_drx("sources", "list", env=env).stdout

    changed = run_drx(
        "sources", "scope", NEPAL_COORD, "--remove-crisis", "c-1", "--add-country", "IND", env=env
    )
    assert changed.returncode == 0, changed.stderr
    assert "crises [] and countries [IND, NPL]" in changed.stdout
    assert "every crisis and country" in run_drx("sources", "scope", NEPAL_COORD, "--all", env=env).stdout
    assert "countries [IND, NPL]" in run_drx("sources", "scope", NEPAL_COORD, "--no-all", env=env).stdout

    bad = run_drx("sources", "scope", NEPAL_COORD, "--add-country", "XXX", env=env)
    assert bad.returncode == 2
    assert "'XXX' is not an ISO 3166-1 alpha-3 country code" in bad.stderr
    run_drx("sources", "add", ORG, "--role", "organisation", "--party", "x", "--name", "X", env=env)
    not_coordinator = run_drx("sources", "scope", ORG, "--add-country", "TUR", env=env)
    assert not_coordinator.returncode == 2
    assert "only coordinators have a scope" in not_coordinator.stderr
    unknown = run_drx("sources", "scope", "urn:drx:coord:nobody", "--all", env=env)
    assert unknown.returncode == 2
    assert "not registered" in unknown.stderr
