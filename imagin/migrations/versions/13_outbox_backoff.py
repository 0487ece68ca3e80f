"""outbox: a lease while a sender holds a message, and the time of the next try

Revision ID: 13_outbox_backoff
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "13_outbox_backoff"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
    # The senders only ever look at what is still waiting: a small partial index.
    op.create_index(
        "ix_outgoing_mail_waiting",
        "outgoing_mail",
        ["id"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )


def downgrade():
    op.drop_index("ix_outgoing_mail_waiting", table_name="outgoing_mail")
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("locked_until")
