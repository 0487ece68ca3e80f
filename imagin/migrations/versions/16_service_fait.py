"""service fait: the chefs de centre of each exam centre, the service fait of each mission,
and the bureau's setting "service fait required before the DEC validates"

Revision ID: 16_service_fait
Revises: 13_outbox_backoff
"""

import sqlalchemy as sa
from alembic import op

revision = "16_service_fait"
down_revision = "15_dossier_financier"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "centre_chief",
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"],
            ["exam_centre.id"],
            name=op.f("fk_centre_chief_centre_id_exam_centre"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_centre_chief_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("centre_id", "user_id", name=op.f("pk_centre_chief")),
    )
    op.create_index(op.f("ix_centre_chief_user_id"), "centre_chief", ["user_id"])
    # Plain ALTER TABLE ADD/DROP COLUMN (SQLite >= 3.35 too): a batch copy of mission or
    # bureau would drop tables other rows refer to. SQLite cannot add a foreign key to an
    # existing table; the application sets the column only to a user's id.
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "mission",
        sa.Column("service_fait", sa.String(length=20), server_default="a_certifier", nullable=False),
    )
    op.add_column("mission", sa.Column("service_fait_at", sa.DateTime(), nullable=True))
    op.add_column("mission", sa.Column("service_fait_by_id", sa.Integer(), nullable=True))
    op.add_column("mission", sa.Column("service_fait_reason", sa.String(length=1000), nullable=True))
    if not sqlite:
        op.create_foreign_key(
            op.f("fk_mission_service_fait_by_id_user_account"),
            "mission",
            "user_account",
            ["service_fait_by_id"],
            ["id"],
        )
    op.create_index("ix_mission_bureau_service_fait", "mission", ["bureau_id", "service_fait"])
    op.create_index("ix_mission_centre_starts_on", "mission", ["centre_id", "starts_on"])
    op.add_column(
        "bureau",
        sa.Column("service_fait_required", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_column("bureau", "service_fait_required")
    op.drop_index("ix_mission_centre_starts_on", table_name="mission")
    op.drop_index("ix_mission_bureau_service_fait", table_name="mission")
    if not sqlite:
        op.drop_constraint(
            op.f("fk_mission_service_fait_by_id_user_account"), "mission", type_="foreignkey"
        )
    for column in ("service_fait_reason", "service_fait_by_id", "service_fait_at", "service_fait"):
        op.drop_column("mission", column)
    op.drop_index(op.f("ix_centre_chief_user_id"), table_name="centre_chief")
    op.drop_table("centre_chief")
