"""A seeded corpus of hostile Kafka records: what a careless or malicious producer could send drx.

Issue 14 found that a handful of small records could stop a worker. Each class holds one kind of
producer mistake (or attack), aimed in turn at every topic drx reads untrusted bytes from: ingest's
four intake topics and notify's subscriptions topic. Every record starts from a valid event and
breaks it in one way, so drx's answer is about that one thing (the limits: shared/intake/limits.py).
Each carries a *marker* (``hx0300017x``) in its envelope and entity ids, to be found again when
ingest accepted it and a later consumer (matching, on ``canonical``) refused it.

Left out: header *keys* that are not UTF-8. aiokafka's producer encodes keys from ``str``, so such
a record needs a hand-built record batch (another helper in tests/support).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.kafka.topics import CRISES_IN, DECISIONS_IN, NEEDS_IN, PLEDGES_IN, SUBSCRIPTIONS_IN, TopicSpec
from tests.support import builders as b

__all__ = ["CLASSES", "TARGETS", "HostileRecord", "corpus"]

TARGETS: tuple[TopicSpec, ...] = (CRISES_IN, NEEDS_IN, PLEDGES_IN, DECISIONS_IN, SUBSCRIPTIONS_IN)
STRUCTURED = {"content-type": b.HEADERS["content-type"].encode()}
YEAR_33658_MS = 1_000_000_000_000_000  # a Kafka record timestamp in the year 33658


@dataclass(frozen=True, slots=True)
class HostileRecord:
    """One record to produce. ``must_reject`` False: valid but for its timestamps, so applying it is right."""

    kind: str
    marker: str
    topic: TopicSpec
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = tuple(STRUCTURED.items())
    timestamp_ms: int | None = None
    must_reject: bool = True


def corpus(
    seed: int = 14, per_class: int = 200, classes: tuple[str, ...] | None = None
) -> list[HostileRecord]:
    """``per_class`` records of each class (all, or those named), spread evenly over :data:`TARGETS`."""
    rng = random.Random(seed)
    records = []
    for index, (kind, make) in enumerate(CLASSES.items()):
        if classes is not None and kind not in classes:
            continue
        for n in range(per_class):
            topic = TARGETS[n % len(TARGETS)]
            marker = f"hx{index:02d}{n:05d}x"
            records.append(make(rng, topic, marker))
    return records


# -- valid starting points ---------------------------------------------------------------------


def valid(topic: TopicSpec, marker: str) -> dict[str, Any]:
    """A valid envelope for ``topic`` about an entity named ``marker`` (crisis eq-tur-2026 declared)."""
    if topic is CRISES_IN:
        return b.envelope("org.drx.crisis.declared", b.crisis(marker), b.COORDINATOR[0], event_id=marker)
    if topic is NEEDS_IN:
        return b.envelope("org.drx.need.posted", b.need(marker), b.ORGANISATION[0], event_id=marker)
    if topic is PLEDGES_IN:
        return b.envelope("org.drx.pledge.posted", b.pledge(marker), b.DONOR[0], event_id=marker)
    if topic is DECISIONS_IN:
        data = {"match_id": marker, "decision": "confirm", "decided_by": "Leyla Demir"}
        return b.envelope("org.drx.match.decided", data, b.COORDINATOR[0], event_id=marker)
    data = {
        "subscription_id": marker,
        "recipient_id": "iom-desk-leyla",
        "recipient_kind": "coordinator",
        "channel": "kafka",
    }
    return b.envelope("org.drx.subscription.set", data, b.COORDINATOR[0], event_id=marker)


def _record(kind: str, topic: TopicSpec, marker: str, value: bytes | str, **extra: Any) -> HostileRecord:
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return HostileRecord(kind, marker, topic, data, **extra)


def _text(document: Any) -> str:
    """Compact JSON, as most producers write it (30,000 two-byte items then stay under 64 KiB)."""
    return json.dumps(document, separators=(",", ":"))


def _with_literal(document: dict[str, Any], path: tuple[str, ...], literal: str) -> str:
    """The document as JSON with the value at ``path`` written as ``literal`` (no Python value can be)."""
    placeholder = "__hostile_literal__"
    _set(document, path, placeholder)
    return _text(document).replace(json.dumps(placeholder), literal, 1)


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = document
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _field(rng: random.Random, document: dict[str, Any], kinds: tuple[type, ...] = (str,)) -> tuple[str, ...]:
    """A random path to a value of one of ``kinds`` in the envelope's data (or its envelope)."""
    paths = [p for p, v in _leaves(document["data"], ("data",)) if isinstance(v, kinds) and p[-1] != "type"]
    return rng.choice(paths or [("data", "extra")])


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    else:
        yield path, value


