"""CloudEvents 1.0 envelope, carried on Kafka in structured JSON mode.

drx *produces* structured mode only: the Kafka value is the whole envelope as JSON, with header
``content-type: application/cloudevents+json``. Any producer can write that with a plain JSON
string, and `kcat` shows everything in one place.

drx *accepts* binary mode too (CloudEvents Kafka binding): attributes in ``ce_*`` headers and the
value is the ``data`` JSON. :func:`envelope_from_binary` turns that into the same envelope.

The event ``id`` is the producer's and must be stable across retries: ``source`` + ``id`` is what
every consumer deduplicates on. FastStream's own message id (offset-timestamp) is not used.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "envelope_from_binary",
    "new_event",
]

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope. ``data`` is validated against the type's model separately."""

    model_config = ConfigDict(extra="allow", frozen=True)  # extension attributes are allowed

    specversion: Literal["1.0"] = Field(description="CloudEvents version; always 1.0.")
    id: str = Field(min_length=1, max_length=200, description="Producer's event id; unique per source.")
    source: str = Field(
        min_length=1,
        max_length=200,
        description="Who produced it, as a URI-reference (e.g. urn:drx:org:trc-gaziantep).",
    )
    type: str = Field(min_length=1, max_length=100, description="Event type, e.g. org.drx.need.posted.")
    time: AwareDatetime | None = Field(default=None, description="When it happened, RFC 3339 with offset.")
    subject: str | None = Field(default=None, max_length=200, description="The entity it is about.")
    datacontenttype: Literal["application/json"] | None = Field(default="application/json")
    correlationid: str | None = Field(
        default=None, max_length=200, description="Extension: ties together events of one flow."
    )
    data: Any = Field(default=None, description="The payload; its schema depends on `type`.")

    def dedupe_key(self) -> str:
        """What consumers record to apply this event once: source and id, as CloudEvents defines."""
        return f"{self.source} {self.id}"


def new_event(
    type_: str,
    source: str,
    data: BaseModel,
    *,
    subject: str | None = None,
    time: dt.datetime,
    event_id: str | None = None,
    correlation_id: str | None = None,
) -> CloudEvent:
    """An envelope for an event drx emits."""
    return CloudEvent(
        specversion="1.0",
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type_,
        time=time,
        subject=subject,
        correlationid=correlation_id,
        data=data.model_dump(mode="json", exclude_none=True),
    )


def envelope_from_binary(headers: dict[str, str], data: Any) -> dict[str, Any]:
    """The structured form of a binary-mode message: ``ce_<attr>`` headers plus the value as data."""
    envelope: dict[str, Any] = {
        name.removeprefix("ce_"): value for name, value in headers.items() if name.startswith("ce_")
    }
    envelope["data"] = data
    return envelope
