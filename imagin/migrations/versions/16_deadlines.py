"""deadlines and the missing official rules: the session's closing date for entries, the
DEC's reopening of a claim, the reminders queued once each; an optional test paid 75 %
of the hourly rate; the single night ceiling of a disabled worker with reduced mobility

Revision ID: 16_deadlines
Revises: 13_outbox_backoff
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "16_deadlines"
down_revision = "16_service_fait"
branch_labels = None
depends_on = None

# Arrêté du 20 septembre 2023: €150 a night, wherever it is, for a recognised disabled
# worker with reduced mobility, from 2023-09-22 (with the other new amounts).
HANDICAP_NIGHT = ("night", "handicap", 15000, dt.date(2023, 9, 22), None)


# Plain ADD/DROP COLUMN, no batch: on SQLite a batch copies the table, and these tables
# are referenced by others (a copy fails on their foreign keys).
def _columns():
    return (
        ("exam_session", sa.Column("entries_close_on", sa.Date(), nullable=True)),
        ("claim", sa.Column("reopened_until", sa.Date(), nullable=True)),
        (
            "exam",
            sa.Column("optional_test", sa.Boolean(), server_default=sa.false(), nullable=False),
        ),
        (
            "user_account",
            sa.Column("reduced_mobility", sa.Boolean(), server_default=sa.false(), nullable=False),
        ),
    )


def upgrade():
    for table, column in _columns():
        op.add_column(table, column)
    op.create_table(
        "deadline_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
            name=op.f("fk_deadline_reminder_claim_id_claim"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_reminder")),
        sa.UniqueConstraint(
            "claim_id", "days_before", "closes_on", name=op.f("uq_deadline_reminder_claim_id")
        ),
    )
    rate = sa.table(
        "rate",
        sa.column("kind", sa.String),
        sa.column("code", sa.String),
        sa.column("amount_cents", sa.Integer),
        sa.column("valid_from", sa.Date),
        sa.column("valid_to", sa.Date),
    )
    kind, code, cents, start, end = HANDICAP_NIGHT
    op.bulk_insert(
        rate,
        [{"kind": kind, "code": code, "amount_cents": cents, "valid_from": start, "valid_to": end}],
    )


def downgrade():
    op.execute("DELETE FROM rate WHERE kind = 'night' AND code = 'handicap'")
    op.drop_table("deadline_reminder")
    for table, column in reversed(_columns()):
        # SQLite ≥ 3.35 and PostgreSQL both drop a column in place.
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
