"""Checking the chain: each record's hash, its link to the one before, no gaps; and against a copy.

:class:`ChainVerifier` is pure and streams, so ``drx audit verify`` walks a chain of any length in
one database snapshot (:func:`verify_database`). The chain alone cannot see its tail removed, or
rewritten hashes and all, by someone who can write the database; the signed checkpoints on the
audit topic can (:mod:`shared.audit.anchor`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.chain import GENESIS_HASH, AuditRecord
from shared.audit.export import iter_records

__all__ = [
    "ChainProblem",
    "ChainReport",
    "ChainVerifier",
    "ProblemKind",
    "verify_chain",
    "verify_database",
]

ProblemKind = Literal["gap", "out of order", "hash mismatch", "broken link"]


@dataclasses.dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first record where the chain breaks, and how."""

    seq: int
    entity_type: str
    entity_id: str
    action: str
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        where = f"{self.entity_type} {self.entity_id}, {self.action}"
        return f"record {self.seq} ({where}): {self.kind}: {self.detail}"


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    """What :func:`verify_database` found: records checked, the last good hash, the first problem."""

    count: int
    last_hash: str
    problem: ChainProblem | None


def _short(digest: str) -> str:
    return f"{digest[:16]}…"


class ChainVerifier:
    """Checks records fed in ``seq`` order, one at a time (so a large chain streams through)."""

    def __init__(self) -> None:
        self.count = 0
        self.last_hash = GENESIS_HASH
        self._next_seq = 1

    def check(self, rec: AuditRecord) -> ChainProblem | None:
        """None when ``rec`` continues the chain; otherwise what is wrong with it."""

        def problem(kind: ProblemKind, detail: str) -> ChainProblem:
            return ChainProblem(rec.seq, rec.entity_type, rec.entity_id, rec.action, kind, detail)

        expected = self._next_seq
        if rec.seq > expected:
            missing = (
                f"record {expected} is"
                if rec.seq == expected + 1
                else f"records {expected}-{rec.seq - 1} are"
            )
            return problem("gap", f"{missing} missing (deleted?)")
        if rec.seq < expected:
            return problem("out of order", f"expected record {expected} next, found {rec.seq}")
        computed = rec.computed_hash()
        if computed != rec.hash:
            return problem(
                "hash mismatch",
                f"stored hash {_short(rec.hash)} but its content hashes to {_short(computed)}: "
                "the record was changed after it was written",
            )
        if rec.prev_hash != self.last_hash:
            before = f"record {rec.seq - 1}'s hash" if rec.seq > 1 else "the genesis hash (64 zeros)"
            return problem(
                "broken link",
                f"prev_hash {_short(rec.prev_hash)} is not {before} {_short(self.last_hash)}: "
                "a record before it was rewritten or replaced",
            )
        self.count += 1
        self.last_hash = rec.hash
        self._next_seq += 1
        return None


def verify_chain(records: Iterable[AuditRecord]) -> ChainReport:
    """Check a whole chain given in ``seq`` order, starting at record 1."""
    verifier = ChainVerifier()
    for rec in records:
        if (found := verifier.check(rec)) is not None:
            return ChainReport(verifier.count, verifier.last_hash, found)
    return ChainReport(verifier.count, verifier.last_hash, None)


async def verify_database(session: AsyncSession, *, batch_size: int = 1000) -> ChainReport:
    """Walk the whole chain in ``seq`` order in one snapshot and report the first problem, if any."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    verifier = ChainVerifier()
    async for rec in iter_records(session, batch_size=batch_size):
        if (found := verifier.check(rec)) is not None:
            return ChainReport(verifier.count, verifier.last_hash, found)
    return ChainReport(verifier.count, verifier.last_hash, None)
