"""Untrusted input: parsing bytes into typed events (``parsing``) and reading them off Kafka (``kafka``)."""
