"""What several settings groups share."""

__all__ = ["MAX_PORT"]

MAX_PORT = 65535
