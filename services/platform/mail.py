"""Email out: over SMTP when a server is set (plain, STARTTLS or TLS from the start, with a
login if configured), else into an outbox directory of .eml files so the embedded default (and
the demo) shows exactly what would have been sent. Every message has a `Date` and a
`Message-ID`, and comes from `FOLLOWUP_SMTP_SENDER`.

Each message goes to one person, at one plain address: a stored address that is anything
else is refused (AddressRefused) before a header is written, so it can neither reach someone
else nor fail for ever (docs/contract.md, section 11, "Safe outputs, mail and logs").
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import smtplib
import ssl
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from services.platform.settings import Settings
from services.platform.text_safety import plain_text


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


class AddressRefused(ValueError):
    """A stored address that is not one plain address: final for that recipient, since no
    retry can make it one."""


# What an addr-spec's local part and domain may hold here: RFC 5322's dot-atom, less what a
# list, display name, comment or quoted string needs (`,`, `<`, `>`, `"`, `(`, `;`, ...).
_LOCAL = set(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.")
_DOMAIN = set(string.ascii_letters + string.digits + "-.")
_SPECIALS = '<>,;:"()[]\\'


def plain_address(text: str) -> str:
    """`text` if it is one bare `local@domain`, ASCII, without display name, angle brackets,
    comma, whitespace or control character; else AddressRefused saying what is wrong."""
    if not text:
        raise AddressRefused("the address is empty")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise AddressRefused("the address holds whitespace or a control character")
    if not text.isascii():
        raise AddressRefused("the address is not ASCII")
    special = sorted(set(text) & set(_SPECIALS))
    if special:
        raise AddressRefused(
            f"the address holds {''.join(special)!r}: a display name, list or comment, "
            "not one plain address"
        )
    local, at, domain = text.rpartition("@")
    if not at or "@" in local:
        raise AddressRefused("the address needs exactly one @")
    stray = sorted((set(local) - _LOCAL) | (set(domain) - _DOMAIN))
    if stray:
        raise AddressRefused(f"the address holds {''.join(stray)!r}, not allowed there")
    for part, name in ((local, "local part"), (domain, "domain")):
        if not part or "" in part.split("."):
            raise AddressRefused(f"the address's {name} is empty or has an empty dot-atom")
    return text


@dataclass(frozen=True, slots=True)
class Email:
    to: str  # one recipient: never a list, so nobody else can be added to a message
    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    # Set by callers that may send the same message twice (a retry after a timeout), so a
    # receiving system can tell the copies apart from two different messages; else a new one.
    message_id: str | None = None
    # When it was written (the caller's clock); the moment it is built when not given.
    date: datetime | None = None


def build_message(email: Email, *, sender: str) -> EmailMessage:
    """Raises AddressRefused for an address that is not one plain address."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = _address(email.to)
    # Flattened to one line: a CR or LF from event data must not end the header.
    message["Subject"] = plain_text(email.subject)
    written = email.date or datetime.now(UTC)
    message["Date"] = format_datetime(written.astimezone(UTC))
    message["Message-ID"] = email.message_id or make_msgid(domain=_domain(sender))
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    for item in email.attachments:
        message.add_attachment(
            item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename
        )
    return message


def _domain(sender: str) -> str:
    """The sender's domain for new Message-IDs (never the host's name: looking it up may wait
    on DNS)."""
    domain = sender.rpartition("@")[2].strip("<> ") if "@" in sender else ""
    return domain or "followup"


def _address(text: str) -> Address:
    plain = plain_address(text)
    try:
        address = Address(addr_spec=plain)
    except (ValueError, HeaderParseError) as error:
        raise AddressRefused(f"the address does not parse: {error}") from error
    if address.addr_spec != text:
        raise AddressRefused("the address does not read back as itself")
    return address


async def send_email(*, settings: Settings, email: Email) -> None:
    """Raises AddressRefused for an address that is not one plain address (final: do not
    retry), and anything else on other failures (refused recipient, server down): the
    caller retries those."""
    message = build_message(email, sender=settings.smtp_sender)
    if settings.smtp_host is None:
        await asyncio.to_thread(
            _to_outbox, settings.data_dir / "outbox", _fingerprint(email), message
        )
        return
    await asyncio.to_thread(_over_smtp, settings, message, email.to)


def _over_smtp(settings: Settings, message: EmailMessage, recipient: str) -> None:
    assert settings.smtp_host is not None
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    security = settings.smtp_security
    context = _tls(settings) if security != "none" else None
    client = (
        smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        if security == "ssl"
        else smtplib.SMTP(host, port, timeout=timeout)
    )
    with client:
        if security == "starttls":
            # Raises when the server does not offer STARTTLS: never a silent fall back to clear.
            client.starttls(context=context)
        if settings.smtp_username is not None and settings.smtp_password is not None:
            client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        # The envelope names the one recipient; it is never read back from the headers.
        client.send_message(message, to_addrs=[recipient])


def _tls(settings: Settings) -> ssl.SSLContext:
    """The server's certificate and host name are checked: the messages name people and cases."""
    ca = settings.smtp_ca_file
    return ssl.create_default_context(cafile=str(ca) if ca else None)


def _fingerprint(email: Email) -> str:
    """Named by what the message says (MIME boundaries are random), so writing the same
    message again (a retry) leaves one file."""
    digest = hashlib.sha256()
    for part in (email.message_id or "", email.to, email.subject, email.text, email.html or ""):
        digest.update(part.encode() + b"\0")
    for item in email.attachments:
        digest.update(item.filename.encode() + b"\0" + item.content)
    return digest.hexdigest()[:24]


def _to_outbox(directory: Path, name: str, message: EmailMessage) -> None:
    """Owner-only, whatever the umask: the messages name people and cases."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = directory / f".{name}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(bytes(message))
    temporary.replace(directory / f"{name}.eml")
