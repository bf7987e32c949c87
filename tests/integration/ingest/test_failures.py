"""A record that makes ingest fail is refused with the failure as its reason; the ones behind it flow.

Real Kafka and PostgreSQL; the failure nobody foresaw is a bug planted in the repository's save,
since every failure we know of has its own rule and reason by now.
"""

from __future__ import annotations

from services.ingest.repository import IngestRepository
from tests.support import builders as b

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)


async def test_an_unforeseen_failure_refuses_its_record_after_three_attempts(ingest, monkeypatch):
    save = IngestRepository.save
    attempts = 0

    async def broken_save(self, record, **kwargs):
        nonlocal attempts
        if getattr(record, "need_id", None) == "n-bug":
            attempts += 1
            raise RuntimeError("a planted bug saving n-bug")
        return await save(self, record, **kwargs)

    monkeypatch.setattr(IngestRepository, "save", broken_save)
    await ingest.declare(b.crisis())
    # The same key: the need behind the failing one waits on the same partition.
    for need_id in ("n-bug", "n-ok"):
        document = b.envelope("org.drx.need.posted", b.need(need_id), ORG)
        await ingest.send_raw("org.drx.need.posted", b.encode(document), key="one-partition")

    await ingest.wait_row("need", "n-ok")
    (refusal,) = await ingest.wait_rejected(1)
    reason = refusal["data"]["reason"]
    assert reason.startswith(
        "could not be applied after 3 attempts: RuntimeError: a planted bug saving n-bug"
    )
    assert "replay" in reason
    assert refusal["data"]["event_type"] == "org.drx.need.posted"
    assert await ingest.row("need", "n-bug") is None
    assert attempts >= 3  # each delivery of the record tried it once alone (and once in its batch)
