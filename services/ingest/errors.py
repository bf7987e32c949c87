"""Ingest's errors. Transient ones are retried (the message is read again); a rejection is final."""

from __future__ import annotations

from shared.failures import TransientError

__all__ = ["IngestError", "RetryableConflictError"]


class IngestError(Exception):
    """Root of ingest's own errors."""


class RetryableConflictError(IngestError, TransientError):
    """Transient: another transaction created the same entity first. Retry the message."""
