"""Webhook signatures bound to one receiver, on real PostgreSQL with real HTTP receivers.

The attack of issue 15: a donor who subscribes (with its own subscription, since it can name no
key any more) cannot get requests that verify at an organisation's receiver, and a request
captured at one receiver fails at every other. Beside it: the secret shown once by the CLI,
rotation with an overlap, and the receiver recipe of docs/webhooks.md run against what drx sent.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import re
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.notify.sealing import Keyring, SealingError, key_id_of
from services.notify.signing import SignatureError, verify
from services.notify.webhook_secrets import rewrap_secrets, signing_secrets
from shared.db.models import AuditRecordRow
from tests.integration.notify.conftest import PREFIX, SECRETS_KEY, match_event
from tests.support.cli import run_drx
from tests.support.receivers import HttpReceiver, Received

ORG, DONOR = "trc-gaziantep", "hta-berlin"
GUIDE = (Path(__file__).parents[3] / "docs" / "webhooks.md").read_text()


def _drx(database, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "DRX_DATABASE_URL": database.url,
        "DRX_KAFKA_TOPIC_PREFIX": PREFIX,
        "DRX_LOG_LEVEL": "WARNING",
        "DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        "DRX_NOTIFY_SECRETS_KEY": SECRETS_KEY,
        "COLUMNS": "400",
    }
    return run_drx(*shlex.split(command), env=base | env)


def _secret_in(output: str) -> str:
    (secret,) = re.findall(r"^whsec_[A-Za-z0-9_-]{43}$", output, flags=re.MULTILINE)
    return secret


async def _donor_webhook(notify, receiver: HttpReceiver, url: str | None = None) -> None:
    await notify.subscribe(
        "s-donor",
        receiver=receiver,
        recipient_id=DONOR,
        recipient_kind="donor",
        channel="webhook",
        address=url or receiver.url,
    )


async def _replay(request: Received, url: str) -> int:
    """Post a captured request again, byte for byte, as an eavesdropper would."""
    headers = {k: v for k, v in request.headers.items() if k.startswith("x-drx-") or k == "content-type"}
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, content=request.body, headers=headers)
    return answer.status_code


async def test_a_donor_s_subscription_pointed_at_the_organisation_s_receiver_is_refused_there(notify):
    """The donor subscribes with the organisation's URL: drx signs for the donor's subscription,
    with the donor's secret, and the organisation's receiver verifies neither."""
    async with HttpReceiver() as organisation, HttpReceiver() as donor_side:
        await notify.organisation_webhook(organisation)
        await _donor_webhook(notify, donor_side, url=organisation.url)  # the donor holds its own secret
        await notify.loop.start()
        await notify.service.handle(match_event())
        rows = await notify.wait_deliveries(
            lambda ds: len(ds) == 2 and all(d.status in {"sent", "dead"} for d in ds), "both settled"
        )
    status = {row.recipient_id: row.status for row in rows}
    assert status == {ORG: "sent", DONOR: "dead"}  # the organisation answered 401 to the donor's
    donors = [r for r in organisation.requests if r.headers["x-drx-subscription"] == "s-donor"]
    assert [r.answered for r in donors] == [401]
    assert donors[0].verified == "no secret held for subscription 's-donor'"  # not one of its own
    # Relabelled as the organisation's, it still fails: it was signed with the donor's secret.
    relabelled = {**donors[0].headers, "x-drx-subscription": "s-org"}
    (org_secret,) = organisation.held["s-org"]
    with pytest.raises(SignatureError, match="signature does not match"):
        verify(org_secret, "s-org", relabelled, donors[0].body, dt.datetime.now(dt.UTC))
    assert len(organisation.accepted) == 1


async def test_a_request_captured_at_one_receiver_fails_at_another(notify):
    async with HttpReceiver() as organisation, HttpReceiver() as donor:
        await notify.organisation_webhook(organisation)
        await _donor_webhook(notify, donor)
        await notify.loop.start()
        await notify.service.handle(match_event())
        await notify.wait_deliveries(lambda ds: len(ds) == 2 and all(d.status == "sent" for d in ds), "sent")
        (captured,) = organisation.accepted
        (donors,) = donor.accepted
        assert await _replay(captured, donor.url) == 401  # the org's request, at the donor's
        assert await _replay(donors, organisation.url) == 401  # and the other way round
        assert await _replay(captured, organisation.url) == 200  # where it belongs, it verifies
    replayed = donor.requests[-1]
    assert replayed.verified == "no secret held for subscription 's-org'"


async def test_during_the_overlap_both_secrets_sign_then_only_the_new_one(notify):
    async with HttpReceiver() as receiver:
        first = await notify.organisation_webhook(receiver)
        assert first is not None
        rotated = await notify.rotate("s-org", dt.timedelta(hours=1))
        assert (rotated.version, rotated.retiring) == (2, first.fingerprint)
        receiver.hold_secret("s-org", first.secret)  # this receiver has not switched yet
        await notify.loop.start()
        await notify.service.handle(match_event())
        await notify.wait_deliveries(lambda ds: ds and ds[0].status == "sent", "sent in the overlap")
        during = receiver.accepted[-1]
        assert during.headers["x-drx-signature"].count("v1=") == 2
        now = dt.datetime.now(dt.UTC)
        for secret in (first.secret, rotated.secret):  # a receiver holding either verifies
            verify(secret, "s-org", during.headers, during.body, now)

        notify.clock.advance(hours=2)  # the overlap is over
        await notify.service.handle(match_event("confirmed"))
        await notify.wait_deliveries(lambda ds: len(ds) == 2 and ds[1].status != "pending", "after overlap")
    after = receiver.requests[-1]
    assert after.headers["x-drx-signature"].count("v1=") == 1
    signed_at = notify.clock()
    verify(rotated.secret, "s-org", after.headers, after.body, signed_at)
    with pytest.raises(SignatureError, match="signature does not match"):
        verify(first.secret, "s-org", after.headers, after.body, signed_at)


async def test_the_receiver_recipe_in_docs_webhooks_accepts_a_real_delivery_and_refuses_it_elsewhere(
    notify,
):
    async with HttpReceiver() as receiver:
        issued = await notify.organisation_webhook(receiver)
        assert issued is not None
        await notify.loop.start()
        await notify.service.handle(match_event())
        await notify.wait_deliveries(lambda ds: ds and ds[0].status == "sent", "sent")
    (request,) = receiver.accepted
    (block,) = [
        b
        for b in re.findall(r"^```python\n(.*?)^```", GUIDE, flags=re.MULTILINE | re.DOTALL)
        if "def verify" in b
    ]
    namespace: dict = {}
    exec(block, namespace)
    namespace["SUBSCRIPTION_ID"] = "s-org"
    namespace["SECRETS"][:] = [issued.secret]
    namespace["verify"](request.headers, request.body)
    namespace["SUBSCRIPTION_ID"] = "s-donor"  # the same request at another subscription's receiver
    with pytest.raises(ValueError, match="not for this subscription"):
        namespace["verify"](request.headers, request.body)


async def test_the_cli_shows_the_secret_once_and_rotates_it(notify, database):
    async with HttpReceiver() as receiver:
        added = await asyncio.to_thread(
            _drx,
            database,
            f"subscribe add s-cli --recipient {ORG} --kind organisation --channel webhook "
            f"--address {receiver.url} --actor ops",
        )
        assert added.returncode == 0, added.stderr
        secret = _secret_in(added.stdout)
        assert "shown once" in added.stdout

        again = await asyncio.to_thread(_drx, database, "subscribe secret reveal s-cli")
        assert again.returncode == 2
        refused = " ".join(again.stderr.split())
        assert "was shown on" in refused
        assert "drx subscribe secret rotate s-cli --overlap 24h" in refused
        assert secret not in again.stdout + again.stderr

        rotated = await asyncio.to_thread(_drx, database, "subscribe secret rotate s-cli --overlap 30m")
        assert rotated.returncode == 0, rotated.stderr
        new = _secret_in(rotated.stdout)
        assert new != secret
        assert "signs too until" in rotated.stdout

        listed = await asyncio.to_thread(_drx, database, "subscribe list")
        assert secret not in listed.stdout
        assert new not in listed.stdout

        receiver.hold_secret("s-cli", new)
        await notify.loop.start()
        await notify.service.handle(match_event())
        await notify.wait_deliveries(lambda ds: ds and ds[0].status == "sent", "sent with the new secret")
    assert receiver.accepted[0].headers["x-drx-subscription"] == "s-cli"


async def test_reveal_refuses_an_unknown_subscription_and_without_the_key_no_webhook_is_made(
    notify, database
):
    bad = await asyncio.to_thread(_drx, database, "subscribe secret reveal s-nobody")
    assert bad.returncode == 2
    assert "no webhook subscription 's-nobody'" in bad.stderr
    keyless = await asyncio.to_thread(
        _drx, database, "subscribe secret reveal s-nobody", DRX_NOTIFY_SECRETS_KEY=""
    )
    assert keyless.returncode == 2
    assert "webhook subscriptions need DRX_NOTIFY_SECRETS_KEY" in " ".join(keyless.stderr.split())
    wrong = await asyncio.to_thread(
        _drx,
        database,
        "subscribe add s-x --recipient c --channel webhook --address http://127.0.0.1:9/",
        DRX_NOTIFY_SECRETS_KEY="",
    )
    assert wrong.returncode == 2
    listed = await asyncio.to_thread(_drx, database, "subscribe list --all")
    assert "s-x" not in listed.stdout


async def test_a_new_sealing_key_takes_over_after_rewrap_and_the_secrets_stay_the_same(notify):
    """DRX_NOTIFY_SECRETS_KEY changes: the old key opens until rewrap, then the new one alone."""
    issued = await notify.subscribe(
        "s-org",
        recipient_id=ORG,
        recipient_kind="organisation",
        channel="webhook",
        address="http://127.0.0.1:9/",
    )
    assert issued is not None
    old, new = base64.b64decode(SECRETS_KEY), b"n" * 32
    sessions = notify.service._sessions
    async with sessions.begin() as session:
        moved = await rewrap_secrets(session, PREFIX, Keyring([new, old]), actor="operator")
    assert moved == 1
    async with sessions() as session:
        now = dt.datetime.now(dt.UTC)
        assert await signing_secrets(session, Keyring([new]), "s-org", now) == (issued.secret,)
        with pytest.raises(SealingError, match="which is neither DRX_NOTIFY_SECRETS_KEY"):
            await signing_secrets(session, Keyring([old]), "s-org", now)
    audit = await _audit_after(notify, "subscription.secret_rewrapped")
    assert audit == {"version": 1, "sealed_with": key_id_of(new), "fingerprint": issued.fingerprint}


async def _audit_after(notify, action: str) -> dict:
    async with notify.service._sessions() as session:
        (after,) = await session.scalars(select(AuditRecordRow.after).where(AuditRecordRow.action == action))
        return after
