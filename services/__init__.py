"""The drx workers: ingest, matching, notify. Each runs as its own process and talks only over Kafka."""
