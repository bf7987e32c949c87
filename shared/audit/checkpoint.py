"""Signed checkpoints: the chain's head (``seq``, ``hash``) signed with an Ed25519 key outside PostgreSQL.

A database superuser can rewrite records and re-chain every hash after them, and re-publish
them through the outbox, which lives in the same database; the chain and its unsigned copy then
agree with each other. What such a person cannot do without the signing key is produce a
signature. A checkpoint pins record ``seq``'s hash at the time it was signed, so a later rewrite
of any record up to ``seq`` changes that hash and no longer matches the signed one
(docs/decisions/0006).

This module is pure: keys from bytes or text, the signed payload, and a checkpoint to and from
its ``org.drx.audit.checkpoint`` event. Reading the key file, the chain's head and publishing are
in :mod:`shared.audit.signer`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.audit.chain import AUDIT_SOURCE, canonical_json, format_at
from shared.events.envelope import CloudEvent

__all__ = [
    "CHECKPOINT_EVENT_TYPE",
    "SIGNING_CONTEXT",
    "Checkpoint",
    "SigningKeyError",
    "checkpoint_event",
    "checkpoint_from_data",
    "key_id_of",
    "load_signing_key",
    "load_verify_keys",
    "new_signing_key",
    "private_key_pem",
    "public_key_text",
    "sign",
    "signature_problem",
]

CHECKPOINT_EVENT_TYPE = "org.drx.audit.checkpoint"
SIGNING_CONTEXT = b"drx audit checkpoint v1\n"
"""Prefixed to what is signed, so a drx checkpoint signature means nothing anywhere else."""
_RAW_KEY_BYTES = 32


class SigningKeyError(ValueError):
    """A key file or public key that is not an Ed25519 key drx can use; the message says why."""


@dataclasses.dataclass(frozen=True, slots=True)
class Checkpoint:
    """Record ``seq`` has hash ``hash``: signed at ``at`` with the key ``key_id``."""

    seq: int
    hash: str
    at: dt.datetime
    key_id: str
    signature: str = ""  # base64 of the 64-byte Ed25519 signature over signed_bytes()

    def signed_fields(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "at": format_at(self.at), "key_id": self.key_id}

    def signed_bytes(self) -> bytes:
        """:data:`SIGNING_CONTEXT` then the canonical JSON of seq, hash, at and key id."""
        return SIGNING_CONTEXT + canonical_json(self.signed_fields())

    def __str__(self) -> str:
        return f"record {self.seq}, signed {format_at(self.at)} with key {self.key_id}"


# --- keys ---------------------------------------------------------------------------------------


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def public_key_text(public: Ed25519PublicKey) -> str:
    """The public key as ``DRX_AUDIT_VERIFY_KEY`` takes it: base64 of its raw 32 bytes."""
    return base64.b64encode(_raw_public(public)).decode("ascii")


def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The key as an unencrypted PKCS#8 PEM file (protect it with file permissions and secrets)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_signing_key(data: bytes) -> Ed25519PrivateKey:
    """A key file's contents: PEM (PKCS#8, unencrypted) or exactly the raw 32 bytes."""
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as error:
            msg = f"the signing key file is not an unencrypted PEM private key: {error}"
            raise SigningKeyError(msg) from None
        if not isinstance(key, Ed25519PrivateKey):
            msg = f"the signing key file holds a {type(key).__name__}, not an Ed25519 key"
            raise SigningKeyError(msg)
        return key
    if len(data) != _RAW_KEY_BYTES:
        msg = f"the signing key file is neither PEM nor 32 raw bytes ({len(data)} bytes)"
        raise SigningKeyError(msg)
    return Ed25519PrivateKey.from_private_bytes(data)


def _load_public(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        msg = f"verify key {text[:12]!r}… is not base64"
        raise SigningKeyError(msg) from None
    if len(raw) != _RAW_KEY_BYTES:
        msg = f"verify key {text[:12]!r}… is {len(raw)} bytes, an Ed25519 public key is 32"
        raise SigningKeyError(msg)
    return Ed25519PublicKey.from_public_bytes(raw)


def load_verify_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """``DRX_AUDIT_VERIFY_KEY``: one or more base64 public keys, comma-separated, by key id."""
    keys = [_load_public(part.strip()) for part in text.split(",") if part.strip()]
    if not keys:
        msg = "no verify key given"
        raise SigningKeyError(msg)
    return {key_id_of(key): key for key in keys}


# --- signing and checking -------------------------------------------------------------------------


def sign(key: Ed25519PrivateKey, seq: int, digest: str, at: dt.datetime) -> Checkpoint:
    """A checkpoint of record ``seq`` with hash ``digest``, signed with ``key`` at ``at``."""
    unsigned = Checkpoint(seq=seq, hash=digest, at=at.astimezone(dt.UTC), key_id=key_id_of(key.public_key()))
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
    return dataclasses.replace(unsigned, signature=signature)


def signature_problem(checkpoint: Checkpoint, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """None when ``checkpoint`` is signed by one of ``keys``; otherwise why it is not trusted."""
    public = keys.get(checkpoint.key_id)
    if public is None:
        return f"signed with key {checkpoint.key_id!r}, which is not a configured verify key"
    try:
        public.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.signed_bytes())
    except (InvalidSignature, binascii.Error, ValueError):
        return f"its signature does not verify with key {checkpoint.key_id}"
    return None


def checkpoint_event(checkpoint: Checkpoint) -> CloudEvent:
    """The ``org.drx.audit.checkpoint`` event published to the audit topic (key ``audit-chain``)."""
    return CloudEvent(
        specversion="1.0",
        id=f"audit-checkpoint:{checkpoint.seq}:{checkpoint.key_id}:{format_at(checkpoint.at)}",
        source=AUDIT_SOURCE,
        type=CHECKPOINT_EVENT_TYPE,
        time=checkpoint.at,
        subject=f"audit/{checkpoint.seq}",
        data={**checkpoint.signed_fields(), "signature": checkpoint.signature},
    )


def checkpoint_from_data(data: object) -> Checkpoint | None:
    """The checkpoint an event's ``data`` describes, or None when it is not shaped like one."""
    if not isinstance(data, dict):
        return None
    seq, digest, at, key_id, signature = (data.get(k) for k in ("seq", "hash", "at", "key_id", "signature"))
    if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1):
        return None
    if not all(isinstance(v, str) for v in (digest, at, key_id, signature)):
        return None
    try:
        when = dt.datetime.fromisoformat(str(at))
    except ValueError:
        return None
    if when.utcoffset() is None:
        return None
    return Checkpoint(seq=seq, hash=str(digest), at=when, key_id=str(key_id), signature=str(signature))
