"""Demo scenarios: the format (pydantic models), the loader, and placeholder resolution.

A scenario is one JSON document (docs/demo.md describes it with examples): the sources to
register, then phases. Each phase posts events (valid ones, and invalid ones that must end on
the rejected topic with an expected reason), then takes coordinators' decisions on the matches
that exist by then; the runner waits until the pipeline is idle between phases.

Dates are written relative to the day the demo runs (``"today+10"``), so a scenario never
goes stale; ``"$WEBHOOK_URL"`` stands for the demo's local webhook receiver.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.events.errors import describe_errors
from shared.events.registry import EVENT_TYPES
from shared.kafka.topics import TOPICS

__all__ = [
    "DEFAULT_SCENARIO",
    "FORMAT",
    "WEBHOOK_URL",
    "DecisionStep",
    "EventStep",
    "Phase",
    "RawStep",
    "Scenario",
    "ScenarioError",
    "SourceSpec",
    "default_scenario_path",
    "load_scenario",
    "resolve",
]

FORMAT = "drx-demo/1"
DEFAULT_SCENARIO = "earthquake-tur-syr.json"
WEBHOOK_URL = "$WEBHOOK_URL"
"""In a subscription's ``address``: the URL of the webhook receiver the demo starts."""

_RELATIVE_DATE = re.compile(r"^today(?:([+-])(\d{1,4}))?$")
_INTAKE_TOPICS = frozenset(t.name for t in TOPICS if t.name.startswith("intake."))


class ScenarioError(ValueError):
    """The scenario file is not a valid scenario; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScopeSpec(_Model):
    """A coordinator's scope (``drx sources add --crisis --country --all``): empty means none."""

    crises: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    all: bool = False


class SourceSpec(_Model):
    """A source to register before anything is posted (``drx sources add``)."""

    source: str = Field(min_length=1, max_length=200)
    role: Literal["organisation", "donor", "coordinator"]
    party: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    scope: ScopeSpec | None = Field(default=None, description="A coordinator's crises and countries.")


class EventStep(_Model):
    """One CloudEvent to publish: its type, who sends it, and its data (docs/events.md)."""

    type: str
    source: str = Field(min_length=1)
    data: Any
    id: str | None = Field(default=None, description="Event id; default: derived from the step's position.")
    expect_rejected: str | None = Field(
        default=None, description="This event is invalid: ingest must reject it with this text in the reason."
    )

    @model_validator(mode="after")
    def _known_inbound_type(self) -> EventStep:
        spec = EVENT_TYPES.get(self.type)
        if spec is None or spec.direction != "inbound":
            inbound = sorted(t for t, s in EVENT_TYPES.items() if s.direction == "inbound")
            msg = f"type {self.type!r} is not an inbound event type; choose one of {', '.join(inbound)}"
            raise ValueError(msg)
        return self


class RawStep(_Model):
    """Raw bytes on an intake topic (to show what happens to something that is not an event)."""

    raw: str = Field(description="The Kafka value, as text.")
    topic: str = Field(description="An intake topic without prefix, e.g. intake.needs.")
    key: str | None = None
    expect_rejected: str = Field(description="Text the rejection reason must contain.")

    @model_validator(mode="after")
    def _intake_topic(self) -> RawStep:
        if self.topic not in _INTAKE_TOPICS:
            choices = ", ".join(sorted(_INTAKE_TOPICS))
            msg = f"topic {self.topic!r} is not an intake topic; choose one of {choices}"
            raise ValueError(msg)
        return self


