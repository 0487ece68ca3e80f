"""DEC queue: the closing-date filter counts the few claims the DEC reopened from an
index on claim.reopened_until (the others follow their session's date, found by
exam_session.entries_close_on)

Revision ID: 16_queue_oldest_first
Revises: 16_deadlines
"""

from alembic import op

revision = "16_queue_oldest_first"
down_revision = "16_deadlines"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_claim_reopened_until", "claim", ["reopened_until"])
    op.create_index("ix_exam_session_entries_close_on", "exam_session", ["entries_close_on"])


def downgrade():
    op.drop_index("ix_exam_session_entries_close_on", table_name="exam_session")
    op.drop_index("ix_claim_reopened_until", table_name="claim")
