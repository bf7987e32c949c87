"""Validation errors in words people can act on."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe_errors"]


def describe_errors(error: ValidationError, prefix: str = "") -> str:
    """Pydantic errors as one readable line: ``data.spec.quantity: must be greater than 0``."""
    parts = []
    for item in error.errors(include_url=False):
        location = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        # A tagged union puts the tag in the path (spec.supplies.quantity); drop it for readers.
        location = location.replace(".funds.", ".").replace(".supplies.", ".").replace(".skills.", ".")
        message = item["msg"].removeprefix("Value error, ")
        where = f"{prefix}{location}" if location else prefix.rstrip(".") or "message"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
