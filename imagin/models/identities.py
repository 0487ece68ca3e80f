"""How académie staff are known to the portal, and the journal of portal sign-ins."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imagin.db import Base

if TYPE_CHECKING:
    from imagin.models.people import User

# How a portal identity reached IMAG'IN: the portal's agent headers, or OpenID Connect.
HEADERS = "headers"
OIDC = "oidc"
# The issuer recorded for identities handed over in headers (OIDC identities keep theirs).
HEADERS_ISSUER = "portail"


class PortalIdentity(Base):
    """A staff member as the portal knows him: a stable subject, linked to one account.

    The subject is ``ct-remote-user`` (headers) or the ID token's ``sub`` (OpenID
    Connect), unique per issuer. What the portal said about him is refreshed at
    each sign-in.
    """

    __tablename__ = "portal_identity"
    __table_args__ = (UniqueConstraint("method", "issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(10))
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    # codaca, and FrEduFonctAdm (e.g. ["DIR"]): who he is in the académie.
    academy: Mapped[str] = mapped_column(String(20), default="")
    functions: Mapped[list[str]] = mapped_column(JSON, default=list)
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime]
    last_sign_in_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship(back_populates="identities")
    establishments: Mapped[list[PortalEstablishment]] = relationship(
        order_by="(PortalEstablishment.responsible.desc(), PortalEstablishment.uai)",
        cascade="all, delete-orphan",
    )


class PortalEstablishment(Base):
    """An establishment (UAI) the portal lists for a staff member, and whether he heads it.

    From ``FrEduRne`` (where he works) and ``FrEduRneResp`` (what he is responsible
    for): one row per UAI, so that exam centres can later be matched to the
    establishments of their head (chef de centre) by an indexed join.
    """

    __tablename__ = "portal_establishment"
    __table_args__ = (UniqueConstraint("identity_id", "uai", "responsible"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("portal_identity.id", ondelete="CASCADE"), index=True
    )
    uai: Mapped[str] = mapped_column(String(8), index=True)
    responsible: Mapped[bool] = mapped_column(default=False)
    # The whole value as the portal sent it ("0450782F$UAJ$PU$N$T3$LYC$340"): its type, sector…
    raw: Mapped[str] = mapped_column(String(255), default="")


class AuthEvent(Base):
    """A sign-in through the portal, a refused attempt, an account created, rights changed."""

    __tablename__ = "auth_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(30))
    method: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(255))
    # The direct peer, then the client it forwarded for when they differ ("10.0.0.5 → 192.0.2.7").
    address: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship()
