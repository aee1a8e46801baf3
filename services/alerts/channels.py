"""The channels a digest goes out on: email (services/mail.py) and a JSON webhook. Each raises
on failure; the caller keeps the delivery and retries it with backoff."""

from __future__ import annotations

from typing import Any

import httpx

from services.mail import Email, send_email
from services.settings import Settings


async def send_by_email(*, settings: Settings, email: Email) -> None:
    await send_email(settings=settings, email=email)


async def post_webhook(*, url: str, body: dict[str, Any], seconds: float = 10.0) -> None:
    async with httpx.AsyncClient(timeout=seconds) as client:
        response = await client.post(url, json=body)
        response.raise_for_status()
