"""The audit trail: an append-only, hash-chained record of every state change, in its transaction.

A service calls :func:`record` wherever it changes state, with the same ``AsyncSession`` it
changes the state with, made by a factory the hooks are installed on (:func:`install`, which
``shared.db.session.create_session_factory`` calls). Nothing is written then: the entry waits
on the session. When that transaction commits, a session hook:

1. flushes the change itself;
2. takes the chain's transaction-level advisory lock (``pg_advisory_xact_lock``), so one
   transaction at a time appends to the chain; taking it last, at commit, keeps it out of the
   lock order of the row and advisory locks services take while they work;
3. reads the last record's ``seq`` and ``hash``, numbers the waiting entries ``seq + 1, …``,
   chains their hashes, inserts them into ``audit_log`` and enqueues one
   ``org.drx.audit.recorded`` event per record in the transactional outbox.

A transaction that rolls back writes nothing, so the chain has no gaps. Entries recorded inside a
savepoint that rolls back are dropped with it. Sessions must run at READ COMMITTED (PostgreSQL's
default): the chain's tail is read after the lock, in a fresh snapshot.

The modules, smallest first: :mod:`~shared.audit.entry` (what a caller writes, made JSON-safe),
:mod:`~shared.audit.chain` (the hash recipe, the record, appending under the lock),
:mod:`~shared.audit.record` (:func:`record` and the session hooks), :mod:`~shared.audit.verify`
and :mod:`~shared.audit.export` (reading the chain back). The pure half (hashing, chaining,
verification, export formats, checkpoint signing and checking in :mod:`~shared.audit.checkpoint`
and :mod:`~shared.audit.anchor`) needs no database; :mod:`~shared.audit.signer` is the I/O of
checkpoints; docs/audit.md gives the hash recipe in words and
as a stand-alone script. Callers use this package's names: ``from shared import audit``.
"""

from shared.audit.anchor import AnchorReport, IgnoredMessage, TopicMessage, anchor_report
from shared.audit.chain import (
    AUDIT_EVENT_TYPE,
    AUDIT_KEY,
    AUDIT_SOURCE,
    GENESIS_HASH,
    AuditRecord,
    canonical_json,
    chain,
    format_at,
    record_hash,
)
from shared.audit.checkpoint import (
    CHECKPOINT_EVENT_TYPE,
    Checkpoint,
    SigningKeyError,
    checkpoint_event,
    key_id_of,
    load_signing_key,
    load_verify_keys,
    new_signing_key,
    private_key_pem,
    public_key_text,
    sign,
)
from shared.audit.entry import AuditEntry, json_safe
from shared.audit.export import (
    CSV_COLUMNS,
    HXL_TAGS,
    export_range,
    iter_records,
    jsonl_line,
    record_writer,
    write_csv,
)
from shared.audit.record import AuditNotInstalledError, cli_actor, install, record
from shared.audit.signer import (
    ChainNotSignedError,
    hashes_at,
    publish_checkpoint,
    read_audit_topic,
    read_signing_key,
    sign_head,
)
from shared.audit.verify import (
    ChainProblem,
    ChainReport,
    ChainVerifier,
    verify_chain,
    verify_database,
)

__all__ = [
    "AUDIT_EVENT_TYPE",
    "AUDIT_KEY",
    "AUDIT_SOURCE",
    "CHECKPOINT_EVENT_TYPE",
    "CSV_COLUMNS",
    "GENESIS_HASH",
    "HXL_TAGS",
    "AnchorReport",
    "AuditEntry",
    "AuditNotInstalledError",
    "AuditRecord",
    "ChainNotSignedError",
    "ChainProblem",
    "ChainReport",
    "ChainVerifier",
    "Checkpoint",
    "IgnoredMessage",
    "SigningKeyError",
    "TopicMessage",
    "anchor_report",
    "canonical_json",
    "chain",
    "checkpoint_event",
    "cli_actor",
    "export_range",
    "format_at",
    "hashes_at",
    "install",
    "iter_records",
    "json_safe",
    "jsonl_line",
    "key_id_of",
    "load_signing_key",
    "load_verify_keys",
    "new_signing_key",
    "private_key_pem",
    "public_key_text",
    "publish_checkpoint",
    "read_audit_topic",
    "read_signing_key",
    "record",
    "record_hash",
    "record_writer",
    "sign",
    "sign_head",
    "verify_chain",
    "verify_database",
    "write_csv",
]
