"""Helpers for the alert tests: a settable clock, a real SMTP inbox, a real webhook server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from services.rules.calendar import LONDON


def london(text: str) -> datetime:
    """'2023-12-22 09:00' as an aware Europe/London instant."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


@dataclass
class SimClock:
    """Injected into the clock: tests move it through weeks in seconds."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


def start_smtp(port: int) -> tuple[Inbox, Controller]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return inbox, controller


@dataclass
class Webhook:
    """A minimal HTTP server on a local port: records JSON POST bodies; can be told to fail."""

    port: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    failing: bool = False
    server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        body = await reader.readexactly(length)
        if self.failing:
            status = b"503 Service Unavailable"
        else:
            self.bodies.append(json.loads(body))
            status = b"204 No Content"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
