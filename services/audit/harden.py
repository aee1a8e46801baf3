"""The PostgreSQL set-up under which the service's own role cannot rewrite the audit trail
(docs/contract.md section 8, "Added: a role that cannot rewrite the trail").

The tables are owned by the role that runs the migrations; the service logs in as another
role, which is granted what the service does and no more. Only a table's owner (or a
superuser) can TRUNCATE without the privilege, ALTER TABLE ... DISABLE TRIGGER or drop the
append-only triggers, and only a superuser can SET session_replication_role (which would
switch every trigger off): so the service's role can only append to the trail."""

from __future__ import annotations

import re

APPEND_ONLY = ("audit_entries", "audit_checkpoints")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def hardening_sql(*, role: str, owner: str | None = None) -> str:
    """SQL to run once, as the tables' owner, after `followup` has migrated the database."""
    for name in (role, owner):
        if name is not None and not _NAME.match(name):
            raise ValueError(f"{name!r} is not a plain role name (lower case, digits, _)")
    owner_clause = owner or "CURRENT_USER"
    lines = [
        "-- Followup: the service's role may append to the audit trail, never rewrite it.",
        "-- Run as the role that owns the tables (the one that ran the migrations).",
        f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
        "NOBYPASSRLS NOREPLICATION; EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
        f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS NOREPLICATION;",
        f"GRANT USAGE ON SCHEMA public TO {role};",
        f"REVOKE CREATE ON SCHEMA public FROM {role};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role};",
    ]
    for table in APPEND_ONLY:
        lines.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role};")
        lines.append(f"GRANT SELECT, INSERT ON {table} TO {role};")
    lines += [
        "-- Tables made by later migrations: the same grants (run by the owner).",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_clause} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_clause} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {role};",
        "",
    ]
    if owner is None:
        lines[-3] = lines[-3].replace("FOR ROLE CURRENT_USER ", "")
        lines[-2] = lines[-2].replace("FOR ROLE CURRENT_USER ", "")
    return "\n".join(lines)
