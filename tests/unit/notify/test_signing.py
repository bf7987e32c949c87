"""Webhook signatures: what verifies, and the precise reason when something does not."""

import datetime as dt
import hashlib
import hmac
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from services.notify.signing import SignatureError, sign, verify

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
TS = int(NOW.timestamp())
BODY = b'{"delivery_id":"dlv-1","subject":"Proposed","text":"250 blankets","data":{}}'
KEYS = {"k1": "first-secret"}


def headers(*, secret="first-secret", key_id="k1", timestamp=TS, body=BODY):
    return {
        "X-Drx-Delivery": "dlv-1",
        "X-Drx-Timestamp": str(timestamp),
        "X-Drx-Key-Id": key_id,
        "X-Drx-Signature": sign(secret, timestamp, body),
    }


class TestSign:
    def test_is_hmac_sha256_over_timestamp_dot_body(self):
        """The documented recipe, written out independently of the module."""
        expected = hmac.new(b"first-secret", f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
        assert sign("first-secret", TS, BODY) == f"v1={expected}"

    def test_the_same_input_signs_the_same(self):
        assert sign("s", 1, b"x") == sign("s", 1, b"x") != sign("s", 2, b"x")

    def test_an_empty_secret_is_refused(self):
        with pytest.raises(ValueError, match="empty"):
            sign("", TS, BODY)


class TestVerify:
    def test_round_trip(self):
        verify(KEYS, headers(), BODY, NOW)

    def test_header_names_are_case_insensitive(self):
        """Servers hand headers over in any case (aiohttp keeps them, WSGI upper-cases, ASGI lower-cases)."""
        verify(KEYS, {k.lower(): v for k, v in headers().items()}, BODY, NOW)
        verify(KEYS, {k.upper(): v for k, v in headers().items()}, BODY, NOW)

    def test_wrong_secret(self):
        with pytest.raises(SignatureError, match="signature does not match for key id 'k1'"):
            verify(KEYS, headers(secret="guessed"), BODY, NOW)

    def test_tampered_body(self):
        tampered = BODY.replace(b"250", b"950")
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(KEYS, headers(), tampered, NOW)

    def test_a_body_re_serialised_by_the_receiver_does_not_verify(self):
        """Verify the bytes as received: parsing and dumping JSON again changes them."""
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(KEYS, headers(), BODY.replace(b",", b", "), NOW)

    def test_tampered_timestamp(self):
        forged = {**headers(), "X-Drx-Timestamp": str(TS + 1)}
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(KEYS, forged, BODY, NOW)

    def test_expired_timestamp(self):
        old = TS - 301
        with pytest.raises(SignatureError, match=r"is 301 s old, outside the 300 s replay window"):
            verify(KEYS, headers(timestamp=old), BODY, NOW)

    def test_future_timestamp(self):
        ahead = TS + 301
        with pytest.raises(SignatureError, match="301 s in the future"):
            verify(KEYS, headers(timestamp=ahead), BODY, NOW)

    def test_the_window_edges_are_inside(self):
        verify(KEYS, headers(timestamp=TS - 300), BODY, NOW)
        verify(KEYS, headers(timestamp=TS + 300), BODY, NOW)

    def test_the_window_can_be_narrowed(self):
        with pytest.raises(SignatureError, match="outside the 60 s replay window"):
            verify(KEYS, headers(timestamp=TS - 61), BODY, NOW, window_s=60)

    def test_unknown_key_id(self):
        with pytest.raises(SignatureError, match="unknown key id 'k9'"):
            verify(KEYS, headers(key_id="k9"), BODY, NOW)

    def test_rotation_accepts_both_keys_during_the_overlap_then_only_the_new_one(self):
        overlap = {"k1": "first-secret", "k2": "second-secret"}
        verify(overlap, headers(), BODY, NOW)
        verify(overlap, headers(key_id="k2", secret="second-secret"), BODY, NOW)
        after = {"k2": "second-secret"}
        verify(after, headers(key_id="k2", secret="second-secret"), BODY, NOW)
        with pytest.raises(SignatureError, match="unknown key id 'k1'"):
            verify(after, headers(), BODY, NOW)

    def test_a_key_id_cannot_borrow_another_keys_secret(self):
        overlap = {"k1": "first-secret", "k2": "second-secret"}
        with pytest.raises(SignatureError, match="signature does not match for key id 'k2'"):
            verify(overlap, headers(key_id="k2", secret="first-secret"), BODY, NOW)

    def test_one_of_several_signatures_may_match(self):
        both = {**headers(), "X-Drx-Signature": f"v1={'0' * 64}, {sign('first-secret', TS, BODY)}"}
        verify(KEYS, both, BODY, NOW)

    @pytest.mark.parametrize("missing", ["X-Drx-Timestamp", "X-Drx-Key-Id", "X-Drx-Signature"])
    def test_missing_header(self, missing):
        incomplete = {k: v for k, v in headers().items() if k != missing}
        with pytest.raises(SignatureError, match=f"missing header {missing}"):
            verify(KEYS, incomplete, BODY, NOW)
        with pytest.raises(SignatureError, match=f"missing header {missing}"):
            verify(KEYS, {**headers(), missing: " "}, BODY, NOW)

    @pytest.mark.parametrize("value", ["-5", "1.5e9", "\u0661" * 10, "9" * 13, "17e8"])
    def test_a_timestamp_that_is_not_unix_seconds(self, value):
        with pytest.raises(SignatureError, match="is not Unix seconds"):
            verify(KEYS, {**headers(), "X-Drx-Timestamp": value}, BODY, NOW)

    @pytest.mark.parametrize("value", ["v2=abc", "sha256=abc", "abc"])
    def test_a_signature_in_another_scheme(self, value):
        with pytest.raises(SignatureError, match="has no v1= signature"):
            verify(KEYS, {**headers(), "X-Drx-Signature": value}, BODY, NOW)

    def test_a_naive_clock_is_a_programming_error(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            verify(KEYS, headers(), BODY, NOW.replace(tzinfo=None))

    def test_errors_are_value_errors(self):
        """Receivers can catch ValueError without importing drx."""
        assert issubclass(SignatureError, ValueError)


GUIDE = (Path(__file__).parents[3] / "docs" / "webhooks.md").read_text()


def _block(language: str, containing: str) -> str:
    blocks = re.findall(rf"^```{language}\n(.*?)^```", GUIDE, flags=re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if containing in b]
    return block


class TestTheRecipesInDocsWebhooks:
    """The receivers' guide is code people copy: it must accept what drx sends and refuse the rest."""

    def _python_verify(self):
        namespace: dict = {}
        exec(_block("python", "def verify"), namespace)
        namespace["SECRETS"].update({"k1": "first-secret"})
        return namespace["verify"]

    def test_python_accepts_what_drx_signs(self):
        now = int(time.time())
        self._python_verify()(headers(timestamp=now), BODY)

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"secret": "guessed"}, "bad signature"),
            ({"key_id": "k9"}, "unknown key id"),
            ({"timestamp": -301}, "replay window"),
            ({"timestamp": +301}, "replay window"),
        ],
    )
    def test_python_refuses(self, change, reason):
        verify_recipe = self._python_verify()
        now = int(time.time())
        offset = change.pop("timestamp", 0)
        with pytest.raises(ValueError, match=reason):
            verify_recipe(headers(timestamp=now + offset, **change), BODY)

    def test_python_refuses_a_tampered_body(self):
        with pytest.raises(ValueError, match="bad signature"):
            self._python_verify()(headers(timestamp=int(time.time())), BODY + b" ")

    @pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
    @pytest.mark.parametrize(("tamper", "expected"), [(b"", "signature ok"), (b"\n", "BAD signature")])
    def test_the_shell_recipe(self, tmp_path, tamper, expected):
        now = int(time.time())
        (tmp_path / "body.json").write_bytes(BODY + tamper)
        script = _block("bash", "openssl dgst")
        script = re.sub(r"^secret=.*$", "secret='first-secret'", script, flags=re.MULTILINE)
        script = re.sub(r"^ts=.*$", f"ts={now}", script, flags=re.MULTILINE)
        signature = sign("first-secret", now, BODY)
        script = re.sub(r"^signature=.*$", f"signature='{signature}'", script, flags=re.MULTILINE)
        result = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=30
        )
        assert result.stdout.splitlines() == [expected, "fresh"]
