"""Kafka helpers shared by the services: topic names, provisioning, broker factory, log context."""
