"""The delivery loop stops even when a wake-up arrives with the stop.

Python 3.11's ``asyncio.wait_for`` drops a cancellation when the awaited future completes in the
same step of the event loop (a known race, gone in 3.12). The loop used to rely on that
cancellation alone, so a delivery finishing (which wakes the loop) just as notify stopped left
the loop polling for ever and the worker's stop hanging: a CI run hung there.
"""

from __future__ import annotations

import asyncio

from services.notify.delivery import DeliveryLoop
from shared.config import NotifySettings


class _Channels:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


async def _idle_dispatch(now: object = None) -> int:
    return 0


async def test_a_wake_up_that_arrives_with_the_stop_does_not_keep_the_loop_running():
    for _ in range(200):  # the race depends on the order of ready callbacks; try it many times
        loop = DeliveryLoop(None, _Channels(), NotifySettings(), "t.", poll_interval=30)  # type: ignore[arg-type]
        loop.dispatch = _idle_dispatch  # type: ignore[method-assign]
        await loop.start()
        for _ in range(3):
            await asyncio.sleep(0)  # the loop is now waiting for a wake-up
        loop.wake()
        async with asyncio.timeout(5):
            await loop.stop()
