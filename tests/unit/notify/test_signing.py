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
SECRET = "whsec_first"
SUB = "s-org"


def headers(*, secret=SECRET, subscription=SUB, delivery="dlv-1", timestamp=TS, body=BODY):
    return {
        "X-Drx-Delivery": delivery,
        "X-Drx-Subscription": subscription,
        "X-Drx-Timestamp": str(timestamp),
        "X-Drx-Signature": sign(
            secret, delivery_id=delivery, subscription_id=subscription, timestamp=timestamp, body=body
        ),
    }


class TestSign:
    def test_is_hmac_sha256_over_delivery_subscription_timestamp_and_body(self):
        """The documented recipe, written out independently of the module."""
        signed = f"dlv-1.{SUB}.{TS}.".encode() + BODY
        expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert headers()["X-Drx-Signature"] == f"v1={expected}"

    def test_the_same_input_signs_the_same(self):
        def once(timestamp: int) -> str:
            return sign("s", delivery_id="d", subscription_id="s", timestamp=timestamp, body=b"x")

        assert once(1) == once(1) != once(2)

    def test_during_an_overlap_each_secret_signs_new_first(self):
        both = sign(["new", "old"], delivery_id="d", subscription_id="s", timestamp=1, body=b"x")
        new, old = both.split(",")
        assert new == sign("new", delivery_id="d", subscription_id="s", timestamp=1, body=b"x")
        assert old == sign("old", delivery_id="d", subscription_id="s", timestamp=1, body=b"x")

    def test_an_empty_secret_is_refused(self):
        with pytest.raises(ValueError, match="empty"):
            sign("", delivery_id="d", subscription_id="s", timestamp=TS, body=BODY)
        with pytest.raises(ValueError, match="empty"):
            sign([], delivery_id="d", subscription_id="s", timestamp=TS, body=BODY)

    @pytest.mark.parametrize("field", ["delivery_id", "subscription_id"])
    def test_an_id_with_the_separator_cannot_be_signed(self, field):
        """'.' separates the signed fields: 'a.b' + 'c' and 'a' + 'b.c' must not sign alike."""
        ids = {"delivery_id": "d", "subscription_id": "s", field: "a.b"}
        with pytest.raises(ValueError, match="cannot be signed"):
            sign("k", timestamp=TS, body=BODY, **ids)


