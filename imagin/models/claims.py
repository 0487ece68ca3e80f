"""The claim (état de frais) of a mission and everything it holds."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imagin.db import Base
from imagin.domain.refs import EntryKind, ReceiptRef
from imagin.domain.status import PartStatus

if TYPE_CHECKING:
    from imagin.models.missions import Mission
    from imagin.models.people import User

STATUS_LENGTH = 30

# The claims waiting for the DEC: a part validated by its intervenant. Written with
# literals so that SQLite and PostgreSQL match it to the partial index below.
WAITING_FOR_DEC = "pay_status = 'valide' OR travel_status = 'valide'"


class Claim(Base):
    """Both parts of a mission's claim: pay (rémunération) and travel (déplacement)."""

    __tablename__ = "claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("mission.id", ondelete="CASCADE"), unique=True
    )
    pay_status: Mapped[str] = mapped_column(String(STATUS_LENGTH), default=PartStatus.NOT_VALIDATED)
    travel_status: Mapped[str] = mapped_column(
        String(STATUS_LENGTH), default=PartStatus.NOT_VALIDATED
    )
    # Bumped on every change: a form carries it, so a stale tab cannot overwrite.
    version: Mapped[int] = mapped_column(default=1)
    done: Mapped[bool | None]
    copies: Mapped[int | None]
    candidates: Mapped[int | None]
    pay_reason: Mapped[str | None] = mapped_column(String(1000))
    travel_reason: Mapped[str | None] = mapped_column(String(1000))
    # Amounts frozen when the intervenant validates, in cents.
    pay_amount_cents: Mapped[int | None]
    travel_amount_cents: Mapped[int | None]
    validated_at: Mapped[dt.datetime | None]
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    # Set by the DEC when it reopens the claim after the session's closing date.
    reopened_until: Mapped[dt.date | None]

    __mapper_args__ = {"version_id_col": version}
    # The DEC queue lists the claims waiting for it, the oldest validated first, from
    # this small index; the others by their validation date from the second one.
    __table_args__ = (
        Index(
            "ix_claim_waiting",
            "validated_at",
            sqlite_where=text(WAITING_FOR_DEC),
            postgresql_where=text(WAITING_FOR_DEC),
        ),
        Index("ix_claim_validated_at", "validated_at"),
        # The queue's closing-date filter: the few claims the DEC reopened.
        Index("ix_claim_reopened_until", "reopened_until"),
    )

    mission: Mapped[Mission] = relationship(back_populates="claim")
    validated_by: Mapped[User | None] = relationship()
    hours: Mapped[list[HoursLine]] = relationship(
        order_by="(HoursLine.day, HoursLine.start)", cascade="all, delete-orphan"
    )
    legs: Mapped[list[TravelLeg]] = relationship(
        order_by="TravelLeg.departure_at", cascade="all, delete-orphan"
    )
    expenses: Mapped[list[Expense]] = relationship(cascade="all, delete-orphan")
    documents: Mapped[list[Document]] = relationship(
        order_by="(Document.uploaded_at, Document.id)", cascade="all, delete-orphan"
    )
    # The travel amounts by category as the intervenant saw them when validating.
    frozen_amounts: Mapped[list[FrozenAmount]] = relationship(
        order_by="FrozenAmount.category", cascade="all, delete-orphan"
    )

    @property
    def pay(self) -> PartStatus:
        return PartStatus(self.pay_status)

    @property
    def travel(self) -> PartStatus:
        return PartStatus(self.travel_status)


class DeadlineReminder(Base):
    """A reminder of the closing date queued for a claim: each kind (14 or 3 days) once."""

    __tablename__ = "deadline_reminder"
    # One reminder of each kind per closing date, even with two workers running at once.
    __table_args__ = (UniqueConstraint("claim_id", "days_before", "closes_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"))
    days_before: Mapped[int]
    # The closing date it announced: a reopening with a new date gives new reminders.
    closes_on: Mapped[dt.date]
    queued_at: Mapped[dt.datetime]


class HoursLine(Base):
    """One "horaires" line: a mission day with its start and end time."""

    __tablename__ = "hours_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date]
    start: Mapped[dt.time]
    end: Mapped[dt.time]


