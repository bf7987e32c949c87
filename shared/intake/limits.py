"""The bounds every untrusted record must keep, checked before and while its JSON is read. Pure.

A record that breaks one of them could otherwise stop a worker rather than be refused: Python's
``json`` recurses once per nesting level (50,000 levels raise ``RecursionError``), refuses integers
of more than 4,300 digits with a ``ValueError``, and PostgreSQL refuses a NUL character in text or
JSONB. So the bytes are measured first, the nesting is counted on the text before ``json.loads``
sees it, numbers are checked as the parser meets them, and every string and array of the document
is walked once before any model or database sees it. Each refusal names the limit and where it was
broken. docs/operations.md lists the limits; :data:`LIMITS` is their single source.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LIMITS", "LimitError", "Limits", "check_headers", "check_text", "load_json"]


@dataclass(frozen=True, slots=True)
class Limits:
    """How big and how deep one input may be. The defaults suit every drx event with room to spare."""

    record_bytes: int = 64 * 1024  # the whole Kafka value or HTTP body
    depth: int = 32  # nested objects and arrays
    number_chars: int = 40  # one number as written, sign and exponent included
    string_chars: int = 4_096  # one string, key or value (fields may allow less: LongText is 4,000)
    array_items: int = 256  # one array
    object_members: int = 256  # one object
    key_chars: int = 100  # one object key (drx's own field names are far shorter)
    headers: int = 32  # Kafka headers (or HTTP headers drx reads)
    header_bytes: int = 1_024  # one header's key or value


LIMITS = Limits()

# Fields whose text may run over several lines: only here are newline, carriage return and tab allowed.
MULTILINE_FIELDS = frozenset({"description", "reason"})

# Characters that change how text around them is displayed, or hide it: a reviewer reading a need
# in the console must see what the organisation wrote. Unicode bidirectional controls and the
# zero-width and invisible format characters not needed by any language drx's users write.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r\t")

# Strings (with their escapes) as whole tokens, so the brackets counted are the structural ones.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


_SHOWN_CHARS = 60  # of a name quoted in a reason


class LimitError(ValueError):
    """The input breaks a limit; ``str()`` is the reason, in words."""


def check_headers(headers: Mapping[str, str], limits: Limits = LIMITS) -> str | None:
    """Why these headers are refused, or ``None``. Header text may hold no control character at all."""
    if len(headers) > limits.headers:
        return f"the record has {len(headers)} headers; the limit is {limits.headers}"
    for key, value in headers.items():
        for what, text in (("name", key), ("value", value)):
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > limits.header_bytes:
                return f"header {_shown(key)} {what} is {size} bytes; the limit is {limits.header_bytes}"
            if problem := check_text(text, multiline=False):
                return f"header {_shown(key)} {what}: {problem}"
    return None


def check_text(text: str, *, multiline: bool) -> str | None:
    """Why this text is refused (a control, bidi or unpaired surrogate character), or ``None``."""
    for index, char in enumerate(text):
        if multiline and char in _LINE_BREAKS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            allowed = "only line breaks and tabs are allowed here" if multiline else "none are allowed here"
            return f"control character U+{ord(char):04X} at position {index} ({allowed})"
        if category == "Cs":
            return f"unpaired surrogate U+{ord(char):04X} at position {index}"
        if char in _BIDI:
            return f"bidirectional control U+{ord(char):04X} at position {index} (it can disguise text)"
    return None


def load_json(text: str, limits: Limits = LIMITS) -> Any:
    """``json.loads`` that refuses, with :class:`LimitError`, what would break drx or mislead it.

    Refused: nesting deeper than the limit, numbers longer than the limit, ``NaN`` and
    ``Infinity`` (not JSON), an object with the same key twice (which one would count?), and any
    string, array or object over its limit or text with control characters.
    ``json.JSONDecodeError`` still means the text is not JSON at all.
    """
    _check_depth(text, limits.depth)
    document = json.loads(
        text,
        parse_int=lambda literal: _number(literal, int, limits),
        parse_float=lambda literal: _number(literal, float, limits),
        parse_constant=_not_a_number,
        object_pairs_hook=lambda pairs: _object(pairs, limits),
    )
    _check_values(document, limits)
    return document


def _check_depth(text: str, limit: int) -> None:
    depth = 0
    for token in _TOKENS.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > limit:
                raise LimitError(f"JSON is nested more than {limit} levels deep")
        elif bracket in "]}":
            depth -= 1


def _number(literal: str, kind: type[int | float], limits: Limits) -> int | float:
    if len(literal) > limits.number_chars:
        raise LimitError(
            f"a number is written with {len(literal)} characters; the limit is {limits.number_chars}"
        )
    number = kind(literal)
    if not math.isfinite(number):
        raise LimitError(f"the number {literal} is too large")
    return number


def _not_a_number(literal: str) -> Any:
    raise LimitError(f"{literal} is not a JSON number")


def _object(pairs: list[tuple[str, Any]], limits: Limits) -> dict[str, Any]:
    if len(pairs) > limits.object_members:
        raise LimitError(f"an object has {len(pairs)} members; the limit is {limits.object_members}")
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise LimitError(f"the key {_shown(key)} appears twice in one object")
        result[key] = value
    return result


def _check_values(document: Any, limits: Limits) -> None:
    for path, value in _walk(document, "", limits):
        where = path or "the message"
        if isinstance(value, list) and len(value) > limits.array_items:
            raise LimitError(f"{where}: the list has {len(value)} items; the limit is {limits.array_items}")
        if isinstance(value, str):
            if len(value) > limits.string_chars:
                raise LimitError(
                    f"{where}: the text is {len(value)} characters; the limit is {limits.string_chars}"
                )
            field = path.rsplit(".", 1)[-1]
            if problem := check_text(value, multiline=field in MULTILINE_FIELDS):
                raise LimitError(f"{where}: {problem}")


def _walk(value: Any, path: str, limits: Limits) -> Iterator[tuple[str, Any]]:
    """Every value of a parsed document with its dotted path; keys are checked on the way."""
    yield path, value
    where = path or "the message"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            if len(key) > limits.key_chars:
                raise LimitError(f"{where}: a key is {len(key)} characters; the limit is {limits.key_chars}")
            if problem := check_text(key, multiline=False):
                raise LimitError(f"{where}: a key has a {problem}")
            yield from _walk(item, inner, limits)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", limits)


def _shown(text: str) -> str:
    """A name for a reason: quoted, cut short, with anything unprintable escaped."""
    short = text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
    return ascii(short) if not short.isprintable() else repr(short)
