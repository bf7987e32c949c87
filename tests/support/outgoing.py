"""One attempt on one channel, as notify's channel tests make it: the message, and what it is sent with.

Shared by tests/integration/notify/test_channels_webhook.py and test_channels_email.py. Only
:meth:`Channels.send` is under test there, so these build an :class:`Outgoing` by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest

from services.notify.channels import Channels, DeliveryError, Outgoing
from shared.config import NotifySettings

__all__ = [
    "NEW_SECRET",
    "NOW",
    "SECRET",
    "SUBSCRIPTION",
    "TIMEOUT_S",
    "failure",
    "hook",
    "mail",
    "settings",
    "signed_now",
]

SUBSCRIPTION = "s-org"
SECRET = "whsec_first-secret"
NEW_SECRET = "whsec_second-secret"  # after a rotation
NOW = dt.datetime.now(dt.UTC)  # for email dates; webhooks are signed at signed_now()
TIMEOUT_S = 0.5


def signed_now() -> dt.datetime:
    """The time a webhook is signed at: now, so the receiver's replay window accepts it however
    long the test session has been running."""
    return dt.datetime.now(dt.UTC)


def settings(**changes) -> NotifySettings:
    """Channel settings for receivers on 127.0.0.1, which only an explicit allowance lets webhooks reach."""
    return NotifySettings(
        **{"webhook_timeout_s": TIMEOUT_S, "webhook_allow_networks": "127.0.0.0/8", **changes}
    )


def hook(url: str, **changes) -> Outgoing:
    fields = {
        "delivery_id": "dlv-0a1b2c3d4e5f60718293a4b5",
        "channel": "webhook",
        "address": url,
        "subject": "Proposed: 250 piece for Blankets",
        "text": "250 \u00e7ad\u0131r battaniyesi, Gaziantep \u2013 `drx decide confirm m-3f2a9c`.",
        "payload": {"kind": "match.proposed", "match": {"match_id": "m-3f2a9c", "quantity": 250}},
        "subscription_id": SUBSCRIPTION,
        "secrets": (SECRET,),
    }
    return Outgoing(**{**fields, **changes})


def mail(address: str = "leyla@example.org", **changes) -> Outgoing:
    return hook(address, channel="email", subscription_id=None, secrets=(), **changes)


async def failure(sender: Channels, message: Outgoing) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await sender.send(message, now=signed_now())
    return caught.value
