"""Webhook secrets sealed for one subscription row: what opens, and why the rest does not."""

import re

import pytest

from services.notify.sealing import Keyring, Sealed, SealingError, fingerprint, key_id_of, new_secret

KEY, OLD_KEY = b"k" * 32, b"o" * 32
SECRET = "whsec_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def test_a_secret_is_prefixed_and_has_256_random_bits():
    made = {new_secret() for _ in range(50)}
    assert len(made) == 50
    assert all(re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", s) for s in made)


def test_a_sealed_secret_opens_for_its_own_row():
    ring = Keyring([KEY])
    sealed = ring.seal(SECRET, subscription_id="s-org", version=1)
    assert SECRET.encode() not in sealed.ciphertext
    assert sealed.key_id == key_id_of(KEY) == ring.key_id
    assert ring.open(sealed, subscription_id="s-org", version=1) == SECRET


def test_the_same_secret_seals_differently_each_time():
    ring = Keyring([KEY])
    one, two = (ring.seal(SECRET, subscription_id="s", version=1) for _ in range(2))
    assert one.nonce != two.nonce
    assert one.ciphertext != two.ciphertext


@pytest.mark.parametrize(("subscription_id", "version"), [("s-donor", 1), ("s-org", 2)])
def test_a_ciphertext_moved_to_another_row_does_not_open(subscription_id, version):
    """The subscription id and version are the associated data: a copied row signs for nobody."""
    ring = Keyring([KEY])
    sealed = ring.seal(SECRET, subscription_id="s-org", version=1)
    with pytest.raises(
        SealingError, match=f"not sealed for subscription '{subscription_id}' version {version}"
    ):
        ring.open(sealed, subscription_id=subscription_id, version=version)


def test_an_altered_ciphertext_does_not_open():
    ring = Keyring([KEY])
    sealed = ring.seal(SECRET, subscription_id="s", version=1)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(SealingError, match="or it was altered"):
        ring.open(Sealed(sealed.key_id, sealed.nonce, flipped), subscription_id="s", version=1)


def test_after_the_key_changes_old_secrets_open_with_the_old_key_until_rewrapped():
    sealed = Keyring([OLD_KEY]).seal(SECRET, subscription_id="s", version=1)
    rotated = Keyring([KEY, OLD_KEY])
    assert rotated.key_id == key_id_of(KEY)  # new secrets are sealed with the new key
    assert rotated.open(sealed, subscription_id="s", version=1) == SECRET
    with pytest.raises(SealingError, match=f"sealed with key {key_id_of(OLD_KEY)}, which is neither"):
        Keyring([KEY]).open(sealed, subscription_id="s", version=1)


def test_a_keyring_shows_no_key_and_a_fingerprint_no_secret():
    ring = Keyring([KEY])
    assert "kkkk" not in repr(ring)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint(SECRET))
    assert SECRET not in fingerprint(SECRET)


def test_a_key_must_be_32_bytes():
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring([b"short"])
    with pytest.raises(ValueError, match="at least one key"):
        Keyring([])