class DecisionStep(_Model):
    """Coordinators decide on matches that exist when the step runs.

    ``confirm`` and ``reject`` pick among proposed matches, ``fulfilled`` and ``cancel`` among
    confirmed ones. Either name the match by ``need`` (and optionally ``pledge``), or take a
    ``count`` or a ``share`` of the eligible matches (optionally only of one ``category`` or
    ``sector``), chosen by a seeded shuffle of them in (need, pledge) order.
    """

    decision: Literal["confirm", "reject", "fulfilled", "cancel"]
    source: str = Field(min_length=1)
    by: str = Field(min_length=1, max_length=200, description="Who decides, for the audit trail.")
    reason: str | None = None
    need: str | None = None
    pledge: str | None = None
    count: int | None = Field(default=None, ge=1)
    share: float | None = Field(default=None, gt=0, le=1)
    category: Literal["funds", "supplies", "skills"] | None = None
    sector: str | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _one_selector(self) -> DecisionStep:
        chosen = [name for name in ("need", "count", "share") if getattr(self, name) is not None]
        if len(chosen) != 1:
            msg = "give exactly one of need, count or share"
            raise ValueError(msg)
        if self.pledge is not None and self.need is None:
            msg = "pledge is given only together with need"
            raise ValueError(msg)
        return self


class Phase(_Model):
    """Post the events, wait until the pipeline is idle, take the decisions, wait again."""

    name: str = Field(min_length=1, max_length=200)
    events: tuple[EventStep | RawStep, ...] = ()
    decisions: tuple[DecisionStep, ...] = ()


class Scenario(_Model):
    format: Literal["drx-demo/1"]
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    sources: tuple[SourceSpec, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1)

    @property
    def event_count(self) -> int:
        return sum(len(p.events) for p in self.phases)

    @property
    def webhook_subscriptions(self) -> frozenset[str]:
        """The ids of the webhook subscriptions to the demo's receiver: the ones whose secrets it reveals."""
        return frozenset(
            e.data["subscription_id"]
            for p in self.phases
            for e in p.events
            if isinstance(e, EventStep)
            and e.type == "org.drx.subscription.set"
            and isinstance(e.data, dict)
            and e.data.get("channel") == "webhook"
            and e.data.get("address") == WEBHOOK_URL
        )

    @property
    def invalid_count(self) -> int:
        return sum(1 for p in self.phases for e in p.events if e.expect_rejected is not None)

    def check(self, today: dt.date) -> None:
        """Raise :class:`ScenarioError` when a valid event's data does not fit its contract.

        Reference checks (codes, authority) are ingest's; this catches a mistyped scenario before
        a broker is started.
        """
        problems = []
        for p, phase in enumerate(self.phases):
            for e, step in enumerate(phase.events):
                if not isinstance(step, EventStep) or step.expect_rejected is not None:
                    continue
                try:
                    EVENT_TYPES[step.type].model.model_validate(resolve(step.data, today, "http://x/"))
                except ValidationError as error:
                    where = f"phases[{p}].events[{e}] ({step.type})"
                    problems.append(f"{where}: {describe_errors(error, 'data.')}")
        if problems:
            raise ScenarioError(
                "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if problems[5:] else "")
            )


def resolve(value: Any, today: dt.date, webhook_url: str) -> Any:
    """``value`` with ``today±N`` dates and ``$WEBHOOK_URL`` replaced, recursively."""
    if isinstance(value, str):
        if value == WEBHOOK_URL:
            return webhook_url
        if found := _RELATIVE_DATE.match(value):
            sign, days = found.groups()
            offset = int(days or 0) * (-1 if sign == "-" else 1)
            return str(today + dt.timedelta(days=offset))
        return value
    if isinstance(value, list):
        return [resolve(item, today, webhook_url) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, today, webhook_url) for key, item in value.items()}
    return value


def default_scenario_path() -> Path:
    return Path(str(resources.files("services.demo") / "scenarios" / DEFAULT_SCENARIO))


def load_scenario(path: Path | None = None) -> Scenario:
    """Read and validate a scenario file (the packaged default when ``path`` is None)."""
    path = path or default_scenario_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise ScenarioError(f"{path} is not JSON: {error}") from None
    try:
        return Scenario.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(f"{path} is not a drx demo scenario: {describe_errors(error)}") from None
