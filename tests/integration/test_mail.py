"""Email through a real SMTP server (aiosmtpd on a local port) and into the outbox."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from services.platform.mail import Attachment, Email, send_email
from services.platform.settings import Settings
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.integration


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


MESSAGE = Email(
    to=["lm1@example.test", "uh1@example.test"],
    subject="Followup: 2 obligations lapsed",
    text="victim-letter/U1/V1 lapsed",
    html="<p>victim-letter/U1/V1 lapsed</p>",
    attachments=[Attachment("chart.png", b"\x89PNG-bytes", "image", "png")],
)


async def test_a_message_reaches_a_real_smtp_server(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=port,
        )
        await send_email(settings=settings, email=MESSAGE)
    finally:
        controller.stop()
    [received] = inbox.messages
    assert received["Subject"] == MESSAGE.subject
    assert received["To"] == "lm1@example.test, uh1@example.test"
    parts = {part.get_content_type() for part in received.walk()}
    assert {"text/plain", "text/html", "image/png"} <= parts


async def test_a_refused_connection_raises_so_the_caller_can_retry(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=1)  # type: ignore[call-arg]
    with pytest.raises(OSError):
        await send_email(settings=settings, email=MESSAGE)


async def test_without_a_server_messages_land_in_the_outbox_once(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    await send_email(settings=settings, email=MESSAGE)
    await send_email(settings=settings, email=MESSAGE)
    [written] = list((tmp_path / "outbox").glob("*.eml"))
    parsed = email.message_from_bytes(written.read_bytes())
    assert parsed["Subject"] == MESSAGE.subject
