"""How the relay sorts one batch: published, parked, or held back behind a transient error."""

import asyncio

import pytest
from aiokafka import errors

from shared.config import KafkaSettings
from shared.db.models import OutboxMessage
from shared.outbox import OutboxRelay, is_permanent


class Producer:
    """Answers each send from a script: a result, an exception raised by send, or one for the future."""

    def __init__(self, script):
        self.script = list(script)

    async def send(self, topic, value, *, key, headers):
        outcome = self.script.pop(0)
        if outcome == "raise-too-large":
            raise errors.MessageSizeTooLargeError("too big")
        future = asyncio.get_running_loop().create_future()
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
        return future


def _rows(count):
    return [OutboxMessage(id=i, topic="t", key=None, headers={}, payload=b"{}") for i in range(count)]


async def _sort(script):
    relay = OutboxRelay(None, KafkaSettings())  # type: ignore[arg-type]
    relay._producer = Producer(script)
    rows = _rows(len(script))
    published, parked, blocked = await relay._send(rows)
    return [r.id for r in published], [(r.id, type(e).__name__) for r, e in parked], blocked


async def test_all_acknowledged():
    assert await _sort(["ok", "ok"]) == ([0, 1], [], None)


async def test_a_refused_row_is_parked_and_the_others_go_on():
    published, parked, blocked = await _sort(["ok", "raise-too-large", errors.RecordTooLargeError(), "ok"])
    assert published == [0, 3]
    assert parked == [(1, "MessageSizeTooLargeError"), (2, "RecordTooLargeError")]
    assert blocked is None


async def test_a_transient_error_holds_back_that_row_and_the_ones_after_it():
    away = errors.KafkaConnectionError()
    published, parked, blocked = await _sort(["ok", away, "ok"])
    assert (published, parked, blocked) == ([0], [], away)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (errors.MessageSizeTooLargeError(), True),
        (errors.InvalidTopicError(), True),
        (TypeError("key must be bytes"), True),
        (errors.KafkaConnectionError(), False),
        (errors.KafkaTimeoutError(), False),
        (errors.NotLeaderForPartitionError(), False),
        (errors.RequestTimedOutError(), False),
    ],
)
def test_which_errors_are_about_the_row(error, permanent):
    assert is_permanent(error) is permanent
