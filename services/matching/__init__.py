"""The matching service (see docs/ and the issue tracker for its scope)."""
