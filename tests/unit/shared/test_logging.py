import io
import json
import logging

import structlog

from shared.logging import configure_logging, get_logger


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


class TestNoContactsInLogs:
    """Whatever a line or its traceback says, URLs and email addresses are redacted in it."""

    def teardown_method(self):
        configure_logging()

    def test_json_lines_and_their_tracebacks_are_scrubbed(self):
        out = io.StringIO()
        configure_logging("INFO", "json", stream=out)
        log = get_logger("test")
        log.info("sent", to="amina@example.org", detail={"url": ["https://h.example.org/t/SECRET"]})
        try:
            _fail("cannot post to https://h.example.org/t/SECRET for amina@example.org")
        except ValueError:
            log.exception("failed")
        logging.getLogger("aiokafka.x").warning("library says %s", "amina@example.org")
        text = out.getvalue()
        assert "SECRET" not in text
        assert "amina@" not in text
        assert "a***@example.org" in text
        lines = [json.loads(line) for line in text.strip().splitlines()]
        assert len(lines) == 3
        assert lines[0]["detail"] == {"url": ["https://h.example.org/…"]}

    def test_console_lines_and_their_tracebacks_are_scrubbed(self):
        out = _Tty()
        configure_logging("INFO", "auto", stream=out)
        try:
            _fail("cannot post to https://h.example.org/t/SECRET")
        except ValueError:
            get_logger("test").exception("failed", to="amina@example.org")
        text = out.getvalue()
        assert "SECRET" not in text
        assert "amina@" not in text
        assert "ValueError" in text


def _fail(message: str) -> None:
    raise ValueError(message)
