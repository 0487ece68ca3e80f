"""receipt links, frozen amounts by category, ids never reused

A document now justifies any number of receipts (``receipt_link``), each named by
a stable reference (the leg, expense, night or meal it justifies) instead of the
one ``document.receipt_key`` string; the existing keys become links. The travel
amounts by category are frozen at validation (``frozen_amount``). On SQLite,
legs and expenses get AUTOINCREMENT ids, so that a deleted one's id is never given
to a new one (a document linked to the deleted entry must not justify the new).

Revision ID: 10_receipt_links
Revises: 12_portal_identities
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "10_receipt_links"
down_revision = "12_portal_identities"
branch_labels = None
depends_on = None

# The keys the documents stored: "leg-12", "expense-7", "night-2022-12-02",
# "meal-2024-06-12-dejeuner"; anything else ("autre", empty) justified nothing listed.
OLD_KEYS = (
    (re.compile(r"^leg-(\d+)$"), "leg", lambda m: m.group(1)),
    (re.compile(r"^expense-(\d+)$"), "expense", lambda m: m.group(1)),
    (re.compile(r"^night-(\d{4}-\d{2}-\d{2})$"), "night", lambda m: m.group(1)),
    (
        re.compile(r"^meal-(\d{4}-\d{2}-\d{2})-(dejeuner|diner)$"),
        "meal",
        lambda m: f"{m.group(1)}:{m.group(2)}",
    ),
)


def _link_of(key):
    for pattern, kind, value in OLD_KEYS:
        match = pattern.match(key or "")
        if match:
            return kind, value(match)
    return None


def upgrade():
    connection = op.get_bind()
    # Read before the column goes: on SQLite, dropping it copies the table, and the
    # copy's DROP would cascade to links already made.
    keys = connection.execute(
        sa.text("SELECT id, receipt_key FROM document WHERE receipt_key IS NOT NULL")
    ).all()
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("receipt_key")

    receipt_link = op.create_table(
        "receipt_link",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_receipt_link_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "kind", "key", name=op.f("pk_receipt_link")),
    )
    op.create_table(
        "frozen_amount",
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
            name=op.f("fk_frozen_amount_claim_id_claim"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("claim_id", "category", name=op.f("pk_frozen_amount")),
    )

    links = []
    for document_id, key in keys:
        link = _link_of(key)
        if link is not None:
            links.append({"document_id": document_id, "kind": link[0], "key": link[1], "label": ""})
    if links:
        op.bulk_insert(receipt_link, links)

    if connection.dialect.name == "sqlite":
        for table in ("travel_leg", "expense"):
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        for table in ("travel_leg", "expense"):
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": False}
            ):
                pass
    # Back to one key per document: the first of its links (read before the copy of
    # the document table on SQLite cascades to them).
    links = connection.execute(
        sa.text("SELECT document_id, kind, key FROM receipt_link ORDER BY document_id, kind, key")
    ).all()
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_key", sa.String(length=100), nullable=True))
    for document_id, kind, key in links:
        old = f"{kind}-{key.replace(':', '-')}"
        connection.execute(
            sa.text("UPDATE document SET receipt_key = :key WHERE id = :id AND receipt_key IS NULL"),
            {"key": old, "id": document_id},
        )
    op.drop_table("frozen_amount")
    op.drop_table("receipt_link")