class TravelLeg(Base):
    """One journey of the travel part, edited in place: its id is what its receipt refers to."""

    __tablename__ = "travel_leg"
    # Ids are never given again (SQLite would reuse the highest one once deleted): a
    # document linked to a deleted leg must not end up justifying a new one.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), index=True)
    departure_at: Mapped[dt.datetime]
    departure_city: Mapped[str] = mapped_column(String(100))
    arrival_at: Mapped[dt.datetime]
    arrival_city: Mapped[str] = mapped_column(String(100))
    # "voiture", "moto", "train", "bus", "avion", "covoiturage", "taxi".
    mode: Mapped[str] = mapped_column(String(20))
    km: Mapped[int | None]
    fare_cents: Mapped[int | None]


class Expense(Base):
    """A meal, a night, a ticket, a toll, a parking fee or another cost of the travel part.

    Changed in place when the expenses form is saved again, so that the documents
    linked to an expense stay linked; ids are never given again (see TravelLeg).
    """

    __tablename__ = "expense"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), index=True)
    # An imagin.domain.travel.ExpenseKind: meal, night, ticket, toll, parking, taxi, other.
    kind: Mapped[str] = mapped_column(String(20))
    day: Mapped[dt.date | None]
    # Meals: "dejeuner"/"diner" taken "gratuit", "administratif" or "autre".
    meal: Mapped[str | None] = mapped_column(String(20))
    taken: Mapped[str | None] = mapped_column(String(20))
    commune: Mapped[str | None] = mapped_column(String(100))
    amount_cents: Mapped[int | None]
    label: Mapped[str] = mapped_column(String(200), default="")


class Document(Base):
    """A supporting document, stored under a generated name; the original name is only shown."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("claim_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # The receipts it justifies: none ("autre pièce"), one, or several.
    links: Mapped[list[ReceiptLink]] = relationship(
        cascade="all, delete-orphan", order_by="(ReceiptLink.kind, ReceiptLink.key)"
    )

    @property
    def refs(self) -> list[ReceiptRef]:
        return [link.ref for link in self.links]


class ReceiptLink(Base):
    """A document justifies the receipt of an entry (see imagin.domain.refs.ReceiptRef).

    ``label`` is what the receipt was called when the link was made, so that a
    document whose entry was deleted can still say what it justified.
    """

    __tablename__ = "receipt_link"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(300), default="")

    @property
    def ref(self) -> ReceiptRef:
        return ReceiptRef(EntryKind(self.kind), self.key)


class FrozenAmount(Base):
    """A travel amount by category, frozen when the intervenant validated the part.

    The payment export pays these: what the intervenant saw on the Récapitulatif.
    """

    __tablename__ = "frozen_amount"

    claim_id: Mapped[int] = mapped_column(
        ForeignKey("claim.id", ondelete="CASCADE"), primary_key=True
    )
    # An imagin.domain.travel.Category.
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    amount_cents: Mapped[int]


class AuditEvent(Base):
    """Who did what to a claim, when, and what it was before and after."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        ForeignKey("mission.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    action: Mapped[str] = mapped_column(String(40))
    # "pay", "travel" or None when the event concerns the whole mission.
    part: Mapped[str | None] = mapped_column(String(10))
    before: Mapped[str | None] = mapped_column(String(STATUS_LENGTH))
    after: Mapped[str | None] = mapped_column(String(STATUS_LENGTH))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship()
    mission: Mapped[Mission] = relationship()


class PaymentBatch(Base):
    """One payment export: the CSV sent to payroll, kept to be downloaded again."""

    __tablename__ = "payment_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    bureau_id: Mapped[int] = mapped_column(ForeignKey("bureau.id"))
    csv: Mapped[str] = mapped_column(Text)

    lines: Mapped[list[PaymentLine]] = relationship(cascade="all, delete-orphan")


class PaymentLine(Base):
    """A claim part sent to payment; unique so the same part is never exported twice."""

    __tablename__ = "payment_line"
    __table_args__ = (UniqueConstraint("claim_id", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batch.id", ondelete="CASCADE"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"))
    part: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int]
