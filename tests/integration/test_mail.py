"""Email through a real SMTP server (aiosmtpd on a local port) and into the outbox."""

from __future__ import annotations

import email
import os
import stat
from dataclasses import replace
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from services.platform.mail import AddressRefused, Attachment, Email, send_email
from services.platform.settings import Settings
from services.rules.calendar import LONDON
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.integration


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


MESSAGE = Email(
    to="lm1@example.test",
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
    assert received["To"] == "lm1@example.test"
    assert received["X-RcptTo"] == "lm1@example.test"
    parts = {part.get_content_type() for part in received.walk()}
    assert {"text/plain", "text/html", "image/png"} <= parts


async def test_a_refused_connection_raises_so_the_caller_can_retry(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=1)  # type: ignore[call-arg]
    with pytest.raises(OSError):
        await send_email(settings=settings, email=MESSAGE)


async def test_without_a_server_messages_land_in_the_outbox_once(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    usual = os.umask(0o022)  # what a library caller may have: the outbox is private anyway
    try:
        await send_email(settings=settings, email=MESSAGE)
        await send_email(settings=settings, email=MESSAGE)
    finally:
        os.umask(usual)
    [written] = list((tmp_path / "outbox").glob("*.eml"))
    parsed = email.message_from_bytes(written.read_bytes())
    assert parsed["Subject"] == MESSAGE.subject
    assert stat.S_IMODE(written.stat().st_mode) == 0o600  # names people and cases
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700


async def test_every_message_has_a_date_and_a_message_id(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, smtp_sender="alerts@cps.example")  # type: ignore[call-arg]
    written_at = datetime(2024, 1, 9, 9, 0, 1, tzinfo=LONDON)
    await send_email(settings=settings, email=replace(MESSAGE, subject="one"))
    await send_email(
        settings=settings,
        email=replace(MESSAGE, subject="two", message_id="<digest-7@followup>", date=written_at),
    )
    parsed = {
        m["Subject"]: m
        for m in (
            email.message_from_bytes(p.read_bytes()) for p in (tmp_path / "outbox").glob("*.eml")
        )
    }
    assert parsed["one"]["From"] == "alerts@cps.example"
    assert parsed["one"]["Message-ID"].endswith("@cps.example>")
    assert parsedate_to_datetime(parsed["one"]["Date"]).tzinfo is not None
    assert parsed["two"]["Message-ID"] == "<digest-7@followup>"
    assert parsedate_to_datetime(parsed["two"]["Date"]) == written_at


@pytest.mark.parametrize(
    "address",
    [
        "lm1@example.test>, <uh1@example.test",
        "Esme Tolliver <lm1@example.test>",
        "lm1@example.test,uh1@example.test",
        "lm1@example.test\r\nBcc: uh1@example.test",
        " lm1@example.test",
        "",
    ],
)
async def test_an_address_that_is_not_one_plain_address_is_refused_before_anything_is_sent(
    tmp_path: Path, address: str
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(AddressRefused):
        await send_email(settings=settings, email=replace(MESSAGE, to=address))
    assert not (tmp_path / "outbox").exists()


async def test_a_subject_from_event_data_cannot_add_a_header(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    hostile = replace(MESSAGE, subject="Weekly summary: Area\r\nBcc: uh1@example.test")
    await send_email(settings=settings, email=hostile)
    [written] = list((tmp_path / "outbox").glob("*.eml"))
    parsed = email.message_from_bytes(written.read_bytes())
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Weekly summary: Area Bcc: uh1@example.test"
