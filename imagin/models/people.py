"""Users (intervenants, gestionnaires, admins) and the DEC offices (bureaus)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, false, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imagin.db import Base
from imagin.domain.roles import Role

if TYPE_CHECKING:
    from imagin.models.identities import PortalIdentity

bureau_member = Table(
    "bureau_member",
    Base.metadata,
    Column("bureau_id", ForeignKey("bureau.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class Bureau(Base):
    """A DEC office: every mission belongs to one, gestionnaires belong to some."""

    __tablename__ = "bureau"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(400), default="")
    # Whether the DEC waits for the centre's service fait before validating a part.
    service_fait_required: Mapped[bool] = mapped_column(default=True, server_default=true())

    members: Mapped[list[User]] = relationship(secondary=bureau_member, back_populates="bureaus")


class User(Base):
    """Someone who signs in; an intervenant imported without a password cannot yet."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    # An imagin.domain.roles.Role.
    role: Mapped[str] = mapped_column(String(20), default=Role.INTERVENANT.value)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Part of the session cookie: changing it signs out every session of the user.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    family_commune: Mapped[str] = mapped_column(String(100), default="")
    admin_commune: Mapped[str] = mapped_column(String(100), default="")
    vehicle_cv: Mapped[int | None]
    # Recognised disabled worker (RQTH) with reduced mobility: a single night ceiling.
    reduced_mobility: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())

    bureaus: Mapped[list[Bureau]] = relationship(secondary=bureau_member, back_populates="members")
    # Académie staff signing in through the portal (no local password then).
    identities: Mapped[list[PortalIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def display_name(self) -> str:
        return self.name_for(self.first_name, self.last_name, self.email)

    @staticmethod
    def name_for(first_name: str, last_name: str, email: str) -> str:
        """ "Claire MARTIN", or the address of an account imported without a name."""
        return f"{first_name} {last_name.upper()}".strip() or email

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()
