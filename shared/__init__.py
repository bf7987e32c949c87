"""Code shared by every drx service: event contracts, settings, database, logging, Kafka helpers.

Business rules never live here; they belong to the service that owns them.
"""