class TestVerify:
    def test_round_trip(self):
        verify(SECRET, SUB, headers(), BODY, NOW)

    def test_header_names_are_case_insensitive(self):
        """Servers hand headers over in any case (aiohttp keeps them, WSGI upper-cases, ASGI lower-cases)."""
        verify(SECRET, SUB, {k.lower(): v for k, v in headers().items()}, BODY, NOW)
        verify(SECRET, SUB, {k.upper(): v for k, v in headers().items()}, BODY, NOW)

    def test_wrong_secret(self):
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, headers(secret="guessed"), BODY, NOW)

    def test_a_request_for_another_subscription_is_refused_by_name(self):
        """Captured at A and replayed at B: B's receiver sees A's subscription id."""
        with pytest.raises(SignatureError, match="for subscription 's-donor', not this receiver's 's-org'"):
            verify(SECRET, SUB, headers(subscription="s-donor"), BODY, NOW)

    def test_relabelling_a_request_for_this_receiver_breaks_the_signature(self):
        """The donor's subscription's request, its subscription header rewritten to the organisation's."""
        donors = headers(secret="whsec_donor", subscription="s-donor")
        relabelled = {**donors, "X-Drx-Subscription": SUB}
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, relabelled, BODY, NOW)
        # Even if the donor's secret were the organisation's, the signed subscription id differs.
        same_secret = {**headers(subscription="s-donor"), "X-Drx-Subscription": SUB}
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, same_secret, BODY, NOW)

    def test_a_changed_delivery_id_breaks_the_signature(self):
        forged = {**headers(), "X-Drx-Delivery": "dlv-2"}
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, forged, BODY, NOW)

    def test_tampered_body(self):
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, headers(), BODY.replace(b"250", b"950"), NOW)

    def test_a_body_re_serialised_by_the_receiver_does_not_verify(self):
        """Verify the bytes as received: parsing and dumping JSON again changes them."""
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, headers(), BODY.replace(b",", b", "), NOW)

    def test_tampered_timestamp(self):
        forged = {**headers(), "X-Drx-Timestamp": str(TS + 1)}
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, forged, BODY, NOW)

    def test_expired_timestamp(self):
        with pytest.raises(SignatureError, match=r"is 301 s old, outside the 300 s replay window"):
            verify(SECRET, SUB, headers(timestamp=TS - 301), BODY, NOW)

    def test_future_timestamp(self):
        with pytest.raises(SignatureError, match="301 s in the future"):
            verify(SECRET, SUB, headers(timestamp=TS + 301), BODY, NOW)

    def test_the_window_edges_are_inside(self):
        verify(SECRET, SUB, headers(timestamp=TS - 300), BODY, NOW)
        verify(SECRET, SUB, headers(timestamp=TS + 300), BODY, NOW)

    def test_the_window_can_be_narrowed(self):
        with pytest.raises(SignatureError, match="outside the 60 s replay window"):
            verify(SECRET, SUB, headers(timestamp=TS - 61), BODY, NOW, window_s=60)

    def test_rotation_overlap_a_receiver_with_either_secret_verifies(self):
        """drx signs with the new and the old secret until the overlap ends."""
        both = headers(secret=["whsec_new", SECRET])
        verify(SECRET, SUB, both, BODY, NOW)  # a receiver not yet changed over
        verify("whsec_new", SUB, both, BODY, NOW)  # one that has
        verify(["whsec_new", SECRET], SUB, both, BODY, NOW)  # one that holds both

    def test_after_the_overlap_only_the_new_secret_verifies(self):
        only_new = headers(secret="whsec_new")
        verify("whsec_new", SUB, only_new, BODY, NOW)
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(SECRET, SUB, only_new, BODY, NOW)

    def test_one_of_several_signatures_may_match(self):
        both = {**headers(), "X-Drx-Signature": f"v1={'0' * 64}, {headers()['X-Drx-Signature']}"}
        verify(SECRET, SUB, both, BODY, NOW)

    @pytest.mark.parametrize(
        "missing", ["X-Drx-Delivery", "X-Drx-Subscription", "X-Drx-Timestamp", "X-Drx-Signature"]
    )
    def test_missing_header(self, missing):
        incomplete = {k: v for k, v in headers().items() if k != missing}
        with pytest.raises(SignatureError, match=f"missing header {missing}"):
            verify(SECRET, SUB, incomplete, BODY, NOW)
        with pytest.raises(SignatureError, match=f"missing header {missing}"):
            verify(SECRET, SUB, {**headers(), missing: " "}, BODY, NOW)

    @pytest.mark.parametrize("value", ["-5", "1.5e9", "\u0661" * 10, "9" * 13, "17e8"])
    def test_a_timestamp_that_is_not_unix_seconds(self, value):
        with pytest.raises(SignatureError, match="is not Unix seconds"):
            verify(SECRET, SUB, {**headers(), "X-Drx-Timestamp": value}, BODY, NOW)

    @pytest.mark.parametrize("value", ["dlv.1", "dlv 1", "\u0661"])
    def test_a_delivery_id_that_could_shift_the_signed_fields(self, value):
        with pytest.raises(SignatureError, match="is not a delivery id"):
            verify(SECRET, SUB, {**headers(), "X-Drx-Delivery": value}, BODY, NOW)

    @pytest.mark.parametrize("value", ["v2=abc", "sha256=abc", "abc"])
    def test_a_signature_in_another_scheme(self, value):
        with pytest.raises(SignatureError, match="has no v1= signature"):
            verify(SECRET, SUB, {**headers(), "X-Drx-Signature": value}, BODY, NOW)

    def test_a_receiver_without_a_secret_is_a_programming_error(self):
        with pytest.raises(ValueError, match="holds no secret"):
            verify([], SUB, headers(), BODY, NOW)

    def test_a_naive_clock_is_a_programming_error(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            verify(SECRET, SUB, headers(), BODY, NOW.replace(tzinfo=None))

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

    def _python_verify(self, secrets=(SECRET,)):
        namespace: dict = {}
        exec(_block("python", "def verify"), namespace)
        namespace["SUBSCRIPTION_ID"] = SUB
        namespace["SECRETS"][:] = list(secrets)
        return namespace["verify"]

    def test_python_accepts_what_drx_signs(self):
        self._python_verify()(headers(timestamp=int(time.time())), BODY)

    def test_python_accepts_either_secret_during_an_overlap(self):
        signed = headers(secret=["whsec_new", SECRET], timestamp=int(time.time()))
        self._python_verify()(signed, BODY)
        self._python_verify(["whsec_new"])(signed, BODY)

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"secret": "guessed"}, "bad signature"),
            ({"subscription": "s-donor"}, "not for this subscription"),
            ({"delivery": "dlv-2", "relabel": {"X-Drx-Delivery": "dlv-3"}}, "bad signature"),
            ({"secret": "whsec_donor", "relabel": {"X-Drx-Subscription": SUB}}, "bad signature"),
            ({"timestamp": -301}, "replay window"),
            ({"timestamp": +301}, "replay window"),
        ],
    )
    def test_python_refuses(self, change, reason):
        verify_recipe = self._python_verify()
        offset = change.pop("timestamp", 0)
        relabel = change.pop("relabel", {})
        if relabel.get("X-Drx-Subscription"):
            change["subscription"] = "s-donor"
        with pytest.raises(ValueError, match=reason):
            verify_recipe({**headers(timestamp=int(time.time()) + offset, **change), **relabel}, BODY)

    def test_python_refuses_a_tampered_body(self):
        with pytest.raises(ValueError, match="bad signature"):
            self._python_verify()(headers(timestamp=int(time.time())), BODY + b" ")

    @pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
    @pytest.mark.parametrize(("tamper", "expected"), [(b"", "signature ok"), (b"\n", "BAD signature")])
    def test_the_shell_recipe(self, tmp_path, tamper, expected):
        now = int(time.time())
        (tmp_path / "body.json").write_bytes(BODY + tamper)
        script = _block("bash", "openssl dgst")
        signature = headers(timestamp=now)["X-Drx-Signature"]
        for name, value in (
            ("secret", SECRET),
            ("subscription", SUB),
            ("delivery", "dlv-1"),
            ("ts", str(now)),
            ("signature", signature),
        ):
            script = re.sub(rf"^{name}=.*$", f"{name}='{value}'", script, flags=re.MULTILINE)
        result = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=30
        )
        assert result.stdout.splitlines() == [expected, "fresh"]
