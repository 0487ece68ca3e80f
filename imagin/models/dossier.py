"""The dossier financier of an intervenant, its documents, and who did what to it.

``nir``, ``iban`` and ``bic`` hold AES-GCM ciphertexts (``imagin.crypto``), never the
numbers themselves; ``imagin.dossier.service`` encrypts and decrypts them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imagin.db import Base
from imagin.domain.dossier import DossierStatus

if TYPE_CHECKING:
    from imagin.models.people import User


class Dossier(Base):
    """What payroll needs to pay an intervenant; one per person."""

    __tablename__ = "dossier_financier"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    # An imagin.domain.dossier.DossierStatus.
    status: Mapped[str] = mapped_column(String(20), default=DossierStatus.TO_PROVIDE, index=True)
    civility: Mapped[str] = mapped_column(String(1), default="")
    birth_name: Mapped[str] = mapped_column(String(100), default="")
    used_name: Mapped[str] = mapped_column(String(100), default="")
    first_names: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    birth_place: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(60), default="France")
    holder_name: Mapped[str] = mapped_column(String(200), default="")
    # Ciphertexts (imagin.crypto): never the numbers in clear.
    nir: Mapped[str | None] = mapped_column(Text)
    iban: Mapped[str | None] = mapped_column(Text)
    bic: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime | None]
    verified_at: Mapped[dt.datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Bank details or address changed since the DEC verified it.
    changed_since_verified: Mapped[bool] = mapped_column(default=False)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    documents: Mapped[list[DossierDocument]] = relationship(
        cascade="all, delete-orphan", order_by="DossierDocument.kind"
    )

    @property
    def state(self) -> DossierStatus:
        return DossierStatus(self.status)


class DossierDocument(Base):
    """One piece of the dossier (RIB, carte Vitale, notice), stored like a receipt."""

    __tablename__ = "dossier_document"
    __table_args__ = (UniqueConstraint("dossier_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(
        ForeignKey("dossier_financier.id", ondelete="CASCADE"), index=True
    )
    # An imagin.domain.dossier.DocumentKind.
    kind: Mapped[str] = mapped_column(String(10))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class DossierEvent(Base):
    """The audit trail of a dossier: submissions, checks, reveals of a number, purges.

    Kept by the purge (the dossier's row is gone then), hence the owner's id.
    """

    __tablename__ = "dossier_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    action: Mapped[str] = mapped_column(String(30))
    before: Mapped[str | None] = mapped_column(String(20))
    after: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
