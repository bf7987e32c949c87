from shared.kafka.topics import REJECTED, TOPICS, topic_name


def test_names_are_prefixed_and_unique():
    names = [topic_name("drx.", spec) for spec in TOPICS]
    assert len(set(names)) == len(names)
    assert all(name.startswith("drx.") for name in names)
    assert topic_name("prod.", REJECTED) == "prod.rejected"
