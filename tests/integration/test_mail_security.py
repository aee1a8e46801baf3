"""SMTP with STARTTLS or TLS from the first byte, and a login (docs/contract.md, section 11):
against aiosmtpd presenting a certificate made in the test, trusted through
FOLLOWUP_SMTP_CA_FILE."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.platform.mail import Email, send_email
from services.platform.settings import Settings
from tests.e2e.conftest import free_port
from tests.integration.alerting import Inbox
from tests.integration.tls_certificate import self_signed

pytestmark = pytest.mark.integration

MESSAGE = Email(to="lm1@example.test", subject="Followup: 1 obligation to act on", text="hi")


@dataclass
class Logins:
    """Accepts one user and password; records every mechanism and login tried."""

    tried: list[tuple[str, str]] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login = data.login.decode()
        self.tried.append((mechanism, login))
        ok = (login, data.password.decode()) == ("followup", "s3cret")
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def starttls_server(
    certificate: tuple[Path, Path],
) -> Iterator[tuple[Inbox, Logins, int]]:
    """Offers STARTTLS and requires it, and a login, before any mail; AUTH LOGIN only."""
    inbox, logins, port = Inbox(), Logins(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=logins,
        auth_exclude_mechanism=["PLAIN"],
    )
    controller.start()
    yield inbox, logins, port
    controller.stop()


def settings(tmp_path: Path, port: int, ca: Path | None, **more: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_ca_file=ca,
        smtp_sender="followup@cps.example",
        **more,
    )


async def test_starttls_and_auth_login_deliver_the_message(
    tmp_path: Path, certificate: tuple[Path, Path], starttls_server: tuple[Inbox, Logins, int]
) -> None:
    inbox, logins, port = starttls_server
    chosen = settings(
        tmp_path,
        port,
        certificate[0],
        smtp_security="starttls",
        smtp_username="followup",
        smtp_password="s3cret",
    )
    await send_email(settings=chosen, email=MESSAGE)
    [received] = inbox.messages
    assert logins.tried == [("LOGIN", "followup")]
    assert received["X-RcptTo"] == "lm1@example.test"
    assert received["From"] == "followup@cps.example"
    assert received["Date"] and received["Message-ID"].endswith("@cps.example>")


async def test_a_wrong_password_raises_so_the_delivery_is_retried(
    tmp_path: Path, certificate: tuple[Path, Path], starttls_server: tuple[Inbox, Logins, int]
) -> None:
    inbox, _, port = starttls_server
    chosen = settings(
        tmp_path,
        port,
        certificate[0],
        smtp_security="starttls",
        smtp_username="followup",
        smtp_password="wrong",
    )
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await send_email(settings=chosen, email=MESSAGE)
    assert inbox.messages == []


async def test_an_untrusted_certificate_is_refused(
    tmp_path: Path, starttls_server: tuple[Inbox, Logins, int]
) -> None:
    inbox, logins, port = starttls_server
    chosen = settings(
        tmp_path,
        port,
        None,  # the system's authorities do not know the test's certificate
        smtp_security="starttls",
        smtp_username="followup",
        smtp_password="s3cret",
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        await send_email(settings=chosen, email=MESSAGE)
    assert (inbox.messages, logins.tried) == ([], [])


async def test_starttls_is_never_given_up_for_clear_text(tmp_path: Path) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)  # offers no STARTTLS
    controller.start()
    try:
        with pytest.raises(smtplib.SMTPNotSupportedError):
            await send_email(
                settings=settings(tmp_path, port, None, smtp_security="starttls"), email=MESSAGE
            )
    finally:
        controller.stop()
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls_with_a_login(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    inbox, logins, port = Inbox(), Logins(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context(certificate),
        auth_required=True,
        # aiosmtpd counts only STARTTLS as TLS; this connection is TLS from its first byte.
        auth_require_tls=False,
        authenticator=logins,
    )
    controller.start()
    try:
        chosen = settings(
            tmp_path,
            port,
            certificate[0],
            smtp_security="ssl",
            smtp_username="followup",
            smtp_password="s3cret",
        )
        await send_email(settings=chosen, email=MESSAGE)
    finally:
        controller.stop()
    [received] = inbox.messages
    assert received["Subject"] == MESSAGE.subject
    assert [login for _, login in logins.tried] == ["followup"]


@pytest.mark.parametrize(
    ("more", "says"),
    [
        ({"smtp_username": "followup", "smtp_password": "x"}, "FOLLOWUP_SMTP_SECURITY"),
        ({"smtp_security": "ssl", "smtp_username": "followup"}, "FOLLOWUP_SMTP_PASSWORD"),
    ],
)
def test_a_login_needs_tls_and_both_halves(tmp_path: Path, more: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Settings(_env_file=None, data_dir=tmp_path, **more)  # type: ignore[call-arg]
