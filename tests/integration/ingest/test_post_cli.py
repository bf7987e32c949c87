"""`drx post` as a small organisation uses it: a data file in, an event id out, the need stored."""

import json

from tests.support import builders as b
from tests.support.cli import run_drx


def drx(*args, env, stdin=None):
    return run_drx(*args, env=env, stdin=stdin)


def _env(settings):
    return {
        "DRX_KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "DRX_DATABASE_URL": settings.database.sqlalchemy_url,
        "DRX_LOG_LEVEL": "WARNING",
    }


async def test_post_need_from_a_file(ingest, tmp_path):
    await ingest.declare(b.crisis())
    path = tmp_path / "need.json"
    path.write_text(json.dumps(b.need("n-cli")))
    result = drx("post", "need", str(path), "--source", b.ORGANISATION[0], env=_env(ingest.settings))
    assert result.returncode == 0, result.stderr
    event_id = result.stdout.strip()
    assert event_id
    row = await ingest.wait_row("need", "n-cli")
    assert row.source == b.ORGANISATION[0]


def test_dry_run_prints_the_envelope_and_publishes_nothing():
    result = drx(
        "post",
        "pledge",
        "-",
        "--source",
        b.DONOR[0],
        "--dry-run",
        "--id",
        "p-1",
        env={"DRX_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},  # nothing listens there
        stdin=json.dumps(b.pledge("p-dry")),
    )
    assert result.returncode == 0, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["type"] == "org.drx.pledge.posted"
    assert envelope["id"] == "p-1"
    assert envelope["data"]["pledge_id"] == "p-dry"


def test_invalid_data_is_explained_locally():
    result = drx(
        "post",
        "need",
        "-",
        "--source",
        b.ORGANISATION[0],
        env={},
        stdin=json.dumps({**b.need(), "urgency": "soon"}),
    )
    assert result.returncode == 1
    assert "data.urgency" in result.stderr


def test_sources_add_and_list(database):
    env = {"DRX_DATABASE_URL": database.url, "DRX_LOG_LEVEL": "WARNING"}
    added = drx(
        "sources",
        "add",
        "urn:drx:org:x",
        "--role",
        "organisation",
        "--party",
        "x",
        "--name",
        "X Relief",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    listed = drx("sources", "list", env=env)
    assert "urn:drx:org:x" in listed.stdout
    assert "organisation" in listed.stdout
    refused = drx("sources", "add", "urn:y", "--role", "admin", "--party", "y", "--name", "Y", env=env)
    assert refused.returncode == 2
    assert "role must be one of" in refused.stderr
