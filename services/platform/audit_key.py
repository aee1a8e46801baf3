"""The Ed25519 key that signs audit checkpoints, kept in a file outside the database
(docs/contract.md section 8, "Added: signed checkpoints"): someone able to rewrite the database
cannot sign a checkpoint for the rewritten chain."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.platform.private_files import make_data_dir
from services.platform.settings import Settings

KEY_FILE = "audit-signing.key"


class AuditKeyError(ValueError):
    """The key file cannot be read as an Ed25519 private key; the message says which file."""


def key_path(settings: Settings) -> Path:
    return settings.audit_key_file or settings.data_dir / KEY_FILE


def signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey:
    """The private key from FOLLOWUP_AUDIT_KEY_FILE (default <data_dir>/audit-signing.key),
    made (0600, PEM) on first use when `create`."""
    path = key_path(settings)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise AuditKeyError(f"no audit signing key at {path}") from None
        return _make_key(path, settings)
    return _load(path, text)


def _load(path: Path, text: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(text, password=None)
    except ValueError as error:
        raise AuditKeyError(f"{path} is not a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def _make_key(path: Path, settings: Settings) -> Ed25519PrivateKey:
    if settings.audit_key_file is None:
        make_data_dir(settings.data_dir)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:  # O_EXCL: two processes starting together agree on the first one's key
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load(path, path.read_bytes())
    with os.fdopen(handle, "wb") as out:
        out.write(pem)
    return key


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.strip()))
    except ValueError as error:
        raise AuditKeyError(f"not an Ed25519 public key (64 hex digits): {error}") from None


def sign_bytes(key: Ed25519PrivateKey, message: bytes) -> str:
    return key.sign(message).hex()


def signature_ok(public: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
