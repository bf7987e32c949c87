"""Checking the chain against the signed checkpoints on the audit topic: pure, given the messages.

Anyone who can reach Kafka can write to the audit topic, and anyone who can rewrite PostgreSQL
can make the outbox re-publish a rewritten chain. So the only messages trusted here are
checkpoints whose Ed25519 signature verifies with a configured public key
(:mod:`shared.audit.checkpoint`). Everything else is sorted, not believed:

- ``org.drx.audit.recorded`` events are the chain's unsigned copy for consumers: counted, not
  compared (a forged one proves nothing either way);
- any other message, or a checkpoint that is malformed or badly signed, is **ignored** and named
  by partition and offset: someone wrote to the topic who should not have, which is worth an
  operator's look, but it says nothing about the database and does not fail verification;
- each trusted checkpoint says record ``seq`` had hash ``hash``: a database that holds another
  hash there, or no record there at all, **was rewritten** (:func:`anchor_report`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from shared.audit.chain import AUDIT_EVENT_TYPE, format_at
from shared.audit.checkpoint import (
    CHECKPOINT_EVENT_TYPE,
    Checkpoint,
    checkpoint_from_data,
    signature_problem,
)
from shared.events.envelope import CloudEvent

__all__ = ["AnchorReport", "IgnoredMessage", "TopicMessage", "anchor_report", "sort_messages"]


@dataclasses.dataclass(frozen=True, slots=True)
class TopicMessage:
    """One record read off the audit topic: where it is, and its bytes."""

    partition: int
    offset: int
    value: bytes | None


@dataclasses.dataclass(frozen=True, slots=True)
class IgnoredMessage:
    """A message on the audit topic that is neither a record event nor a trusted checkpoint."""

    partition: int
    offset: int
    reason: str

    def __str__(self) -> str:
        return (
            f"unsigned or badly signed message on the audit topic at partition {self.partition} "
            f"offset {self.offset} (ignored): {self.reason}"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Sorted:
    """The audit topic's messages, sorted by what they can be trusted with."""

    checkpoints: list[Checkpoint]
    ignored: list[IgnoredMessage]
    record_events: int


@dataclasses.dataclass(frozen=True, slots=True)
class AnchorReport:
    """What the database looks like against the trusted checkpoints.

    ``rewritten`` is the first record (lowest ``seq``) whose hash differs from, or is missing
    against, a signed checkpoint; ``uncovered`` counts the records after the last checkpoint,
    which no signature vouches for yet.
    """

    checkpoints: list[Checkpoint]
    ignored: list[IgnoredMessage]
    record_events: int
    rewritten: str | None
    last_checkpoint: Checkpoint | None
    uncovered: int


def _classify(message: TopicMessage, keys: Mapping[str, Ed25519PublicKey]) -> Checkpoint | str | None:
    """A trusted checkpoint; None for a record event; otherwise why the message is ignored."""
    try:
        event = CloudEvent.model_validate_json(message.value or b"")
    except ValidationError:
        return "not a CloudEvents JSON message"
    if event.type == AUDIT_EVENT_TYPE:
        return None
    if event.type != CHECKPOINT_EVENT_TYPE:
        return f"an event of type {event.type[:100]!r}, which drx does not publish here"
    checkpoint = checkpoint_from_data(event.data)
    if checkpoint is None:
        return "a checkpoint without a positive seq, hash, at (with offset), key_id and signature"
    return signature_problem(checkpoint, keys) or checkpoint


def sort_messages(messages: Iterable[TopicMessage], keys: Mapping[str, Ed25519PublicKey]) -> Sorted:
    """Sort the audit topic's messages into trusted checkpoints, record events and ignored ones."""
    checkpoints: list[Checkpoint] = []
    ignored: list[IgnoredMessage] = []
    record_events = 0
    for message in messages:
        found = _classify(message, keys)
        if found is None:
            record_events += 1
        elif isinstance(found, Checkpoint):
            checkpoints.append(found)
        else:
            ignored.append(IgnoredMessage(message.partition, message.offset, found))
    return Sorted(checkpoints, ignored, record_events)


def _short(digest: str) -> str:
    return f"{digest[:16]}…"


def _contradiction(checkpoint: Checkpoint, stored: Mapping[int, str]) -> str | None:
    when = format_at(checkpoint.at)
    held = stored.get(checkpoint.seq)
    if held is None:
        return (
            f"the database was rewritten: record {checkpoint.seq} is missing, but a checkpoint "
            f"signed at {when} (key {checkpoint.key_id}) covers it: removed"
        )
    if held != checkpoint.hash:
        return (
            f"the database was rewritten: record {checkpoint.seq}'s hash differs from signed "
            f"checkpoint at {when} (key {checkpoint.key_id}): {_short(held)} in the database, "
            f"{_short(checkpoint.hash)} signed"
        )
    return None


def anchor_report(
    stored: Mapping[int, str],
    head: int,
    messages: Iterable[TopicMessage],
    keys: Mapping[str, Ed25519PublicKey],
) -> AnchorReport:
    """Check ``stored`` (``seq`` -> ``hash`` of at least every checkpointed ``seq`` the database
    holds) against the trusted checkpoints among ``messages``; ``head`` is the database's last ``seq``.

    Run it on a chain that verifies on its own (``verify_database``): then one matching
    checkpoint at ``seq`` vouches for every record up to it, since each hash covers the one before.
    """
    found = sort_messages(messages, keys)
    problems = sorted(
        ((cp.seq, problem) for cp in found.checkpoints if (problem := _contradiction(cp, stored))),
        key=lambda item: item[0],
    )
    last = max(found.checkpoints, key=lambda cp: (cp.seq, cp.at), default=None)
    covered = last.seq if last is not None else 0
    return AnchorReport(
        checkpoints=found.checkpoints,
        ignored=found.ignored,
        record_events=found.record_events,
        rewritten=problems[0][1] if problems else None,
        last_checkpoint=last,
        uncovered=max(head - covered, 0),
    )
