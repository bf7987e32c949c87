"""docs/webhooks.md lists every field of the webhook body an integrator receives (issue 16, item 13)."""

import json
import re
from pathlib import Path

from services.notify.channels import Outgoing, webhook_body

WEBHOOKS = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
DOCUMENTED = set(re.findall(r"^\| `([a-z_.]+)` \| [a-z]+ \|", WEBHOOKS, flags=re.MULTILINE))


def test_every_top_level_field_of_the_body_is_in_the_field_table():
    fields = set(Outgoing.__dataclass_fields__)
    values = dict.fromkeys(fields, "x") | {"payload": {"kind": "match.proposed"}}
    body = json.loads(webhook_body(Outgoing(**values)))  # type: ignore[arg-type]
    assert set(body) <= DOCUMENTED
    assert {f"data.{key}" for key in body["data"]} <= DOCUMENTED


def test_every_kind_notify_sends_is_named():
    for kind in ("proposed", "confirmed", "rejected", "expired", "fulfilled", "cancelled", "reminder"):
        assert f"`match.{kind}`" in WEBHOOKS
    for kind in ("need.filled", "need.expiring", "pledge.expiring", "digest"):
        assert f"`{kind}`" in WEBHOOKS
    assert {"data.match", "data.coverage", "data.reminder", "data.items"} <= DOCUMENTED
