"""Email out: over SMTP when a server is set, else into an outbox directory of .eml files so
the embedded default (and the demo) shows exactly what would have been sent."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from services.platform.settings import Settings


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass(frozen=True, slots=True)
class Email:
    to: Sequence[str]
    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    # Set by callers that may send the same message twice (a retry after a timeout), so a
    # receiving system can tell the copies apart from two different messages.
    message_id: str | None = None


def build_message(email: Email, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    message["Subject"] = email.subject
    if email.message_id:
        message["Message-ID"] = email.message_id
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    for item in email.attachments:
        message.add_attachment(
            item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename
        )
    return message


async def send_email(*, settings: Settings, email: Email) -> None:
    """Raises on any failure (refused recipient, server down): the caller retries."""
    message = build_message(email, sender=settings.smtp_sender)
    if settings.smtp_host is None:
        await asyncio.to_thread(
            _to_outbox, settings.data_dir / "outbox", _fingerprint(email), message
        )
        return
    await asyncio.to_thread(
        _over_smtp, settings.smtp_host, settings.smtp_port, settings.smtp_timeout, message
    )


def _over_smtp(host: str, port: int, timeout: float, message: EmailMessage) -> None:
    with smtplib.SMTP(host, port, timeout=timeout) as client:
        client.send_message(message)


def _fingerprint(email: Email) -> str:
    """Named by what the message says (MIME boundaries are random), so writing the same
    message again (a retry) leaves one file."""
    digest = hashlib.sha256()
    for part in (email.message_id or "", *email.to, email.subject, email.text, email.html or ""):
        digest.update(part.encode() + b"\0")
    for item in email.attachments:
        digest.update(item.filename.encode() + b"\0" + item.content)
    return digest.hexdigest()[:24]


def _to_outbox(directory: Path, name: str, message: EmailMessage) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.tmp"
    temporary.write_bytes(bytes(message))
    temporary.replace(directory / f"{name}.eml")
