"""The audit chain without a database: hash recipe, verification, export formats, queueing."""

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared import audit
from shared.audit import GENESIS_HASH, AuditEntry, chain, verify_chain
from shared.audit.entry import MAX_STATE_BYTES, MAX_TEXT_CHARS, safe_entry
from shared.config import DatabaseSettings
from shared.db.session import create_engine, create_session_factory

T0 = dt.datetime(2026, 11, 24, 9, 30, 1, 250000, tzinfo=dt.UTC)
DOCS = Path(__file__).parents[3] / "docs" / "audit.md"


def entries(n: int) -> list[tuple[AuditEntry, dt.datetime]]:
    return [
        (
            AuditEntry(
                actor="urn:drx:org:trc",
                action="need.revised" if i else "need.accepted",
                entity_type="need",
                entity_id=f"need-{i % 3}",
                before={"quantity": Decimal(i)} if i else None,
                after={"quantity": Decimal(i + 1), "needed_by": dt.date(2026, 12, 1)},
                causing_event_id=f"n-{i}",
                correlation_id=f"c-{i}",
            ),
            T0 + dt.timedelta(seconds=i),
        )
        for i in range(n)
    ]


class TestHashRecipe:
    def test_a_record_hashes_as_documented(self):
        """The recipe in docs/audit.md, written out by hand for one record."""
        (rec,) = chain(entries(1))
        canonical = (
            '{"action":"need.accepted","actor":"urn:drx:org:trc",'
            '"after":{"needed_by":"2026-12-01","quantity":"1"},"at":"2026-11-24T09:30:01.250000Z",'
            '"before":null,"causing_event_id":"n-0","correlation_id":"c-0","entity_id":"need-0",'
            f'"entity_type":"need","prev_hash":"{"0" * 64}","seq":1}}'
        )
        assert rec.seq == 1
        assert rec.prev_hash == GENESIS_HASH
        assert rec.hash == hashlib.sha256(canonical.encode()).hexdigest()

    def test_records_link_to_the_previous_hash(self):
        records = chain(entries(3), last_seq=41, last_hash="a" * 64)
        assert [r.seq for r in records] == [42, 43, 44]
        assert records[0].prev_hash == "a" * 64
        assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]

    def test_times_are_utc_with_microseconds(self):
        at = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
        assert audit.format_at(at) == "2026-11-24T09:00:00.000000Z"

    def test_non_ascii_is_hashed_as_utf8(self):
        (rec,) = chain([(AuditEntry("cli:zoë", "source.added", "source", "urn:drx:org:ihh"), T0)])
        assert '"actor":"cli:zoë"'.encode() in audit.canonical_json(rec.hashed_fields())


class TestJsonSafe:
    def test_values_become_json_strings(self):
        safe = audit.json_safe(
            {"amount": Decimal("20000.50"), "on": dt.date(2026, 1, 2), 3: (1, 2), "at": T0}
        )
        assert safe == {
            "amount": "20000.50",
            "on": "2026-01-02",
            "3": [1, 2],
            "at": "2026-11-24T09:30:01.250000Z",
        }

    def test_the_hash_survives_a_json_round_trip(self):
        """What JSONB gives back hashes like what was written (integral floats become integers)."""
        (rec,) = chain([(AuditEntry("a", "x.y", "t", "1", after={"f": 1e16, "g": 0.1, "h": 2.0}), T0)])
        assert rec.after == {"f": 10**16, "g": 0.1, "h": 2}
        back = dataclasses.replace(rec, after=json.loads(json.dumps(rec.after)))
        assert back.computed_hash() == rec.hash

    def test_nan_is_refused(self):
        with pytest.raises(ValueError, match="nan"):
            audit.json_safe({"x": float("nan")})

    def test_characters_postgresql_cannot_store_are_replaced(self):
        assert audit.json_safe({"k\x00": "a\x00b\ud800"}) == {"k\ufffd": "a\ufffdb?"}


def tamper(records, seq, **changes):
    return [dataclasses.replace(r, **changes) if r.seq == seq else r for r in records]


