"""E-mails waiting to be sent: kept until the SMTP server accepts them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from imagin.db import Base


class OutgoingMail(Base):
    __tablename__ = "outgoing_mail"
    __table_args__ = (
        # What the senders look at: the messages still waiting.
        Index(
            "ix_outgoing_mail_waiting",
            "id",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    # Held by a sender until then (so no other sender takes it); a sender that died
    # while holding it lets it go when the lease ends.
    locked_until: Mapped[dt.datetime | None]
    # After a failure, not tried again before then (the delay doubles at each failure).
    next_attempt_at: Mapped[dt.datetime | None]


class PasswordLinkRequest(Base):
    """Someone asked for a password link for this address; the sender decides what follows.

    The form stores only the request, the same for every address, so that its
    answer, and the time it takes, cannot tell whether an account exists; the
    background sender looks the account up and queues the link, or nothing.
    """

    __tablename__ = "password_link_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
