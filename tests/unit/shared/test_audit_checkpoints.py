"""Signed checkpoints without Kafka or a database: keys, signatures, verdicts on a topic's messages."""

import base64
import dataclasses
import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from services.cli.audit import audit_app
from shared import audit
from shared.audit import Checkpoint, SigningKeyError, anchor_report, chain, sign
from shared.audit.anchor import TopicMessage, sort_messages
from shared.audit.checkpoint import checkpoint_from_data, signature_problem
from shared.config import SettingsError, load_settings
from shared.events.docs import envelope_model
from shared.events.registry import EVENT_TYPES
from shared.kafka.topics import AUDIT

T0 = dt.datetime(2026, 11, 24, 9, 30, 1, 250000, tzinfo=dt.UTC)
KEY = audit.new_signing_key()
KEYS = audit.load_verify_keys(audit.public_key_text(KEY.public_key()))


def records(n: int, **after) -> list[audit.AuditRecord]:
    entries = [
        (
            audit.AuditEntry("urn:drx:org:trc", "need.revised", "need", f"need-{i}", after={"q": i, **after}),
            T0,
        )
        for i in range(1, n + 1)
    ]
    return chain(entries)


def hashes(recs: list[audit.AuditRecord]) -> dict[int, str]:
    return {r.seq: r.hash for r in recs}


class Messages:
    """Builds what the audit topic holds, with offsets, on partition 0."""

    def __init__(self) -> None:
        self.items: list[TopicMessage] = []

    def add(self, value: bytes | None) -> None:
        self.items.append(TopicMessage(0, len(self.items), value))

    def records(self, recs: list[audit.AuditRecord]) -> None:
        for rec in recs:
            self.add(rec.event().model_dump_json().encode())

    def checkpoint(self, cp: Checkpoint) -> None:
        self.add(audit.checkpoint_event(cp).model_dump_json().encode())


class TestKeys:
    def test_a_pem_key_and_its_raw_bytes_load_as_the_same_key(self):
        pem = audit.private_key_pem(KEY)
        raw = KEY.private_bytes_raw()
        assert audit.key_id_of(audit.load_signing_key(pem).public_key()) == audit.key_id_of(KEY.public_key())
        assert audit.key_id_of(audit.load_signing_key(raw).public_key()) == audit.key_id_of(KEY.public_key())

    @pytest.mark.parametrize(
        "data", [b"", b"short", b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"]
    )
    def test_what_is_not_a_key_is_refused_with_a_reason(self, data):
        with pytest.raises(SigningKeyError):
            audit.load_signing_key(data)

    def test_several_verify_keys_are_known_by_their_ids(self):
        other = audit.new_signing_key()
        text = f"{audit.public_key_text(KEY.public_key())}, {audit.public_key_text(other.public_key())}"
        assert set(audit.load_verify_keys(text)) == {
            audit.key_id_of(KEY.public_key()),
            audit.key_id_of(other.public_key()),
        }

    @pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(b"x" * 31).decode()])
    def test_a_bad_verify_key_is_refused(self, text):
        with pytest.raises(SigningKeyError):
            audit.load_verify_keys(text)


class TestSignature:
    def test_a_signed_checkpoint_verifies_and_survives_its_event(self):
        cp = sign(KEY, 7, "ab" * 32, T0)
        assert signature_problem(cp, KEYS) is None
        event = json.loads(audit.checkpoint_event(cp).model_dump_json())
        again = checkpoint_from_data(event["data"])
        assert again == cp
        assert again is not None
        assert signature_problem(again, KEYS) is None

    @pytest.mark.parametrize(
        "change", [{"seq": 8}, {"hash": "cd" * 32}, {"at": T0 + dt.timedelta(microseconds=1)}]
    )
    def test_changing_any_signed_field_breaks_the_signature(self, change):
        forged = dataclasses.replace(sign(KEY, 7, "ab" * 32, T0), **change)
        assert "does not verify" in (signature_problem(forged, KEYS) or "")

    def test_a_checkpoint_signed_with_another_key_is_not_trusted(self):
        cp = sign(audit.new_signing_key(), 7, "ab" * 32, T0)
        assert "not a configured verify key" in (signature_problem(cp, KEYS) or "")

    def test_the_event_is_the_registered_contract(self):
        event = json.loads(audit.checkpoint_event(sign(KEY, 7, "ab" * 32, T0)).model_dump_json())
        envelope_model(EVENT_TYPES[audit.CHECKPOINT_EVENT_TYPE]).model_validate(event)

    def test_the_signature_covers_a_drx_specific_context(self):
        cp = sign(KEY, 7, "ab" * 32, T0)
        assert cp.signed_bytes().startswith(b"drx audit checkpoint v1\n")


