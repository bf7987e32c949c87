"""Notify's email channel against a real local SMTP server (aiosmtpd).

Only :meth:`Channels.send` is under test: one attempt, its outcome, and whether another attempt
may help. Retrying is the delivery loop's (tests/integration/notify/test_delivery.py); webhooks
are in test_channels_webhook.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from services.notify.channels import Channels, message_id
from shared.infra._process import free_port
from tests.support.outgoing import NOW, TIMEOUT_S, failure, mail, settings

# --- an SMTP server --------------------------------------------------------------------------------


class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1. ``refuse`` makes it answer RCPT with that reply."""

    def __init__(self, *, password: str | None = None) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.refuse: str | None = None
        self.logins: list[str] = []
        self.port = free_port()
        options: dict[str, Any] = {}
        if password is not None:
            options = {"auth_require_tls": False, "auth_required": False, "authenticator": self._login}
            self._password = password
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    def _login(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: LoginPassword
    ) -> AuthResult:
        self.logins.append(data.login.decode())
        return AuthResult(success=data.password.decode() == self._password, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope, message))
        return "250 accepted"

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


# --- email -----------------------------------------------------------------------------------------


class TestEmail:
    async def test_the_mail_arrives_with_the_headers_receivers_deduplicate_on(self, mailbox):
        sender = Channels(settings(smtp_port=mailbox.port, email_from="drx@relief.example.org"))
        await sender.send(mail(), now=NOW)
        ((envelope, message),) = mailbox.messages
        assert envelope.mail_from == "drx@relief.example.org"
        assert envelope.rcpt_tos == ["leyla@example.org"]
        assert message["From"] == "drx@relief.example.org"
        assert message["To"] == "leyla@example.org"
        assert message["Subject"] == "Proposed: 250 piece for Blankets"
        assert message["X-Drx-Delivery"] == "dlv-0a1b2c3d4e5f60718293a4b5"
        assert message["Message-ID"] == "<dlv-0a1b2c3d4e5f60718293a4b5@relief.example.org>"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Date"].datetime == NOW.replace(microsecond=0)
        assert message.get_content_type() == "text/plain"
        assert message.get_content().strip() == mail().text

    async def test_every_attempt_carries_the_same_message_id(self, mailbox):
        sender = Channels(settings(smtp_port=mailbox.port))
        await sender.send(mail(), now=NOW)
        await sender.send(mail(), now=NOW + dt.timedelta(minutes=5))
        ids = {message["Message-ID"] for _, message in mailbox.messages}
        assert ids == {message_id("dlv-0a1b2c3d4e5f60718293a4b5", "drx@localhost")}

    async def test_a_multi_line_subject_is_folded_onto_one_line(self, mailbox):
        sender = Channels(settings(smtp_port=mailbox.port))
        await sender.send(mail(subject="Filled:\r\nBcc: everyone@example.org"), now=NOW)
        ((_, message),) = mailbox.messages
        assert message["Subject"] == "Filled: Bcc: everyone@example.org"
        assert message["Bcc"] is None

    async def test_a_permanent_refusal_is_final(self, mailbox):
        mailbox.refuse = "550 5.1.1 no such user here"
        sender = Channels(settings(smtp_port=mailbox.port))
        error = await failure(sender, mail())
        assert error.retryable is False
        assert str(error) == "SMTP 550 5.1.1 no such user here (RCPT TO l***@example.org)"
        assert mailbox.messages == []

    async def test_a_temporary_refusal_is_retryable(self, mailbox):
        mailbox.refuse = "451 4.7.1 greylisted, try again later"
        sender = Channels(settings(smtp_port=mailbox.port))
        error = await failure(sender, mail())
        assert error.retryable is True
        assert str(error).startswith("SMTP 451 4.7.1 greylisted")

    async def test_credentials_are_used_and_a_wrong_password_is_final(self):
        with Mailbox(password="right") as box:
            good = Channels(settings(smtp_port=box.port, smtp_username="drx", smtp_password="right"))
            await good.send(mail(), now=NOW)
            bad = Channels(settings(smtp_port=box.port, smtp_username="drx", smtp_password="wrong"))
            error = await failure(bad, mail())
        assert box.logins[0] == "drx"
        assert len(box.messages) == 1
        assert error.retryable is False
        assert str(error).startswith("SMTP 535")

    async def test_required_starttls_on_a_server_without_it_is_an_error(self, mailbox):
        sender = Channels(settings(smtp_port=mailbox.port, smtp_starttls=True))
        error = await failure(sender, mail())
        assert "STARTTLS" in str(error)
        assert mailbox.messages == []

    async def test_no_smtp_server_is_retryable(self):
        port = free_port()
        error = await failure(Channels(settings(smtp_port=port)), mail())
        assert error.retryable is True
        assert str(error).startswith(f"cannot connect to SMTP server 127.0.0.1:{port}")

    async def test_a_server_that_never_greets_times_out_retryably(self):
        connected: list[asyncio.StreamWriter] = []
        silent = await asyncio.start_server(lambda _reader, writer: connected.append(writer), "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        try:
            error = await failure(Channels(settings(smtp_port=port)), mail())
        finally:
            for writer in connected:
                writer.close()
            silent.close()
            await silent.wait_closed()
        assert error.retryable is True
        assert str(error) == f"timed out after {TIMEOUT_S} s talking to SMTP server 127.0.0.1:{port}"

    @pytest.mark.parametrize(
        "address", ["leyla", "leyla@", "two@at@example.org", "a b@example.org", "x@y.org\r\nBcc: z@y.org"]
    )
    async def test_a_malformed_address_is_final_and_nothing_is_sent(self, mailbox, address):
        sender = Channels(settings(smtp_port=mailbox.port))
        error = await failure(sender, mail(address))
        assert error.retryable is False
        assert str(error).startswith("malformed email address")
        assert mailbox.messages == []
