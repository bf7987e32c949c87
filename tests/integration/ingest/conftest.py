from __future__ import annotations

import pytest

from shared.kafka.topics import CANONICAL, REJECTED
from tests.support.pipeline import running_pipeline


@pytest.fixture
async def ingest(settings):
    """Ingest alone: no matching worker reads what it publishes."""
    async with running_pipeline(settings, CANONICAL, REJECTED, matchers=0) as harness:
        yield harness
