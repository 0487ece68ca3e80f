"""DEC queue: indexes for what it filters and sorts on, and the claim counts kept by
triggers (imagin.models.counts), filled from the existing claims

Revision ID: 14_queue_indexes
Revises: 13_outbox_backoff
"""

import sqlalchemy as sa
from alembic import op

from imagin.models.counts import DROP, TRIGGERS, rebuild_counts

revision = "14_queue_indexes"
down_revision = "13_outbox_backoff"
branch_labels = None
depends_on = None

# As in imagin.models.claims: literals, so that the queries match the partial index.
WAITING_FOR_DEC = "pay_status = 'valide' OR travel_status = 'valide'"


def upgrade():
    op.create_index("ix_mission_exam_id", "mission", ["exam_id"])
    op.create_index("ix_mission_bureau_session", "mission", ["bureau_id", "session_id"])
    op.create_index("ix_mission_bureau_exam", "mission", ["bureau_id", "exam_id"])
    op.create_index(
        "ix_mission_queue", "mission", ["bureau_id", sa.text("starts_on DESC"), "number"]
    )
    op.create_index("ix_mission_bureau_ends_on", "mission", ["bureau_id", "ends_on"])
    op.create_index(
        "ix_claim_waiting",
        "claim",
        ["validated_at"],
        sqlite_where=sa.text(WAITING_FOR_DEC),
        postgresql_where=sa.text(WAITING_FOR_DEC),
    )
    op.create_index("ix_claim_validated_at", "claim", ["validated_at"])
    op.create_table(
        "claim_count",
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("pay_status", sa.String(length=30), nullable=False),
        sa.Column("travel_status", sa.String(length=30), nullable=False),
        sa.Column("validated", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["bureau.id"], name=op.f("fk_claim_count_bureau_id_bureau")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exam_session.id"],
            name=op.f("fk_claim_count_session_id_exam_session"),
        ),
        sa.PrimaryKeyConstraint(
            "bureau_id",
            "session_id",
            "pay_status",
            "travel_status",
            "validated",
            name=op.f("pk_claim_count"),
        ),
    )
    connection = op.get_bind()
    for statement in TRIGGERS[connection.dialect.name]:
        connection.exec_driver_sql(statement)
    rebuild_counts(connection)


def downgrade():
    connection = op.get_bind()
    for statement in DROP[connection.dialect.name]:
        connection.exec_driver_sql(statement)
    op.drop_table("claim_count")
    op.drop_index("ix_claim_validated_at", table_name="claim")
    op.drop_index("ix_claim_waiting", table_name="claim")
    op.drop_index("ix_mission_bureau_ends_on", table_name="mission")
    op.drop_index("ix_mission_queue", table_name="mission")
    op.drop_index("ix_mission_bureau_exam", table_name="mission")
    op.drop_index("ix_mission_bureau_session", table_name="mission")
    op.drop_index("ix_mission_exam_id", table_name="mission")
