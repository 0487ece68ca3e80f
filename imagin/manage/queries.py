"""The back office's lists: the queue of claims and the counts, in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload

from imagin.db import get_db
from imagin.domain.roles import Role
from imagin.domain.service_fait import ServiceFait
from imagin.domain.status import PartStatus, effective_status
from imagin.domain.transitions import Action, allowed_actions
from imagin.manage.access import managed_missions
from imagin.missions.queries import MAX_MISSION_NUMBER, status_condition
from imagin.models import Claim, Exam, ExamSession, Mission, User


@dataclass(frozen=True)
class QueueFilters:
    session_id: int | None = None
    exam_id: int | None = None
    status: PartStatus | None = None
    name: str = ""
    number: int | None = None
    # Through ix_mission_bureau_service_fait.
    service_fait: ServiceFait | None = None


@dataclass(frozen=True)
class QueueRow:
    """A claim of the queue as the DEC sees it today, and whether it may be ticked."""

    mission: Mission
    pay: PartStatus
    travel: PartStatus
    # Some part waits for the DEC's validation: only such rows are offered to bulk approval.
    selectable: bool

    @classmethod
    def of(cls, mission: Mission, today: dt.date, role: Role) -> QueueRow:
        claim = mission.claim
        return cls(
            mission,
            effective_status(claim.pay, mission.ends_on, today),
            effective_status(claim.travel, mission.ends_on, today),
            any(
                Action.APPROVE in allowed_actions(status, role)
                for status in (claim.pay, claim.travel)
            ),
        )


@dataclass(frozen=True)
class QueuePage:
    missions: list[Mission]
    total: int
    page: int
    pages: int


def _filtered(query, filters: QueueFilters, today: dt.date):
    query = query.where(managed_missions())
    if filters.session_id is not None:
        query = query.where(Mission.session_id == filters.session_id)
    if filters.exam_id is not None:
        query = query.where(Mission.exam_id == filters.exam_id)
    if filters.status is not None:
        query = query.where(status_condition(filters.status, today))
    if filters.service_fait is not None:
        query = query.where(Mission.service_fait == filters.service_fait.value)
    if filters.number is not None:
        query = query.where(
            Mission.number == (filters.number if 0 < filters.number <= MAX_MISSION_NUMBER else -1)
        )
    if filters.name:
        pattern = f"%{filters.name.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(User.last_name).like(pattern),
                func.lower(User.first_name).like(pattern),
                func.lower(User.email).like(pattern),
            )
        )
    return query


def queue(filters: QueueFilters, *, page: int, per_page: int, today: dt.date) -> QueuePage:
    """Claims of the gestionnaire's bureaus, the oldest validated by their intervenant first."""
    db = get_db()
    base = _filtered(select(Mission).join(Mission.claim).join(Mission.intervenant), filters, today)
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    waiting = or_(
        Claim.pay_status == PartStatus.VALIDATED, Claim.travel_status == PartStatus.VALIDATED
    )
    missions = db.scalars(
        base.options(
            joinedload(Mission.exam),
            joinedload(Mission.session),
            joinedload(Mission.mission_type),
            joinedload(Mission.centre),
            joinedload(Mission.claim),
            joinedload(Mission.intervenant),
        )
        .order_by(
            case((waiting, 0), else_=1),
            Claim.validated_at.asc(),
            Mission.starts_on.desc(),
            Mission.number,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return QueuePage(list(missions), total, page, pages)


def status_counts() -> dict[str, dict[str, int]]:
    """Parts per session and stored status (two grouped queries, whatever the number)."""
    db = get_db()
    counts: dict[str, dict[str, int]] = {}
    for column in (Claim.pay_status, Claim.travel_status):
        rows = db.execute(
            select(ExamSession.label, column, func.count())
            .select_from(Mission)
            .join(Mission.claim)
            .join(Mission.session)
            .where(managed_missions())
            .group_by(ExamSession.label, column)
        )
        for session_label, status, count in rows:
            by_status = counts.setdefault(session_label, {})
            by_status[status] = by_status.get(status, 0) + count
    return dict(sorted(counts.items(), reverse=True))


def filter_choices() -> tuple[list[ExamSession], list[Exam]]:
    """Sessions and exams that have missions in the gestionnaire's bureaus."""
    db = get_db()
    managed = select(Mission.session_id, Mission.exam_id).where(managed_missions()).subquery()
    sessions = db.scalars(
        select(ExamSession)
        .where(ExamSession.id.in_(select(managed.c.session_id)))
        .order_by(ExamSession.code.desc())
    ).all()
    exams = db.scalars(
        select(Exam).where(Exam.id.in_(select(managed.c.exam_id))).order_by(Exam.name)
    ).all()
    return list(sessions), list(exams)
