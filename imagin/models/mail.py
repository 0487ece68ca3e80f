"""E-mails waiting to be sent: kept until the SMTP server accepts them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from imagin.db import Base


class OutgoingMail(Base):
    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