class TestVerification:
    def test_an_intact_chain_verifies(self):
        records = chain(entries(5))
        report = verify_chain(records)
        assert report.problem is None
        assert report.count == 5
        assert report.last_hash == records[-1].hash

    def test_an_empty_chain_verifies(self):
        assert verify_chain([]) == audit.ChainReport(0, GENESIS_HASH, None)

    def test_a_changed_field_is_a_hash_mismatch_at_that_record(self):
        records = tamper(chain(entries(5)), 3, after={"quantity": "4000"})
        problem = verify_chain(records).problem
        assert problem is not None
        assert (problem.seq, problem.kind, problem.entity_id) == (3, "hash mismatch", "need-2")
        assert "record 3 (need need-2, need.revised): hash mismatch" in str(problem)

    def test_a_changed_record_with_a_recomputed_hash_breaks_the_next_link(self):
        records = chain(entries(5))
        forged = dataclasses.replace(records[2], actor="someone else")
        forged = dataclasses.replace(forged, hash=forged.computed_hash())
        problem = verify_chain([*records[:2], forged, *records[3:]]).problem
        assert problem is not None
        assert (problem.seq, problem.kind) == (4, "broken link")

    def test_a_deleted_record_is_a_gap_at_the_next(self):
        records = chain(entries(5))
        problem = verify_chain([r for r in records if r.seq != 3]).problem
        assert problem is not None
        assert (problem.seq, problem.kind) == (4, "gap")
        assert "record 3 is missing" in problem.detail

    def test_a_deleted_first_record_is_a_gap(self):
        problem = verify_chain(chain(entries(3))[1:]).problem
        assert problem is not None
        assert (problem.seq, problem.kind) == (2, "gap")

    def test_records_fed_out_of_order_are_caught(self):
        r = chain(entries(5))
        problem = verify_chain([r[0], r[2], r[1], r[3], r[4]]).problem
        assert problem is not None
        assert (problem.seq, problem.kind) == (3, "gap")
        problem = verify_chain([r[0], r[1], r[1]]).problem
        assert problem is not None
        assert problem.kind == "out of order"

    def test_swapped_contents_under_kept_numbers_are_caught(self):
        """Renumbering two records so they trade places changes what each one's hash covers."""
        r = chain(entries(5))
        swapped = [r[0], dataclasses.replace(r[2], seq=2), dataclasses.replace(r[1], seq=3), r[3], r[4]]
        problem = verify_chain(swapped).problem
        assert problem is not None
        assert (problem.seq, problem.kind) == (2, "hash mismatch")

    def test_a_broken_link_on_the_first_record(self):
        first = dataclasses.replace(chain(entries(1))[0], prev_hash="f" * 64)
        first = dataclasses.replace(first, hash=first.computed_hash())
        problem = verify_chain([first]).problem
        assert problem is not None
        assert (problem.seq, problem.kind) == (1, "broken link")
        assert "genesis" in problem.detail


