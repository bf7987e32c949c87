"""The fault suite's report: ``DRX_FAULTS_REPORT=docs/reliability.md pytest tests/faults`` rewrites it."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.checker import Report, markdown

REPORTS: list[Report] = []
_TABLE = re.compile(r"<!-- results -->.*<!-- /results -->", re.DOTALL)


@pytest.fixture(scope="session", autouse=True)
def reliability_report(request: pytest.FixtureRequest) -> Iterator[list[Report]]:
    yield REPORTS
    target = os.environ.get("DRX_FAULTS_REPORT")
    if not target or not REPORTS:
        return
    long = request.config.getoption("--long")
    command = "DRX_FAULTS_REPORT=docs/reliability.md .venv/bin/pytest tests/faults" + (
        " --long" if long else ""
    )
    table = markdown(REPORTS, when=dt.datetime.now(dt.UTC).date(), command=command)
    path = Path(target)
    text = path.read_text()
    path.write_text(_TABLE.sub(lambda _: f"<!-- results -->\n{table}<!-- /results -->", text))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--long`` scenarios feed thousands of events each: give them more than the default timeout."""
    if not config.getoption("--long"):
        return
    for item in items:
        if "/faults/" in str(item.path):
            item.add_marker(pytest.mark.timeout(1800))
