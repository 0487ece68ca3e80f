"""outbox: a lease while a sender holds a message, the time of the next try, and
the password-link requests the sender turns into messages

Revision ID: 13_outbox_backoff
Revises: 10_receipt_links
"""

import sqlalchemy as sa
from alembic import op

revision = "13_outbox_backoff"
down_revision = "10_receipt_links"
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
    op.create_table(
        "password_link_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_link_request")),
    )


def downgrade():
    op.drop_table("password_link_request")
    op.drop_index("ix_outgoing_mail_waiting", table_name="outgoing_mail")
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("locked_until")