class TestExport:
    def test_csv_has_a_header_an_hxl_row_and_one_row_per_record(self):
        records = chain(entries(2))
        out = io.StringIO()
        assert audit.write_csv(records, out) == 2
        rows = list(csv.reader(io.StringIO(out.getvalue())))
        assert rows[0] == list(audit.CSV_COLUMNS)
        assert rows[1] == [
            "#meta+seq",
            "#date",
            "#meta+actor",
            "#meta+action",
            "#meta+entity+type",
            "#meta+entity+id",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        first = dict(zip(rows[0], rows[2], strict=True))
        assert first["seq"] == "1"
        assert first["at"] == "2026-11-24T09:30:01.250000Z"
        assert first["before"] == ""
        assert json.loads(first["after"]) == {"needed_by": "2026-12-01", "quantity": "1"}
        assert first["hash"] == records[0].hash
        assert len(rows) == 4

    def test_every_hxl_tag_is_well_formed(self):
        for tag in audit.HXL_TAGS.values():
            assert re.fullmatch(r"#[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*", tag), tag

    def test_jsonl_lines_carry_every_field(self):
        records = chain(entries(2))
        line = json.loads(audit.jsonl_line(records[1]))
        assert list(line) == list(audit.CSV_COLUMNS)
        assert line["before"] == {"quantity": "1"}
        assert line["hash"] == records[1].hash

    def test_the_documented_script_verifies_a_jsonl_export(self):
        """The stand-alone script in docs/audit.md (no drx code) accepts an export and catches a change."""
        script = re.search(r"```python\n(.*?hashlib.*?)```", DOCS.read_text(), flags=re.DOTALL)
        assert script is not None
        records = chain(entries(4))
        good = "".join(audit.jsonl_line(r) + "\n" for r in records)
        run = subprocess.run(
            [sys.executable, "-c", script.group(1)], input=good, capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr
        assert f"4 records verify, last hash {records[-1].hash}" in run.stdout
        bad = good.replace('"quantity":"3"', '"quantity":"30"', 1)
        run = subprocess.run(
            [sys.executable, "-c", script.group(1)], input=bad, capture_output=True, text=True, check=False
        )
        assert run.returncode == 1
        assert "record 3" in run.stderr


def audited_session() -> AsyncSession:
    """A session (bound to nothing) from a factory with the audit hooks."""
    return audit.install(async_sessionmaker())()


class TestRecord:
    def test_entries_wait_on_the_session_until_commit(self):
        session = audited_session()
        audit.record(session, "drx.", AuditEntry("a", "x.y", "t", "1", after={"n": Decimal("1.5")}), at=T0)
        (pending,) = session.sync_session.info["drx.audit.pending"]
        assert pending.entry.after == {"n": "1.5"}
        assert pending.at == T0

    def test_a_naive_time_is_refused(self):
        naive = dt.datetime(2026, 1, 1)  # noqa: DTZ001
        with pytest.raises(ValueError, match="timezone-aware"):
            audit.record(audited_session(), "drx.", AuditEntry("a", "x.y", "t", "1"), at=naive)

    @pytest.mark.parametrize("session", [AsyncSession, async_sessionmaker()], ids=["bare", "not installed"])
    def test_a_session_without_the_hooks_is_refused_rather_than_losing_the_entry(self, session):
        plain = session()
        with pytest.raises(audit.AuditNotInstalledError, match="no audit hooks"):
            audit.record(plain, "drx.", AuditEntry("a", "x.y", "t", "1"), at=T0)
        assert "drx.audit.pending" not in plain.sync_session.info

    def test_cli_actor(self):
        assert audit.cli_actor("alice") == "alice"
        assert audit.cli_actor(None).startswith("cli:")

    def test_the_event_is_an_audit_recorded_envelope(self):
        (rec,) = chain(entries(1))
        event = rec.event()
        assert (event.id, event.type, event.source) == (
            "audit:1",
            "org.drx.audit.recorded",
            audit.AUDIT_SOURCE,
        )
        assert event.data["hash"] == rec.hash
        assert event.subject == "need/need-0"
        assert event.correlationid == "c-0"


class TestInstall:
    """The hooks go on one factory's sessions, explicitly; never on SQLAlchemy's Session class."""

    def _hooked(self, session: AsyncSession | Session) -> bool:
        sync = session.sync_session if isinstance(session, AsyncSession) else session
        return any(hook.__module__ == "shared.audit.record" for hook in sync.dispatch.before_commit)

    def test_only_the_installed_factory_gets_the_hooks(self):
        installed, other = audit.install(async_sessionmaker()), async_sessionmaker()
        assert self._hooked(installed())
        assert not self._hooked(other())
        assert not self._hooked(AsyncSession())
        assert not self._hooked(Session())  # SQLAlchemy's own class is left alone

    def test_installing_twice_hooks_once(self):
        factory = audit.install(async_sessionmaker(expire_on_commit=False))
        session_class = factory.kw["sync_session_class"]
        assert audit.install(factory) is factory
        assert factory.kw["sync_session_class"] is session_class
        assert len(list(factory().sync_session.dispatch.before_commit)) == 1
        assert factory().sync_session.expire_on_commit is False  # the factory's own settings stay

    def test_drx_session_factory_installs_them(self):
        engine = create_engine(DatabaseSettings(url="postgresql+psycopg://drx@localhost/drx"))
        assert self._hooked(create_session_factory(engine)())


def test_an_oversized_state_is_summarised_by_its_size_and_digest():
    after = {"earmarks": {"crises": [f"crisis-{i}" for i in range(30_000)]}}
    entry = safe_entry(AuditEntry("urn:drx:donor:x", "pledge.accepted", "pledge", "p-1", after=after))
    assert entry.after is not None
    assert entry.after["omitted"] == f"larger than the audit limit of {MAX_STATE_BYTES} bytes"
    assert entry.after["bytes"] > MAX_STATE_BYTES
    assert len(entry.after["sha256"]) == 64
    small = safe_entry(AuditEntry("a", "b", "c", "d", after={"x": 1}))
    assert small.after == {"x": 1}


def test_overlong_names_in_an_entry_are_cut():
    entry = safe_entry(
        AuditEntry("a" * 10_000, "need.accepted", "need", "n" * 10_000, causing_event_id="e" * 9999)
    )
    assert len(entry.actor) == len(entry.entity_id) == MAX_TEXT_CHARS
    assert entry.causing_event_id is not None
    assert len(entry.causing_event_id) == MAX_TEXT_CHARS
    assert entry.actor.endswith("…")
