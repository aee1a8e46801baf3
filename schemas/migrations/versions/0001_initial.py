"""staff, cases, events received, tracks, obligations, dead letters

Revision ID: 0001
Revises:
Create Date: 2026-11-22 08:17:48.618455
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schemas.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("urn", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("event_time", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("urn"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_area"), ["area"], unique=False)

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("stream_entry_id", sa.String(), nullable=True),
        sa.Column("event_source", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("received_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letters_status"), ["status"], unique=False)

    op.create_table(
        "events_received",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("time", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id"),
    )
    with op.batch_alter_table("events_received", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_received_type"), ["type"], unique=False)

    op.create_table(
        "obligations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("urn", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("created_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_obligations_area"), ["area"], unique=False)
        batch_op.create_index(batch_op.f("ix_obligations_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_obligations_rule"), ["rule"], unique=False)
        batch_op.create_index("ix_obligations_state_due", ["state", "due"], unique=False)
        batch_op.create_index(batch_op.f("ix_obligations_urn"), ["urn"], unique=False)

    op.create_table(
        "staff",
        sa.Column("staff_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("line_manager", sa.String(), nullable=True),
        sa.Column("event_time", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_area"), ["area"], unique=False)

    op.create_table(
        "tracks",
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("urn", sa.String(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("updated_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule", "key"),
    )
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracks_urn"), ["urn"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracks_urn"))

    op.drop_table("tracks")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_area"))

    op.drop_table("staff")
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligations_urn"))
        batch_op.drop_index("ix_obligations_state_due")
        batch_op.drop_index(batch_op.f("ix_obligations_rule"))
        batch_op.drop_index(batch_op.f("ix_obligations_owner"))
        batch_op.drop_index(batch_op.f("ix_obligations_area"))

    op.drop_table("obligations")
    with op.batch_alter_table("events_received", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_received_type"))

    op.drop_table("events_received")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_status"))

    op.drop_table("dead_letters")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_area"))

    op.drop_table("cases")