class TestAnchorReport:
    def test_a_chain_matching_its_checkpoints_reports_what_is_not_yet_covered(self):
        recs = records(10)
        topic = Messages()
        topic.records(recs[:4])
        topic.checkpoint(sign(KEY, 4, recs[3].hash, T0))
        topic.records(recs[4:7])
        topic.checkpoint(sign(KEY, 7, recs[6].hash, T0 + dt.timedelta(minutes=15)))
        report = anchor_report(hashes(recs), 10, topic.items, KEYS)
        assert report.rewritten is None
        assert report.ignored == []
        assert report.record_events == 7
        assert report.last_checkpoint is not None
        assert report.last_checkpoint.seq == 7
        assert report.uncovered == 3

    def test_a_rewritten_and_rechained_database_contradicts_the_signed_checkpoint(self):
        honest = records(10)
        topic = Messages()
        topic.checkpoint(sign(KEY, 5, honest[4].hash, T0))
        topic.checkpoint(sign(KEY, 9, honest[8].hash, T0))
        # the attacker's chain: record 3 onwards rewritten, every hash after it recomputed
        rewritten = honest[:2] + chain(
            [
                (audit.AuditEntry(r.actor, r.action, r.entity_type, r.entity_id, after={"q": 0}), r.at)
                for r in honest[2:]
            ],
            last_seq=2,
            last_hash=honest[1].hash,
        )
        assert audit.verify_chain(rewritten).problem is None  # consistent on its own
        topic.records(rewritten)  # and re-published, unsigned, through the outbox
        report = anchor_report(hashes(rewritten), 10, topic.items, KEYS)
        assert report.rewritten is not None
        assert report.rewritten.startswith(
            "the database was rewritten: record 5's hash differs from signed checkpoint "
            "at 2026-11-24T09:30:01.250000Z"
        )
        assert report.ignored == []

    def test_a_removed_tail_under_a_checkpoint_is_a_rewrite(self):
        recs = records(6)
        topic = Messages()
        topic.checkpoint(sign(KEY, 6, recs[5].hash, T0))
        report = anchor_report(hashes(recs[:3]), 3, topic.items, KEYS)
        assert report.rewritten is not None
        assert "record 6 is missing" in report.rewritten

    def test_unsigned_and_badly_signed_messages_are_ignored_and_named_not_failures(self):
        recs = records(3)
        topic = Messages()
        topic.records(recs)
        topic.checkpoint(sign(KEY, 3, recs[2].hash, T0))
        topic.add(b"not json at all")  # offset 4
        topic.add(None)  # offset 5, a tombstone
        forged = dataclasses.replace(
            sign(audit.new_signing_key(), 2, "00" * 32, T0), key_id=audit.key_id_of(KEY.public_key())
        )
        topic.checkpoint(forged)  # offset 6: claims our key, signed with another
        topic.checkpoint(sign(audit.new_signing_key(), 1, "11" * 32, T0))  # offset 7: an unknown key
        event = audit.checkpoint_event(sign(KEY, 1, recs[0].hash, T0)).model_copy(update={"data": {"seq": 1}})
        topic.add(event.model_dump_json().encode())  # offset 8: malformed
        other = audit.checkpoint_event(sign(KEY, 1, recs[0].hash, T0)).model_copy(update={"type": "org.evil"})
        topic.add(other.model_dump_json().encode())  # offset 9: not drx's

        report = anchor_report(hashes(recs), 3, topic.items, KEYS)
        assert report.rewritten is None
        assert [m.offset for m in report.ignored] == [4, 5, 6, 7, 8, 9]
        assert str(report.ignored[0]).startswith(
            "unsigned or badly signed message on the audit topic at partition 0 offset 4 (ignored)"
        )
        assert "does not verify" in report.ignored[2].reason
        assert "not a configured verify key" in report.ignored[3].reason
        assert report.uncovered == 0

    def test_a_forged_record_event_is_neither_trusted_nor_a_failure(self):
        recs = records(3)
        topic = Messages()
        topic.checkpoint(sign(KEY, 3, recs[2].hash, T0))
        topic.records([dataclasses.replace(recs[1], hash="ff" * 32)])
        report = anchor_report(hashes(recs), 3, topic.items, KEYS)
        assert report.rewritten is None
        assert report.record_events == 1

    def test_no_checkpoint_leaves_the_whole_chain_uncovered(self):
        recs = records(4)
        topic = Messages()
        topic.records(recs)
        report = anchor_report(hashes(recs), 4, topic.items, KEYS)
        assert report.last_checkpoint is None
        assert report.uncovered == 4
        assert sort_messages(topic.items, KEYS).checkpoints == []


