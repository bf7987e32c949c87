import io
import json
import logging

import structlog

from shared.logging import MAX_LINE_CHARS, MAX_VALUE_CHARS, configure_logging, get_logger


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestConfigureLogging:
    def teardown_method(self):
        structlog.contextvars.clear_contextvars()
        configure_logging()

    def test_json_lines_off_a_tty_carry_bound_context(self):
        out = io.StringIO()
        configure_logging("INFO", "auto", stream=out)
        structlog.contextvars.bind_contextvars(topic="drx.intake.needs", offset=7)
        get_logger("test").info("applied", need_id="N-1")
        line = json.loads(out.getvalue().strip().splitlines()[-1])
        assert line["event"] == "applied"
        assert line["topic"] == "drx.intake.needs"
        assert line["offset"] == 7
        assert line["need_id"] == "N-1"
        assert line["level"] == "info"

    def test_standard_library_loggers_share_the_format(self):
        out = io.StringIO()
        configure_logging("INFO", "json", stream=out)
        logging.getLogger("faststream").warning("from a library")
        assert json.loads(out.getvalue().strip())["event"] == "from a library"

    def test_console_on_a_tty(self):
        out = _Tty()
        configure_logging("INFO", "auto", stream=out)
        get_logger("test").info("hello", x=1)
        text = out.getvalue()
        assert "hello" in text
        assert not text.lstrip().startswith("{")

    def test_level_filters(self):
        out = io.StringIO()
        configure_logging("WARNING", "json", stream=out)
        get_logger("test").info("quiet")
        assert out.getvalue() == ""


def _fail(error: BaseException) -> None:
    raise error


def _ping(n: int) -> int:
    return _pong(n + 1)


def _pong(n: int) -> int:  # two frames that alternate: Python cannot fold them into "repeated"
    return _ping(n + 1)


class TestBoundedLines:
    """No value, traceback or line grows without bound, and what happened still shows."""

    def teardown_method(self):
        structlog.contextvars.clear_contextvars()
        configure_logging()

    def _json_line(self, emit) -> tuple[str, dict]:
        out = io.StringIO()
        configure_logging("INFO", "json", stream=out)
        emit()
        (line,) = out.getvalue().splitlines()
        return line, json.loads(line)

    def test_a_5_mb_string_field_is_cut_and_says_how_much_more_there_was(self):
        line, record = self._json_line(lambda: get_logger("t").warning("rejected", body="x" * 5_000_000))
        assert len(line) <= MAX_LINE_CHARS
        assert record["event"] == "rejected"
        assert record["body"].startswith("x" * MAX_VALUE_CHARS)
        assert record["body"].endswith(f"… ({5_000_000 - MAX_VALUE_CHARS} more chars)")

    def test_a_deep_recursion_keeps_its_class_and_last_frames(self):
        def emit():
            try:
                _ping(0)
            except RecursionError:
                get_logger("t").exception("message failed")

        line, record = self._json_line(emit)
        assert len(line) <= MAX_LINE_CHARS
        trace = record["exception"]
        assert trace.startswith("Traceback (most recent call last):")
        assert "earlier frames)" in trace
        last_frames = "\n".join(trace.splitlines()[-10:])
        assert "in _pong" in last_frames
        assert "in _ping" in last_frames
        assert trace.endswith("RecursionError: maximum recursion depth exceeded")

    def test_a_huge_exception_message_keeps_its_class_and_start(self):
        def emit():
            try:
                _fail(ValueError("30000 errors: " + "data.earmarks.crises: too long; " * 100_000))
            except ValueError:
                get_logger("t").exception("message failed")

        line, record = self._json_line(emit)
        assert len(line) <= MAX_LINE_CHARS
        last = record["exception"].splitlines()[-1]
        assert last.startswith("ValueError: 30000 errors: data.earmarks.crises: too long;")
        assert last.endswith("more chars)")

    def test_the_cause_of_an_exception_is_kept_and_bounded(self):
        def emit():
            try:
                try:
                    _fail(KeyError("k" * 100_000))
                except KeyError as error:
                    raise RuntimeError("outer") from error
            except RuntimeError:
                get_logger("t").exception("failed")

        line, record = self._json_line(emit)
        assert len(line) <= MAX_LINE_CHARS
        trace = record["exception"]
        assert "KeyError: 'kkk" in trace
        assert "direct cause of the following exception" in trace
        assert trace.endswith("RuntimeError: outer")

    def test_standard_library_records_are_bounded_too(self):
        def emit():
            try:
                _fail(OSError("e" * 1_000_000))
            except OSError:
                logging.getLogger("aiokafka").exception("send failed: %s", "m" * 1_000_000)

        line, record = self._json_line(emit)
        assert len(line) <= MAX_LINE_CHARS
        assert record["event"].startswith("send failed: mmm")
        assert record["exception"].splitlines()[-1].startswith("OSError: eee")

    def test_many_big_fields_and_deep_values_still_make_one_bounded_json_line(self):
        nested: dict = {}
        for _ in range(50_000):
            nested = {"a": nested}
        fields = {f"field_{i}": "v" * 100_000 for i in range(20)}
        line, record = self._json_line(
            lambda: get_logger("t").info("big", nested=nested, digits=10**5000, **fields)
        )
        assert len(line) <= MAX_LINE_CHARS
        assert record["event"] == "big"
        assert record["digits"] == "<integer of 16610 bits>"

    def test_the_console_renderer_is_bounded_too(self):
        out = _Tty()
        configure_logging("INFO", "auto", stream=out)
        try:
            _ping(0)
        except RecursionError:
            get_logger("t").exception("failed", body="z" * 5_000_000)
        text = out.getvalue()
        assert len(text) <= MAX_LINE_CHARS + 1
        assert "RecursionError: maximum recursion depth exceeded" in text
        assert "more chars)" in text
