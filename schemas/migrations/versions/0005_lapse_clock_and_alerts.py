"""lapse clock and alerts: cursor, alarms, alerts, digests, deliveries, tracking outbox;
obligations indexed by (rule, state, due) and updated_at so the clock never scans them all

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:35:43.791162
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schemas.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("urn", sa.String(), nullable=True),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("fell_due_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("raised_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("repeat_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("deliver_after", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("alerted_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("obligation_id", "due", "level", name="uq_alarms_step"),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alarms_obligation_id"), ["obligation_id"], unique=False
        )
        batch_op.create_index("ix_alarms_repeat_at", ["repeat_at"], unique=False)
        batch_op.create_index(
            "ix_alarms_unalerted",
            ["id"],
            unique=False,
            postgresql_where=sa.text("alerted_at IS NULL"),
            sqlite_where=sa.text("alerted_at IS NULL"),
        )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("obligation_id", sa.String(), nullable=False),
        sa.Column("obligation_ref", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("urn", sa.String(), nullable=True),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("fell_due_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("raised_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("deliver_after", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("snoozed_until", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_by", sa.String(), nullable=True),
        sa.Column("snooze_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("obligation_id", "due", "level", "recipient", name="uq_alerts_key"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_digest_id"), ["digest_id"], unique=False)
        batch_op.create_index("ix_alerts_obligation_due", ["obligation_id", "due"], unique=False)
        batch_op.create_index("ix_alerts_snoozed_until", ["snoozed_until"], unique=False)
        batch_op.create_index(
            "ix_alerts_state_deliver_after", ["state", "deliver_after"], unique=False
        )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest_id", "channel", name="uq_deliveries_channel"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_state_next", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("slot", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("created_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("sent_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient", "slot", name="uq_digests_slot"),
    )
    op.create_table(
        "lapse_clock",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("started_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("cursor", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("scanned_to", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tracking_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("tracking_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tracking_outbox_state_next", ["state", "next_attempt_at"], unique=False
        )

    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_obligations_rule_state_due", ["rule", "state", "due"], unique=False
        )
        batch_op.create_index("ix_obligations_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_updated_at")
        batch_op.drop_index("ix_obligations_rule_state_due")

    with op.batch_alter_table("tracking_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_outbox_state_next")

    op.drop_table("tracking_outbox")
    op.drop_table("lapse_clock")
    op.drop_table("digests")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state_next")

    op.drop_table("deliveries")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state_deliver_after")
        batch_op.drop_index("ix_alerts_snoozed_until")
        batch_op.drop_index("ix_alerts_obligation_due")
        batch_op.drop_index(batch_op.f("ix_alerts_digest_id"))

    op.drop_table("alerts")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_alarms_unalerted")
        batch_op.drop_index("ix_alarms_repeat_at")
        batch_op.drop_index(batch_op.f("ix_alarms_obligation_id"))

    op.drop_table("alarms")
