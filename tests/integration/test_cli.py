"""The command line as a user meets it."""

from shared.kafka.topics import TOPICS
from tests.support.cli import run_drx


def test_invalid_setting_fails_at_start_naming_the_variable():
    result = run_drx("topics", "create", env={"DRX_KAFKA_PARTITIONS": "0"})
    assert result.returncode == 2
    assert "DRX_KAFKA_PARTITIONS" in result.stderr


def test_topics_and_db_commands_against_real_servers(kafka, database):
    env = {
        "DRX_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": kafka.settings.topic_prefix,
        "DRX_KAFKA_PARTITIONS": "2",
        "DRX_DATABASE_URL": database.url,
    }
    created = run_drx("topics", "create", env=env)
    assert created.returncode == 0, created.stderr
    assert f"created {len(TOPICS)} topic(s)" in created.stdout
    listed = run_drx("topics", "list", env=env)
    assert f"{kafka.settings.topic_prefix}rejected" in listed.stdout
    upgraded = run_drx("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr


def test_demo_refuses_a_scenario_that_is_not_one_before_starting_anything(tmp_path):
    """The demo itself runs in tests/integration/test_demo.py; here only its argument checks."""
    missing = run_drx("demo", "--scenario", str(tmp_path / "missing.json"))
    assert missing.returncode == 2
    assert "missing.json" in missing.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        '{"format": "drx-demo/1", "name": "x", "phases": [{"name": "p", "events": '
        '[{"type": "org.drx.need.exploded", "source": "s", "data": {}}]}]}'
    )
    refused = run_drx("demo", "--scenario", str(wrong))
    assert refused.returncode == 2
    assert "org.drx.need.exploded" in refused.stderr
