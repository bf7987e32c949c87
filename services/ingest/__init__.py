"""The ingest service (see docs/ and the issue tracker for its scope)."""
