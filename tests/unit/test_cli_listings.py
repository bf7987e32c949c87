"""Listing commands for integrators (issue 16, item 13): reference searches, ``--format json``,
ids that are never cut short, and a database URL psql accepts. No servers: the commands' data
sources are replaced with fixed rows."""

import datetime as dt
import io
import json
import subprocess
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from services.cli import common, queries, rejected
from services.cli.main import app
from shared import dev
from shared.dev import DevStack

runner = CliRunner()

LONG_ID = "m-" + "0123456789abcdef" * 4  # longer than a narrow terminal's share for it


def invoke(*args: str) -> SimpleNamespace:
    result = runner.invoke(app, list(args))
    return SimpleNamespace(code=result.exit_code, out=result.stdout, err=result.stderr)


def test_reference_items_lists_codes_names_and_every_accepted_unit():
    result = invoke("reference", "items", "tarpaulin", "--format", "json")
    assert result.code == 0
    found = {item["code"]: item for item in json.loads(result.out)}
    assert "HSHETARPW406" in found
    assert found["HSHETARPW406"]["units"][:2] == ["piece", "dozen"]
    assert found["HSHETARPW406"]["sector"] == "shelter"


def test_reference_items_finds_by_code_too():
    result = invoke("reference", "items", "hshetarpw406", "--format", "json")
    assert json.loads(result.out)[0]["code"] == "HSHETARPW406"


def test_reference_search_that_finds_nothing_says_so_and_exits_1():
    result = invoke("reference", "items", "no-such-thing-anywhere")
    assert result.code == 1
    assert "no catalogue item's name or code contains 'no-such-thing-anywhere'" in result.err


def test_reference_skills_lists_codes_and_names_codes_first():
    result = invoke("reference", "skills", "health", "--format", "json")
    assert result.code == 0
    skills = json.loads(result.out)
    assert skills[0]["code"].startswith("health")
    assert all(set(s) == {"code", "name", "sector"} for s in skills)


def test_an_unknown_format_is_refused():
    result = invoke("reference", "skills", "health", "--format", "yaml")
    assert result.code == 2
    assert "'yaml' is not one of table, json" in result.err


def test_a_table_never_shortens_an_id_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch):
    out = io.StringIO()
    monkeypatch.setattr(common, "console", Console(file=out, width=60))
    common.listing(
        "table",
        [{"match_id": LONG_ID, "why": "a long explanation that may wrap as much as it must " * 3}],
        columns=("match_id", "why"),
        ids=("match_id",),
    )
    assert LONG_ID in out.getvalue()
    assert "explanation" in out.getvalue()  # the text column gave way, but still shows


def _match() -> SimpleNamespace:
    return SimpleNamespace(
        match_id=LONG_ID,
        status="proposed",
        crisis_id="c-1",
        need_id="n-1",
        pledge_id="p-1",
        quantity=Decimal("100.0000"),
        unit="piece",
        delivered_quantity=Decimal("80.0000"),
        explanation="covers all",
    )


def _rows(rows: list[object]):
    async def with_session(_config: object, _work: object) -> list[object]:
        return rows

    return with_session


def test_matches_as_json_keeps_ids_whole_and_quantities_exact(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(common, "settings", lambda: None)
    monkeypatch.setattr(queries, "with_session", _rows([_match()]))
    result = invoke("matches", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == [
        {
            "match_id": LONG_ID,
            "status": "proposed",
            "crisis_id": "c-1",
            "need_id": "n-1",
            "pledge_id": "p-1",
            "quantity": "100",
            "unit": "piece",
            "delivered_quantity": "80",
            "delivered": "80 of 100 piece",
            "why": "covers all",
        }
    ]


def test_coverage_as_json_has_every_number_and_the_needs_by_status(monkeypatch: pytest.MonkeyPatch):
    from services.matching.queries import CoverageLine

    row = CoverageLine("c-1", "shelter", "Shelter", "piece", needed=Decimal(10), proposed=Decimal(4))
    row.needs_by_status = {"open": 2}
    monkeypatch.setattr(common, "settings", lambda: None)
    monkeypatch.setattr(queries, "with_session", _rows([row]))
    [printed] = json.loads(invoke("coverage", "--format", "json").out)
    assert printed["crisis_id"] == "c-1"
    assert printed["needed"] == "10"
    assert printed["proposed"] == "4"
    assert printed["covered"] == "0"
    assert printed["shortfall"] == "10"
    assert printed["available"] == "0"
    assert printed["needs"] == {"open": 2}


def test_rejected_list_as_json_is_only_json(monkeypatch: pytest.MonkeyPatch):
    data = SimpleNamespace(
        source_topic="drx.intake.needs",
        source_partition=2,
        source_offset=17,
        event_type="org.drx.need.posted",
        event_id=LONG_ID,
        reason="unit 'box' is not accepted",
    )
    at = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    found = SimpleNamespace(at=at, data=data, rejected_by="urn:drx:service:ingest")
    monkeypatch.setattr(rejected, "_chosen", lambda *_: [found])
    result = invoke("rejected", "list", "--format", "json")
    assert json.loads(result.out) == [
        {
            "at": "2026-12-03T12:00:00+00:00",
            "from": "drx.intake.needs/2/17",
            "event_type": "org.drx.need.posted",
            "event_id": LONG_ID,
            "refused_by": "ingest",
            "reason": "unit 'box' is not accepted",
        }
    ]


def _stack() -> DevStack:
    return DevStack(
        broker="tansu",
        broker_pid=1,
        bootstrap_servers="127.0.0.1:9092",
        database_url="postgresql+psycopg://postgres:@/postgres?host=/tmp/drx-pg/pgdata",
        pg_workdir="/tmp/drx-pg",
    )


def test_dev_env_prints_a_url_psql_accepts_as_a_comment_eval_skips(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(dev, "dev_status", _stack)
    result = invoke("dev", "env")
    assert result.code == 0
    assert "# psql 'postgresql://postgres:@/postgres?host=/tmp/drx-pg/pgdata'" in result.out.splitlines()
    shell = subprocess.run(
        ["sh", "-c", result.out + "\necho $DRX_DATABASE_URL"], check=False, capture_output=True, text=True
    )
    assert shell.returncode == 0
    assert shell.stdout.strip() == _stack().database_url
