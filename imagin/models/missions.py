"""Exams, sessions, centres, mission types and the missions themselves."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint, false, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from imagin.db import Base
from imagin.domain.service_fait import ServiceFait

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
    entries_close_on: Mapped[dt.date | None] = mapped_column(
        index=True  # The DEC queue's closing-date filter: the sessions closed today.
    )


# The chefs de centre of each exam centre: they certify the service fait of its missions.
centre_chief = Table(
    "centre_chief",
    Base.metadata,
    Column("centre_id", ForeignKey("exam_centre.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class ExamCentre(Base):
    __tablename__ = "exam_centre"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    commune: Mapped[str] = mapped_column(String(100))

    chiefs: Mapped[list[User]] = relationship(secondary=centre_chief, order_by="User.email")


class MissionType(Base):
    """What the intervenant enters for pay: "copies", "candidates_hours" or "hours"."""

    __tablename__ = "mission_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    pay_basis: Mapped[str] = mapped_column(String(20))


class Mission(Base):
    __tablename__ = "mission"
    # The DEC queue (imagin.manage.queries): the filter choices ask "does this bureau
    # have a mission of this session / exam?", the claims never validated are listed per
    # bureau in the queue's order straight from the index, and "en cours" are the
    # missions not yet ended.
    __table_args__ = (
        Index("ix_mission_bureau_session", "bureau_id", "session_id"),
        Index("ix_mission_bureau_exam", "bureau_id", "exam_id"),
        Index("ix_mission_queue", "bureau_id", text("starts_on DESC"), "number"),
        Index("ix_mission_bureau_ends_on", "bureau_id", "ends_on"),
        # The DEC queue filters on the service fait within its bureaus; the chef's page
        # lists his centres' missions by date.
        Index("ix_mission_bureau_service_fait", "bureau_id", "service_fait"),
        Index("ix_mission_centre_starts_on", "centre_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    intervenant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id"), index=True)
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
    # Service fait, certified by the chef de centre (or the DEC on his behalf): a
    # imagin.domain.service_fait.ServiceFait value, when, by whom, and the reason of a
    # flag or of a certification on the centre's behalf.
    service_fait: Mapped[str] = mapped_column(
        String(20), default=ServiceFait.PENDING.value, server_default=ServiceFait.PENDING.value
    )
    service_fait_at: Mapped[dt.datetime | None]
    service_fait_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    service_fait_reason: Mapped[str | None] = mapped_column(String(1000))

    intervenant: Mapped[User] = relationship(foreign_keys=[intervenant_id])
    service_fait_by: Mapped[User | None] = relationship(foreign_keys=[service_fait_by_id])
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
