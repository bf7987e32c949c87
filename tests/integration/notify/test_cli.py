"""``drx subscribe add|list|remove`` and ``drx deliveries``, run as a user runs them, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import shlex
import subprocess

from tests.integration.notify.conftest import PREFIX, match_event
from tests.support.cli import run_drx
from tests.support.receivers import HttpReceiver


def drx(database, command: str) -> subprocess.CompletedProcess[str]:
    env = {
        "DRX_DATABASE_URL": database.url,
        "DRX_KAFKA_TOPIC_PREFIX": PREFIX,
        "DRX_LOG_LEVEL": "WARNING",
        "COLUMNS": "400",  # rich would otherwise fold the tables at 80 columns
    }
    return run_drx(*shlex.split(command), env=env)


def ok(database, command: str) -> str:
    result = drx(database, command)
    assert result.returncode == 0, result.stderr
    return result.stdout


def line_of(table: str, subscription_id: str) -> str:
    (line,) = [line for line in table.splitlines() if f" {subscription_id} " in line]
    return line.rstrip(" │")


def test_an_added_subscription_is_listed_and_a_removed_one_only_with_all(database):
    added = ok(
        database,
        "subscribe add s-leyla --recipient coord-leyla --channel email --address leyla@example.org "
        "--digest daily --country TUR --sector shelter --actor test",
    )
    assert "subscription s-leyla set: email leyla@example.org" in added

    line = line_of(ok(database, "subscribe list"), "s-leyla")
    for cell in ("coord-leyla", "coordinator", "leyla@example.org", "daily", "country=TUR, sector=shelter"):
        assert cell in line
    assert line.endswith("yes")

    assert "subscription s-leyla removed" in ok(database, "subscribe remove s-leyla --actor test")
    assert "s-leyla" not in ok(database, "subscribe list")
    assert line_of(ok(database, "subscribe list --all"), "s-leyla").endswith("no")


def test_adding_the_same_id_again_replaces_the_subscription(database):
    ok(database, "subscribe add s-org --recipient trc --kind organisation --address old@example.org")
    ok(database, "subscribe add s-org --recipient trc --kind organisation --address new@example.org")
    listed = ok(database, "subscribe list")
    assert "new@example.org" in line_of(listed, "s-org")
    assert "old@example.org" not in listed


def test_invalid_input_is_refused_with_the_reason_and_nothing_is_stored(database):
    fax = drx(database, "subscribe add s-1 --recipient c --channel fax")
    assert fax.returncode == 2
    assert "channel: Input should be 'webhook', 'email' or 'kafka'" in fax.stderr

    keyed = drx(
        database,
        "subscribe add s-2 --recipient c --channel webhook --address https://h.example.org/ --key-id k1",
    )
    assert keyed.returncode == 2
    assert "No such option: --key-id" in keyed.stderr

    listed = ok(database, "subscribe list --all")
    assert "s-1" not in listed
    assert "s-2" not in listed

    unknown = drx(database, "subscribe remove s-nobody")
    assert unknown.returncode == 1
    assert "no active subscription 's-nobody'" in unknown.stderr


def test_removing_twice_fails_the_second_time(database):
    ok(database, "subscribe add s-x --recipient c --address c@example.org")
    ok(database, "subscribe remove s-x")
    again = drx(database, "subscribe remove s-x")
    assert again.returncode == 1
    assert "no active subscription 's-x'" in again.stderr


async def test_deliveries_status_dead_lists_the_dead_letter_with_its_last_error(notify, database):
    async with HttpReceiver(status=410) as gone:
        await notify.organisation_webhook(gone)
        await notify.coordinator_email()
        await notify.loop.start()
        await notify.service.handle(match_event())
        await notify.wait_deliveries(
            lambda ds: sorted(d.status for d in ds) == ["dead", "sent"], "one dead letter, one sent"
        )
    (dead,) = await notify.deliveries(status="dead")
    (sent,) = await notify.deliveries(status="sent")

    listed = (await asyncio.to_thread(ok, database, "deliveries --status dead")).splitlines()
    (line,) = [line.rstrip(" │") for line in listed if dead.delivery_id in line]
    for cell in (" dead ", "match.proposed", "trc-gaziantep", "webhook"):
        assert cell in line
    assert "410" in dead.last_error
    assert line.endswith(dead.last_error)  # the last column: why it died
    assert not any(sent.delivery_id in line for line in listed)

    everything = await asyncio.to_thread(ok, database, "deliveries")
    assert dead.delivery_id in everything
    assert sent.delivery_id in everything


def test_deliveries_refuses_a_status_that_does_not_exist(database):
    result = drx(database, "deliveries --status deads")
    assert result.returncode == 2
    assert "'deads' is not one of pending, held, digested, sent, dead" in result.stderr
