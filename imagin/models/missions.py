"""Exams, sessions, centres, mission types and the missions themselves."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imagin.db import Base

if TYPE_CHECKING:
    from imagin.models.claims import Claim
    from imagin.models.people import Bureau, User


class Exam(Base):
    """An exam and its pay-rate class: "copy:1".."copy:5", "hour:1".."hour:4" or "NR"."""

    __tablename__ = "exam"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rate_class: Mapped[str] = mapped_column(String(10))
    # An optional oral or practical test, or a one-off PE test: 75 % of the hourly rate.
    optional_test: Mapped[bool] = mapped_column(default=False, server_default=false())


class ExamSession(Base):
    """A session such as "Session décembre 2022"."""

    __tablename__ = "exam_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    # Last day the intervenants may enter and validate their claims (None: no closing date,
    # sessions imported before closing dates existed).
    entries_close_on: Mapped[dt.date | None]


class ExamCentre(Base):
    __tablename__ = "exam_centre"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    commune: Mapped[str] = mapped_column(String(100))


class MissionType(Base):
    """What the intervenant enters for pay: "copies", "candidates_hours" or "hours"."""

    __tablename__ = "mission_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    pay_basis: Mapped[str] = mapped_column(String(20))


class Mission(Base):
    __tablename__ = "mission"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    intervenant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"), index=True)
    mission_type_id: Mapped[int] = mapped_column(ForeignKey("mission_type.id"))
    centre_id: Mapped[int] = mapped_column(ForeignKey("exam_centre.id"))
    bureau_id: Mapped[int] = mapped_column(ForeignKey("bureau.id"), index=True)
    specialite: Mapped[str] = mapped_column(String(200), default="")
    epreuve_option: Mapped[str] = mapped_column(String(200), default="")
    pay_applies: Mapped[bool] = mapped_column(default=True)
    travel_applies: Mapped[bool] = mapped_column(default=True)
    cancelled: Mapped[bool] = mapped_column(default=False)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Copies of the first and last mission day, so lists sort and filter in SQL.
    starts_on: Mapped[dt.date] = mapped_column(index=True)
    ends_on: Mapped[dt.date]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())

    intervenant: Mapped[User] = relationship()
    exam: Mapped[Exam] = relationship()
    session: Mapped[ExamSession] = relationship()
    mission_type: Mapped[MissionType] = relationship()
    centre: Mapped[ExamCentre] = relationship()
    bureau: Mapped[Bureau] = relationship()
    days: Mapped[list[MissionDay]] = relationship(
        back_populates="mission", order_by="MissionDay.day", cascade="all, delete-orphan"
    )
    claim: Mapped[Claim] = relationship(back_populates="mission", cascade="all, delete-orphan")


class MissionDay(Base):
    """One day of a mission: its date, start time and duration in days (1 or 0.5)."""

    __tablename__ = "mission_day"
    __table_args__ = (UniqueConstraint("mission_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"))
    day: Mapped[dt.date]
    start_time: Mapped[dt.time]
    # Half days as an integer, so no floating point ever reaches the database.
    half_days: Mapped[int] = mapped_column(default=2)

    mission: Mapped[Mission] = relationship(back_populates="days")
