"""What relief organisations, diaspora donors and coordinators post on the intake topics.

Every posted or updated event carries the entity's whole state plus a ``revision`` that the
producer increases with each change; ingest keeps the highest revision it has seen, so an
update that arrives late (after a newer one) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.events.common import (
    Category,
    CountryCode,
    DonorRef,
    Earmarks,
    EntityId,
    LongText,
    NeedSpec,
    OrgRef,
    Place,
    PledgeSpec,
    Sector,
    ShortText,
    Urgency,
)

__all__ = [
    "CrisisClosed",
    "CrisisDeclared",
    "CrisisKind",
    "CrisisUpdated",
    "MatchDecided",
    "NeedPosted",
    "NeedUpdated",
    "NeedWithdrawn",
    "PledgePosted",
    "PledgeUpdated",
    "PledgeWithdrawn",
    "SubscriptionRemoved",
    "SubscriptionSet",
]

Revision = Annotated[int, Field(ge=1, le=1_000_000, description="Increases with every change.")]
Glide = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}-\d{4}-\d{6}-[A-Z]{3}$"),
    Field(description="GLIDE number, e.g. EQ-2023-000015-TUR."),
]
CrisisKind = Literal[
    "earthquake",
    "flood",
    "storm",
    "drought",
    "wildfire",
    "landslide",
    "tsunami",
    "volcano",
    "epidemic",
    "conflict",
    "displacement",
    "famine",
    "industrial",
    "other",
]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrisisDeclared(_Data):
    """A coordinator declares a crisis; needs are posted against it."""

    crisis_id: EntityId
    name: ShortText
    kind: CrisisKind
    countries: tuple[CountryCode, ...] = Field(min_length=1, max_length=20)
    areas: tuple[ShortText, ...] = Field(default=(), max_length=200, description="ISO 3166-2 codes or names.")
    severity: int = Field(ge=1, le=5, description="1 (minor) to 5 (catastrophic).")
    start_date: dt.date
    glide: Glide | None = None
    revision: Revision = 1


class CrisisUpdated(CrisisDeclared):
    """The crisis's whole new state (e.g. more areas affected, severity raised)."""

    revision: Revision


class CrisisClosed(_Data):
    """No more needs are accepted; open needs close and their unconfirmed matches are released."""

    crisis_id: EntityId
    reason: LongText | None = None
    revision: Revision


class NeedPosted(_Data):
    """A relief organisation needs funds, supplies or skills for a crisis."""

    need_id: EntityId
    crisis_id: EntityId
    organisation: OrgRef
    title: ShortText
    description: LongText | None = None
    sector: Sector
    urgency: Urgency
    needed_by: dt.date
    place: Place
    spec: NeedSpec
    revision: Revision = 1


class NeedUpdated(NeedPosted):
    revision: Revision


class NeedWithdrawn(_Data):
    need_id: EntityId
    reason: LongText | None = None
    revision: Revision


class PledgePosted(_Data):
    """A diaspora group or professional offers funds, supplies or skills.

    Without ``crisis_id`` it is a *standing pledge*: capacity registered before a disaster, that
    matches needs of any later crisis its earmarks allow.
    """

    pledge_id: EntityId
    donor: DonorRef
    crisis_id: EntityId | None = None
    title: ShortText
    description: LongText | None = None
    earmarks: Earmarks = Earmarks()
    available_from: dt.date
    expires_on: dt.date
    place: Place
    spec: PledgeSpec
    revision: Revision = 1

    @model_validator(mode="after")
    def _window(self) -> PledgePosted:
        if self.expires_on < self.available_from:
            msg = "expires_on is before available_from"
            raise ValueError(msg)
        return self


class PledgeUpdated(PledgePosted):
    revision: Revision


class PledgeWithdrawn(_Data):
    pledge_id: EntityId
    reason: LongText | None = None
    revision: Revision


class MatchDecided(_Data):
    """A coordinator's decision on a proposed or confirmed match."""

    match_id: EntityId
    decision: Literal["confirm", "reject", "fulfilled", "cancel"]
    reason: LongText | None = None
    fulfilled_quantity: Decimal | None = Field(
        default=None, gt=0, description="With `fulfilled`: how much arrived, when less than matched."
    )
    decided_by: ShortText | None = Field(
        default=None,
        description="Ignored, accepted for older clients: drx records the deciding source's registered name.",
    )


_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_URL = r"^https?://[^\s/]+(/\S*)?$"


class SubscriptionSet(_Data):
    """Who hears about matches, and how: a coordinator by filters, an organisation or donor as a party.

    A coordinator hears of proposals and expiries whose need passes every filter given (no filter:
    everything). An organisation or donor (``recipient_id`` = its id) hears of every match of its
    own needs or pledges. Sending it again with the same ``subscription_id`` replaces it.

    A webhook subscription names no secret: drx generates its signing secret and the operator
    hands it over (docs/webhooks.md). Its ``subscription_id`` has no ``.``, which separates the
    fields of the signed string.
    """

    subscription_id: EntityId
    recipient_id: EntityId
    recipient_kind: Literal["coordinator", "organisation", "donor"]
    channel: Literal["webhook", "email", "kafka"]
    address: ShortText | None = Field(
        default=None, description="URL (webhook) or email address; none for kafka."
    )
    digest: Literal["off", "hourly", "daily"] = "off"
    crisis_id: EntityId | None = None
    country: CountryCode | None = None
    sector: Sector | None = None
    category: Category | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_key_id(cls, value: object) -> object:
        """``key_id`` named an operator-configured secret, which any subscriber could borrow; it is gone."""
        if isinstance(value, dict) and "key_id" in value:
            msg = (
                "key_id is no longer accepted: drx generates each webhook subscription's own signing "
                "secret; send the subscription without key_id and get the secret from the drx "
                "operator (docs/webhooks.md)"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _reachable(self) -> SubscriptionSet:
        problems = []
        if self.channel == "kafka" and self.address is not None:
            problems.append("a kafka subscription has no address (it reads the notifications topic)")
        if self.channel == "email" and not re.match(_EMAIL, self.address or ""):
            problems.append(f"an email subscription needs an email address, got {_shape(self.address)}")
        if self.channel == "webhook":
            if not re.match(_URL, self.address or ""):
                problems.append(f"a webhook subscription needs an http(s) URL, got {_shape(self.address)}")
            if "." in self.subscription_id:
                problems.append("a webhook subscription id has no '.' (it separates the signed fields)")
        if self.channel == "kafka" and self.digest != "off":
            problems.append("digests are for email and webhook; kafka readers batch for themselves")
        filters = (self.crisis_id, self.country, self.sector, self.category)
        if self.recipient_kind != "coordinator" and any(f is not None for f in filters):
            problems.append("filters are for coordinators; an organisation or donor hears of its own matches")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _shape(address: str | None) -> str:
    """What a refused address looked like, without the address: reasons reach the audit log."""
    if address is None:
        return "none"
    return f"{len(address)} characters" + (", no '@'" if "@" not in address else "")


class SubscriptionRemoved(_Data):
    subscription_id: EntityId