# -- the classes -------------------------------------------------------------------------------


def wrong_types(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """A value of a JSON kind no field accepts: lists and objects for scalars, scalars for lists."""
    document = valid(topic, marker)
    roll = rng.random()
    if roll < 0.1:  # the whole envelope is not an object
        whole = rng.choice([[document], marker, 14, True, None])
        return _record("wrong types", topic, marker, _text(whole))
    if roll < 0.35:  # an envelope attribute
        attribute = rng.choice(["specversion", "id", "source", "type", "time", "subject", "data"])
        # Lists and objects only: pydantic reads a number as a time, and 1.0 is no specversion anyway.
        document[attribute] = rng.choice([[marker], {"v": marker}]) if attribute != "data" else marker
        return _record("wrong types", topic, marker, _text(document))
    path = _field(rng, document, (str, int, float, list, dict, type(None)))
    current: Any = document
    for key in path:
        current = current.get(key) if isinstance(current, dict) else None
    wrong: Any = (
        rng.choice(["x", 7, {"v": 1}]) if isinstance(current, list) else rng.choice([[1], {"v": "x"}])
    )
    _set(document, path, wrong)
    return _record("wrong types", topic, marker, _text(document))


# Integers past Python's 4,300-digit limit and past a double; then past Numeric(18,4) and int64.
_HUGE: tuple[str, ...] = ("9" * 5_000, "-" + "1" * 5_000, "1" + "0" * 400, "1e400", "-1e400", "1e20")
_HUGE += ("100000000000000000000", '"100000000000000000000"', '"1e20"', "9223372036854775808")
_NOT_POSITIVE = ("-1", '"-1"', "0", "-0.0001", "1e-400")

# Fields where zero and negatives are wrong too; a latitude of -1 is a place, so it gets huge ones only.
_POSITIVE_FIELDS: dict[TopicSpec, list[tuple[str, ...]]] = {
    CRISES_IN: [("severity",), ("revision",)],
    NEEDS_IN: [("spec", "quantity"), ("revision",)],
    PLEDGES_IN: [("spec", "quantity"), ("revision",)],
    DECISIONS_IN: [("fulfilled_quantity",)],
    SUBSCRIPTIONS_IN: [("extra",), ("digest",)],
}


def numbers(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Integers of 5,000 digits, quantities past Numeric(18,4), 2**63 and negatives."""
    document = valid(topic, marker)
    positive = _POSITIVE_FIELDS[topic]
    if topic is DECISIONS_IN:
        document["data"]["decision"] = "fulfilled"
    if topic is NEEDS_IN and rng.random() < 0.2:
        return _record(
            "numbers", topic, marker, _with_literal(document, ("data", "place", "lat"), rng.choice(_HUGE))
        )
    literal = rng.choice(_HUGE + _NOT_POSITIVE)
    path = ("data", *rng.choice(positive))
    return _record("numbers", topic, marker, _with_literal(document, path, literal))


def nan_and_infinity(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Python's JSON extensions ``NaN``, ``Infinity``, ``-Infinity``, bare or as decimal strings."""
    document = valid(topic, marker)
    if rng.random() < 0.5:  # bare, anywhere: not JSON at all
        path, literal = _field(rng, document, (str, int, float)), rng.choice(["NaN", "Infinity", "-Infinity"])
    else:  # as a decimal string, where a decimal is read
        path, literal = (
            ("data", "spec", "quantity"),
            rng.choice(['"NaN"', '"Infinity"', '"-inf"', '"sNaN"', "NaN"]),
        )
        if topic is DECISIONS_IN:
            document["data"]["decision"] = "fulfilled"
            path = ("data", "fulfilled_quantity")
    return _record("NaN and infinities", topic, marker, _with_literal(document, path, literal))


def overlong(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Strings, keys, arrays and objects past their limits, each record under 64 KiB."""
    document = valid(topic, marker)
    roll = rng.random()
    if roll < 0.3:
        _set(document, _field(rng, document), marker + "x" * rng.randint(4_097, 60_000))
    elif roll < 0.4:
        document[rng.choice(["source", "type", "subject", "id"])] = marker + "y" * rng.randint(201, 50_000)
    elif roll < 0.7:  # 30,000 items of two bytes each: 60 KB, under the size limit
        items: list[Any] = [0] * rng.choice([257, 1_000, 30_000]) if rng.random() < 0.5 else ["TUR"] * 300
        path = ("earmarks", "crises") if topic is PLEDGES_IN else ("countries",)
        _set(document, ("data", *path), items)
    elif roll < 0.85:
        document["data"]["extra"] = {f"k{i}": i for i in range(rng.randint(257, 3_000))}
    else:
        document["data"]["k" * rng.randint(101, 30_000)] = marker
    return _record("overlong strings and arrays", topic, marker, _text(document))


def deep_nesting(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Arrays or objects nested past 32 levels, up to 50,000 (which is also over the size limit)."""
    document = valid(topic, marker)
    depth = 50_000 if rng.random() < 0.1 else rng.choice([33, 100, 1_000, 10_000, 32_000])
    if rng.random() < 0.8:
        nested = "[" * depth + "]" * depth
    else:
        depth = min(depth, 10_000)  # an object level is six bytes
        nested = '{"a":' * depth + "0" + "}" * depth
    where = rng.choice([("data", "extra"), ("extra",), ("data", "title")])
    if rng.random() < 0.2:  # the whole record
        return _record("deep nesting", topic, marker, nested + f' "{marker}"')
    return _record("deep nesting", topic, marker, _with_literal(document, where, nested))


_BAD_UTF8 = (
    b"\xff",
    b"\xfe\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc3(",
    b"\x80",
    b"\xe2\x82",
)


def bad_utf8(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Bytes that are not UTF-8 inside the body: stray, overlong, surrogate, truncated; Latin-1; UTF-16."""
    value = _text(valid(topic, marker)).encode()
    roll = rng.random()
    if roll < 0.1:
        return _record("bad UTF-8 in bodies", topic, marker, _text(valid(topic, marker)).encode("utf-16"))
    if roll < 0.2:
        return _record("bad UTF-8 in bodies", topic, marker, value[:-1] + b"\xc3")
    bad = b"T\xfcrkiye" if roll < 0.3 else rng.choice(_BAD_UTF8)
    at = value.index(marker.encode()) + len(marker)  # inside the id string
    positions = [at, rng.randrange(len(value)), len(value)]
    cut = rng.choice(positions)
    return _record("bad UTF-8 in bodies", topic, marker, value[:cut] + bad + value[cut:])


_CONTROLS = (
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u061c",
    "\ud800",
    "\udfff",
)


def control_characters(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """NUL, other control characters, bidi controls and lone surrogates in ids, sources and text."""
    document = valid(topic, marker)
    char = rng.choice(_CONTROLS)
    roll = rng.random()
    if roll < 0.4:
        attribute = rng.choice(["id", "source", "type", "subject"])
        document[attribute] = f"{document.get(attribute) or marker}{char}"
    elif roll < 0.9:
        path = _field(rng, document)
        _set(document, path, f"{marker}{char}tail")
    else:
        document["data"][f"ti{char}tle"] = marker
    raw = rng.random() < 0.15 and char < "\x20"  # as the raw byte in a string, which JSON forbids
    text = json.dumps(document, ensure_ascii=not raw, separators=(",", ":"))
    return _record("control, NUL and bidi characters", topic, marker, text)


def duplicate_keys(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """The same key twice in one object: the envelope's, the data's, or a nested one."""
    document = valid(topic, marker)
    text = _text(document)
    where = rng.choice(["envelope", "data", "nested"])
    if where == "envelope":
        key = rng.choice(["id", "source", "type", "data", "specversion"])
        other = {"id": marker + "-2", "source": "urn:drx:org:intruder", "type": "org.drx.need.posted"}
        value = other.get(key, {"need_id": marker} if key == "data" else "1.0")
        return _record(
            "duplicate JSON keys", topic, marker, "{" + f"{json.dumps(key)}:{json.dumps(value)}," + text[1:]
        )
    anchor = '"data":{' if where == "data" or '"spec":{' not in text else '"spec":{'
    key, member = next(iter(document["data"].items())) if anchor == '"data":{' else ("quantity", "1")
    inserted = f"{json.dumps(key)}:{json.dumps(member)},"
    at = text.index(anchor) + len(anchor)
    return _record("duplicate JSON keys", topic, marker, text[:at] + inserted + text[at:])


def envelope_fields(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Envelope attributes missing, empty, doubled (in the body and in binary-mode headers) or wrong."""
    document = valid(topic, marker)
    roll = rng.random()
    headers = tuple(STRUCTURED.items())
    if roll < 0.35:
        del document[rng.choice(["specversion", "id", "source", "type", "data"])]
    elif roll < 0.5:
        document[rng.choice(["id", "source", "type"])] = ""
    elif roll < 0.6:
        document["specversion"] = rng.choice(["0.3", "2.0", "1.0 "])
    elif roll < 0.7:  # another topic's type, or none drx knows
        document["type"] = rng.choice(
            ["org.drx.need.exploded", "org.drx.crisis.declared", "org.drx.match.proposed"]
        )
        if topic is CRISES_IN:
            document["type"] = "org.drx.need.posted"
    elif roll < 0.85:  # binary mode as well: the attributes doubled in ce_ headers, the body an envelope
        headers = (
            ("ce_specversion", b"1.0"),
            ("ce_id", marker.encode()),
            ("ce_source", rng.choice([document["source"], "urn:drx:org:intruder"]).encode()),
            ("ce_type", document["type"].encode()),
        )
    elif roll < 0.93:  # binary mode with an attribute missing
        headers = (("ce_specversion", b"1.0"), ("ce_type", document["type"].encode()))
        return _record(
            "envelope fields missing or doubled", topic, marker, _text(document["data"]), headers=headers
        )
    else:
        body = rng.choice([b"", b"   ", b"null", b"{}", b"[]", b'"' + marker.encode() + b'"'])
        return _record("envelope fields missing or doubled", topic, marker, body)
    return _record("envelope fields missing or doubled", topic, marker, _text(document), headers=headers)


_FAR_TIMESTAMPS_MS = (YEAR_33658_MS, 0, 1, 253_402_300_800_000, 2**62)
_FAR_TIMES = ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "1970-01-01T00:00:00Z")
_BAD_TIMES = ("+33658-01-01T00:00:00Z", "2026-12-03T10:00:00", "99999-01-01T00:00:00Z", "yesterday")


def timestamps(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Kafka record timestamps in the year 33658 or 1970, and envelope times far off or malformed.

    A record wrong only in its Kafka timestamp or a well-formed far-off ``time`` is still a valid
    event: drx may apply it (with a broker-set timestamp) or refuse it, but must not stop on it.
    """
    document = valid(topic, marker)
    roll = rng.random()  # below 0.5 the Kafka timestamp only, above 0.7 the envelope's only, between both
    timestamp = rng.choice(_FAR_TIMESTAMPS_MS) if roll < 0.7 else None
    must_reject = False
    if roll >= 0.5:
        if rng.random() < 0.6:
            document["time"] = rng.choice(_FAR_TIMES)
        else:
            document["time"] = rng.choice(_BAD_TIMES)
            must_reject = True
    return _record(
        "timestamps far off", topic, marker, _text(document), timestamp_ms=timestamp, must_reject=must_reject
    )


def oversize(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Records over the 64 KiB limit: just over, around 100 KB, and about 900 KB (under Kafka's 1 MB)."""
    document = valid(topic, marker)
    size = 900_000 if rng.random() < 0.03 else rng.choice([64 * 1024 + 1, rng.randint(65_537, 120_000)])
    if rng.random() < 0.2:  # not even JSON
        return _record("records over the size limit", topic, marker, marker.encode() + bytes(size))
    filler = "x" * size
    document["data"]["title"] = filler
    value = _text(document).encode()
    if len(value) > size:  # trim the filler so the record has the size drawn
        document["data"]["title"] = filler[: max(0, size - (len(value) - size))]
        value = _text(document).encode()
    return _record("records over the size limit", topic, marker, value)


def header_abuse(rng: random.Random, topic: TopicSpec, marker: str) -> HostileRecord:
    """Too many headers, names and values over 1,024 bytes, control characters, values not UTF-8."""
    value = _text(valid(topic, marker)).encode()
    headers = list(STRUCTURED.items())
    roll = rng.random()
    if roll < 0.25:
        headers += [(f"h-{i}", marker.encode()) for i in range(rng.randint(32, 500))]
    elif roll < 0.45:
        headers.append(("x-note", marker.encode() + b"v" * rng.randint(1_025, 60_000)))
    elif roll < 0.55:
        headers.append(("n" * rng.randint(1_025, 4_000), marker.encode()))
    elif roll < 0.8:
        char = rng.choice(_CONTROLS[:-2])
        if rng.random() < 0.5:
            headers.append(("x-note", f"{marker}{char}".encode()))
        else:
            headers.append((f"x-{char}-note", marker.encode()))
    else:  # a value that is not UTF-8 (the key stays UTF-8; see the module's docstring)
        headers.append(("x-note", marker.encode() + rng.choice(_BAD_UTF8)))
    return _record("header abuse", topic, marker, value, headers=tuple(headers))


CLASSES: dict[str, Callable[[random.Random, TopicSpec, str], HostileRecord]] = {
    "wrong types": wrong_types,
    "numbers": numbers,
    "NaN and infinities": nan_and_infinity,
    "overlong strings and arrays": overlong,
    "deep nesting": deep_nesting,
    "bad UTF-8 in bodies": bad_utf8,
    "control, NUL and bidi characters": control_characters,
    "duplicate JSON keys": duplicate_keys,
    "envelope fields missing or doubled": envelope_fields,
    "timestamps far off": timestamps,
    "records over the size limit": oversize,
    "header abuse": header_abuse,
}
