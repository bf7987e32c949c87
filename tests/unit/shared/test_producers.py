"""Internal topics accept events only from the drx service that produces them."""

import pytest

from services.ingest.service import INGEST_SOURCE
from services.ingest.service import SCHEDULER_SOURCE as INGEST_SCHEDULER
from services.matching.outputs import MATCHING_SOURCE
from services.matching.service import SCHEDULER_SOURCE as MATCHING_SCHEDULER
from shared.events.producers import producer_refusal
from shared.kafka.topics import CANONICAL, MATCHES, NEEDS_IN


@pytest.mark.parametrize(
    ("topic", "source"),
    [
        (CANONICAL, INGEST_SOURCE),
        (CANONICAL, INGEST_SCHEDULER),
        (MATCHES, MATCHING_SOURCE),
        (MATCHES, MATCHING_SCHEDULER),
    ],
)
def test_each_internal_topic_accepts_its_producers(topic, source):
    assert producer_refusal(topic, source) is None


def test_a_coordinator_writing_canonical_is_refused_with_who_may():
    assert producer_refusal(CANONICAL, "urn:drx:coord:iom-desk") == (
        "not from a drx service: the canonical topic accepts events only from urn:drx:service:ingest, "
        "urn:drx:service:ingest:scheduler, not from source 'urn:drx:coord:iom-desk'"
    )


def test_one_service_may_not_write_the_others_topic():
    assert producer_refusal(MATCHES, INGEST_SOURCE) is not None
    assert producer_refusal(CANONICAL, MATCHING_SOURCE) is not None


def test_intake_topics_are_not_this_rules_business():
    assert producer_refusal(NEEDS_IN, "urn:drx:org:anyone") is None


def test_a_long_source_is_cut_in_the_reason():
    reason = producer_refusal(CANONICAL, "x" * 5000)
    assert reason is not None
    assert len(reason) < 400
