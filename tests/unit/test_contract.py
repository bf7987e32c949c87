"""The event contract: every type registered, exemplified, documented, and the docs in sync."""

import pytest

from shared.events import docs
from shared.events.examples import EXAMPLES
from shared.events.registry import EVENT_TYPES
from shared.intake.parsing import Parsed, RawMessage, parse
from shared.kafka.topics import topic_name
from tests.support.builders import HEADERS, encode


def test_generated_docs_are_in_sync_with_the_code():
    """Fails when a model changed without `python -m shared.events.docs` (CI runs this)."""
    assert docs.main(["--check"]) == 0


def test_every_event_type_has_a_valid_example():
    assert set(EXAMPLES) == set(EVENT_TYPES)
    for event in EVENT_TYPES.values():
        docs.envelope_model(event).model_validate(EXAMPLES[event.type])


@pytest.mark.parametrize("event_type", [t for t, e in EVENT_TYPES.items() if e.direction == "inbound"])
def test_inbound_examples_parse_on_their_topic(event_type):
    spec = EVENT_TYPES[event_type].topic
    raw = RawMessage(topic_name("drx.", spec), spec, 0, 0, 0, encode(EXAMPLES[event_type]), dict(HEADERS))
    assert isinstance(parse(raw), Parsed)


def test_events_md_has_one_section_per_type():
    text = (docs.DOCS / "events.md").read_text()
    for event_type in EVENT_TYPES:
        assert f"### `{event_type}`" in text
