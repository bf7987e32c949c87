"""Webhook signing secrets: how drx makes them and keeps them sealed, without I/O.

A webhook subscription's secret is generated here (:func:`new_secret`), shown once, and stored
only as AES-256-GCM ciphertext made with the key in ``DRX_NOTIFY_SECRETS_KEY``. The associated
data is the subscription id and the secret's version, so a ciphertext copied onto another
subscription's row (or another version's) fails to open instead of signing for it. Each sealed
secret names the key that sealed it (:func:`key_id_of`, a hash of the key, safe to show), so the
key can change: the new key seals, the old ones in ``DRX_NOTIFY_SECRETS_OLD_KEYS`` still open,
and ``drx subscribe secret rewrap`` moves every secret to the new key (docs/notify.md).

Anything that must name a secret (the audit trail, the CLI, the receiver's operator) uses its
:func:`fingerprint`; the secret is 256 random bits, so its hash gives nothing away.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["PREFIX", "Keyring", "Sealed", "SealingError", "fingerprint", "key_id_of", "new_secret"]

PREFIX = "whsec_"
_NONCE_BYTES = 12
_KEY_BYTES = 32


class SealingError(ValueError):
    """A sealed secret that cannot be opened with the configured keys; the message says why."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """One secret as PostgreSQL keeps it: which key sealed it, the nonce, the ciphertext and tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 43 URL-safe characters (256 random bits)."""
    return PREFIX + secrets.token_urlsafe(32)


def fingerprint(secret: str) -> str:
    """How logs, audit records and people name a secret: 16 hex digits of its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def key_id_of(key: bytes) -> str:
    """The id of a sealing key: 16 hex digits of a hash of it (names the key, reveals nothing)."""
    return hashlib.sha256(b"drx-notify-secrets-key\x00" + key).hexdigest()[:16]


def _associated(subscription_id: str, version: int) -> bytes:
    return f"drx webhook secret\x00{subscription_id}\x00{version}".encode()


class Keyring:
    """The current sealing key and the older ones that may still open secrets."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            msg = "a keyring needs at least one key"
            raise ValueError(msg)
        if any(len(key) != _KEY_BYTES for key in keys):
            msg = "sealing keys are 32 bytes (AES-256)"
            raise ValueError(msg)
        self._keys = {key_id_of(key): AESGCM(key) for key in keys}
        self.key_id = key_id_of(keys[0])

    def __repr__(self) -> str:
        return f"Keyring(current={self.key_id}, keys={len(self._keys)})"

    def seal(self, secret: str, *, subscription_id: str, version: int) -> Sealed:
        """``secret`` encrypted with the current key, bound to its subscription and version."""
        nonce = os.urandom(_NONCE_BYTES)
        aead = self._keys[self.key_id]
        ciphertext = aead.encrypt(nonce, secret.encode(), _associated(subscription_id, version))
        return Sealed(self.key_id, nonce, ciphertext)

    def open(self, sealed: Sealed, *, subscription_id: str, version: int) -> str:
        """The secret, or :class:`SealingError` if no key here sealed it or it was not sealed for this row."""
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            msg = (
                f"sealed with key {sealed.key_id}, which is neither DRX_NOTIFY_SECRETS_KEY ({self.key_id}) "
                "nor one of DRX_NOTIFY_SECRETS_OLD_KEYS"
            )
            raise SealingError(msg)
        try:
            plain = aead.decrypt(sealed.nonce, sealed.ciphertext, _associated(subscription_id, version))
        except InvalidTag:
            msg = (
                f"does not open with key {sealed.key_id}: it was not sealed for subscription "
                f"{subscription_id!r} version {version}, or it was altered"
            )
            raise SealingError(msg) from None
        return plain.decode()
