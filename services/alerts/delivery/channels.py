"""The JSON webhook a digest goes out on beside email (services/mail.py). Both raise on failure;
the caller keeps the delivery and retries it with backoff."""

from __future__ import annotations

from typing import Any

import httpx


async def post_webhook(*, url: str, body: dict[str, Any], seconds: float = 10.0) -> None:
    async with httpx.AsyncClient(timeout=seconds) as client:
        response = await client.post(url, json=body)
        response.raise_for_status()