def test_the_audit_topic_is_kept_for_ever_and_never_compacted():
    configs = dict(AUDIT.configs)
    assert configs["retention.ms"] == "-1"
    assert configs["retention.bytes"] == "-1"
    assert configs["cleanup.policy"] == "delete"


class TestSettings:
    def test_the_key_file_and_public_keys_come_from_the_environment(self, monkeypatch, tmp_path):
        monkeypatch.setenv("DRX_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "k.pem"))
        monkeypatch.setenv("DRX_AUDIT_VERIFY_KEY", audit.public_key_text(KEY.public_key()))
        settings = load_settings()
        assert settings.audit.signing_key_file == tmp_path / "k.pem"
        assert settings.audit.verify_key is not None
        assert set(audit.load_verify_keys(settings.audit.verify_key)) == set(KEYS)

    def test_a_bad_interval_names_its_variable(self, monkeypatch):
        monkeypatch.setenv("DRX_AUDIT_CHECKPOINT_EVERY_MIN", "0")
        with pytest.raises(SettingsError, match="DRX_AUDIT_CHECKPOINT_EVERY_MIN"):
            load_settings()

    def test_no_key_file_means_no_signer(self, monkeypatch):
        for name in ("DRX_AUDIT_SIGNING_KEY_FILE", "DRX_AUDIT_VERIFY_KEY"):
            monkeypatch.delenv(name, raising=False)
        settings = load_settings()
        assert settings.audit.signing_key_file is None
        assert settings.audit.verify_key is None


class TestKeyCommands:
    def test_keygen_writes_a_private_file_and_prints_the_public_key(self, tmp_path):
        path = tmp_path / "k.pem"
        result = CliRunner().invoke(audit_app, ["keygen", "--output", str(path)])
        assert result.exit_code == 0, result.output
        assert path.stat().st_mode & 0o777 == 0o600
        key = audit.load_signing_key(path.read_bytes())
        assert f"DRX_AUDIT_VERIFY_KEY={audit.public_key_text(key.public_key())}" in result.output
        assert f"key id {audit.key_id_of(key.public_key())}" in result.output

    def test_keygen_never_overwrites_a_key(self, tmp_path):
        path = tmp_path / "k.pem"
        path.write_bytes(b"the old key")
        result = CliRunner().invoke(audit_app, ["keygen", "--output", str(path)])
        assert result.exit_code == 2
        assert path.read_bytes() == b"the old key"

    def test_checkpoint_refuses_a_file_that_is_not_a_key_before_connecting(self, tmp_path):
        path = tmp_path / "k.pem"
        path.write_bytes(b"not a key")
        result = CliRunner().invoke(audit_app, ["checkpoint", "--key-file", str(path)])
        assert result.exit_code == 2
        assert "neither PEM nor 32 raw bytes" in result.output

    def test_checkpoint_needs_a_key(self, monkeypatch):
        monkeypatch.delenv("DRX_AUDIT_SIGNING_KEY_FILE", raising=False)
        result = CliRunner().invoke(audit_app, ["checkpoint"])
        assert result.exit_code == 2
        assert "DRX_AUDIT_SIGNING_KEY_FILE" in result.output
