"""The audit signing key (a file outside the database, 0600), checkpoint signatures and the
PostgreSQL hardening SQL, without a database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.audit.checkpoints import (
    Checkpoint,
    CheckpointUnreadable,
    checkpoint_from_json,
    signed_message,
)
from services.audit.harden import hardening_sql
from services.platform.audit_key import (
    AuditKeyError,
    public_hex,
    public_key_from_hex,
    sign_bytes,
    signature_ok,
    signing_key,
)
from services.platform.settings import Settings

AT = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def settings(tmp_path: Path, **more: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "var", **more)  # type: ignore[arg-type]


def test_the_key_is_made_once_owner_only_and_read_back(tmp_path: Path) -> None:
    with pytest.raises(AuditKeyError, match="no audit signing key"):
        signing_key(settings(tmp_path), create=False)
    key = signing_key(settings(tmp_path))
    path = tmp_path / "var" / "audit-signing.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert public_hex(signing_key(settings(tmp_path))) == public_hex(key)
    elsewhere = tmp_path / "keys" / "audit.pem"
    other = signing_key(settings(tmp_path, audit_key_file=elsewhere))
    assert elsewhere.exists() and public_hex(other) != public_hex(key)
    elsewhere.write_text("not a key")
    with pytest.raises(AuditKeyError, match="not a PEM private key"):
        signing_key(settings(tmp_path, audit_key_file=elsewhere))


def test_a_checkpoint_signature_covers_every_signed_field(tmp_path: Path) -> None:
    key = signing_key(settings(tmp_path))
    message = signed_message(entries=5, last_seq=5, head="ab" * 32, made_at=AT)
    made = Checkpoint(1, 5, 5, "ab" * 32, AT, "test", public_hex(key), sign_bytes(key, message))
    public = public_key_from_hex(made.public_key)
    assert signature_ok(public, made.message(), made.signature)
    for changed in (
        replace(made, entries=4),
        replace(made, last_seq=4),
        replace(made, head="cd" * 32),
        replace(made, made_at=AT.replace(minute=1)),
    ):
        assert not signature_ok(public, changed.message(), made.signature)
    assert not signature_ok(public, made.message(), "zz")
    # Read back as `audit checkpoint --json` prints it, or as the outbound event.
    assert checkpoint_from_json(json.dumps(made.to_json())) == made
    event = {"type": "audit-checkpointed", "data": made.to_json()}
    assert checkpoint_from_json(json.dumps(event)).head == made.head
    with pytest.raises(CheckpointUnreadable):
        checkpoint_from_json('{"entries": 1}')
    with pytest.raises(AuditKeyError):
        public_key_from_hex("1234")


def test_the_hardening_sql_leaves_the_service_role_append_only() -> None:
    sql = hardening_sql(role="followup_app")
    assert "NOSUPERUSER" in sql and "NOBYPASSRLS" in sql
    for table in ("audit_entries", "audit_checkpoints"):
        assert f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM followup_app;" in sql
        assert f"GRANT SELECT, INSERT ON {table} TO followup_app;" in sql
    assert "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES" in sql
    assert "FOR ROLE migrator" in hardening_sql(role="followup_app", owner="migrator")
    with pytest.raises(ValueError, match="plain role name"):
        hardening_sql(role="app; DROP TABLE audit_entries")
