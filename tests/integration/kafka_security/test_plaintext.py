"""On a cluster reached over PLAINTEXT there are no principals: ``drx topics create`` writes no ACLs."""

from __future__ import annotations

from shared.kafka.topics import TOPICS
from tests.support.cli import run_drx


def test_topics_create_over_plaintext_says_it_wrote_no_acls(kafka):
    env = {
        "DRX_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": kafka.settings.topic_prefix,
        "DRX_KAFKA_INTEGRATIONS": "trc-gaziantep=organisation",
        "COLUMNS": "250",
    }
    done = run_drx("topics", "create", env=env)
    assert done.returncode == 0, done.stderr
    assert f"created {len(TOPICS)} topic(s)" in done.stdout
    assert "no ACLs written: Kafka is reached over PLAINTEXT, without principals" in done.stdout
    assert "ACL(s)" not in done.stdout
