"""Revoking a source on the real stack: it can do nothing, not even withdraw its own need, until enabled.

The registry is changed as an operator changes it (``shared/sources.py``, which ``drx sources``
calls), while ingest runs; each change leaves an audit record with the operator as actor.
"""

from __future__ import annotations

from sqlalchemy import select

from shared import audit
from shared.db.models import AuditRecordRow
from shared.sources import enable_source, list_sources, remove_source, revoke_source
from tests.support import builders as b
from tests.support.cli import run_drx

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)
WITHDRAWAL = {"need_id": "n-rev", "revision": 2, "reason": "filled"}


async def _registry_records(ingest) -> list[tuple[str, str, str]]:
    async with ingest.worker.sessions() as session:
        rows = await session.scalars(
            select(AuditRecordRow).where(AuditRecordRow.entity_type == "source").order_by(AuditRecordRow.seq)
        )
        return [(r.actor, r.action, r.entity_id) for r in rows]


async def test_a_revoked_source_cannot_withdraw_its_need_until_it_is_enabled_again(ingest):
    await ingest.declare(b.crisis())
    await ingest.post("org.drx.need.posted", b.need("n-rev"), ORG)
    await ingest.wait_row("need", "n-rev")

    assert await revoke_source(ingest.settings, ORG, "principal leaked", actor="cli:ops")
    assert not await revoke_source(ingest.settings, ORG, "again", actor="cli:ops")  # once is enough
    await ingest.post("org.drx.need.withdrawn", WITHDRAWAL, ORG)
    (rejected,) = await ingest.wait_rejected(1)
    reason = rejected["data"]["reason"]
    assert reason.startswith(f"not authorised: source {ORG!r} was revoked on ")
    assert reason.endswith(" UTC: principal leaked")
    assert (await ingest.row("need", "n-rev")).status == "open"
    (listed,) = [s for s in await list_sources(ingest.settings.database) if s.source == ORG]
    assert listed.revoked_at is not None
    assert listed.revoked_reason == "principal leaked"

    assert await enable_source(ingest.settings, ORG, actor="cli:ops")
    await ingest.post("org.drx.need.withdrawn", WITHDRAWAL, ORG)
    assert (await ingest.wait_row("need", "n-rev", lambda r: r.status == "withdrawn")).revision == 2

    registry = (await _registry_records(ingest))[len(b.SOURCES) :]
    assert registry == [("cli:ops", "source.revoked", ORG), ("cli:ops", "source.enabled", ORG)]


async def test_a_removed_source_cannot_withdraw_what_it_posted(ingest):
    await ingest.declare(b.crisis())
    await ingest.post("org.drx.need.posted", b.need("n-rev"), ORG)
    await ingest.wait_row("need", "n-rev")
    await remove_source(ingest.settings, ORG)

    await ingest.post("org.drx.need.withdrawn", WITHDRAWAL, ORG)
    (rejected,) = await ingest.wait_rejected(1)
    assert rejected["data"]["reason"].startswith(f"not authorised: source {ORG!r} is not registered")
    assert (await ingest.row("need", "n-rev")).status == "open"
    removed = (await _registry_records(ingest))[len(b.SOURCES) :]
    assert removed == [(audit.cli_actor(), "source.removed", ORG)]


async def test_a_decision_names_the_deciding_source_s_registered_name_not_the_data_s(ingest):
    forged = {"match_id": "m-1", "decision": "confirm", "decided_by": "Head of the UN, personally"}
    await ingest.post("org.drx.match.decided", forged, COORD)
    await ingest.out.wait_for(
        lambda rs: any(r["type"] == "org.drx.decision.recorded" for r in rs), what="the decision"
    )
    (recorded,) = ingest.out.of_type("org.drx.decision.recorded")
    assert recorded["data"]["decided_by"] == b.COORDINATOR[3]
    assert recorded["data"]["source"] == COORD


def test_drx_sources_revoke_list_and_enable(database):
    env = {"DRX_DATABASE_URL": database.url, "DRX_LOG_LEVEL": "WARNING", "COLUMNS": "250"}
    added = run_drx("sources", "add", ORG, "--role", "organisation", "--party", "x", "--name", "X", env=env)
    assert added.returncode == 0, added.stderr
    revoked = run_drx("sources", "revoke", ORG, "--reason", "principal leaked", env=env)
    assert revoked.returncode == 0, revoked.stderr
    listed = run_drx("sources", "list", env=env)
    assert "revoked" in listed.stdout
    assert "principal leaked" in listed.stdout
    enabled = run_drx("sources", "enable", ORG, env=env)
    assert enabled.returncode == 0, enabled.stderr
    assert "revoked" not in run_drx("sources", "list", env=env).stdout
    unknown = run_drx("sources", "revoke", "urn:drx:org:nobody", env=env)
    assert unknown.returncode == 2
    assert "not registered" in unknown.stderr
