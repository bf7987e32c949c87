"""The notify service (see docs/ and the issue tracker for its scope)."""
