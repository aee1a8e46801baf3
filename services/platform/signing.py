"""The service's one secret key and the signed, expiring values built on it (email action links;
docs/contract.md section 12). Each use has its own salt, so a value signed for one purpose is
refused for another."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from services.platform.private_files import make_data_dir
from services.platform.settings import Settings

KEY_FILE = "secret.key"


class SignedValueRefused(ValueError):
    """The value was not signed by this service for this purpose, or has expired; the message
    says which, in words fit for the person who followed the link."""


def secret_key(settings: Settings) -> str:
    """FOLLOWUP_SECRET_KEY, else a random key kept in the data folder (0600), made once."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    make_data_dir(settings.data_dir)
    path = settings.data_dir / KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return _make_key(path)


def _make_key(path: Path) -> str:
    key = secrets.token_urlsafe(48)
    try:  # O_EXCL: two processes starting together agree on the first one's key
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(handle, "w") as out:
        out.write(key)
    return key


def sign(settings: Settings, *, purpose: str, value: Any) -> str:
    return URLSafeTimedSerializer(secret_key(settings), salt=purpose).dumps(value)


def unsign(settings: Settings, *, purpose: str, token: str, max_age_seconds: int) -> Any:
    serializer = URLSafeTimedSerializer(secret_key(settings), salt=purpose)
    try:
        return serializer.loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise SignedValueRefused("this link has expired") from None
    except BadSignature:
        raise SignedValueRefused("this link is not valid") from None
