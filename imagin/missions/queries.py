"""Loading missions for the signed-in intervenant; access is checked in every query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import abort
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from imagin.db import get_db
from imagin.domain.status import PartStatus
from imagin.models import AuditEvent, Claim, ExamSession, Mission

# The largest mission number the database can hold; anything above is simply unknown.
MAX_MISSION_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class MissionPage:
    missions: list[Mission]
    total: int
    page: int
    pages: int


def get_own_mission(number: int, intervenant_id: int, *options) -> Mission:
    """Load a mission of this intervenant with everything its header shows.

    ``options`` are extra loader options for what a tab needs besides the header
    (e.g. the claim's legs), so that it is loaded in the same few queries.

    :raise 404: if the mission does not exist or belongs to someone else — the
        same answer, so nobody can probe for other people's missions.
    """
    if not 0 < number <= MAX_MISSION_NUMBER:
        abort(404)
    mission = get_db().scalar(
        select(Mission)
        .where(Mission.number == number, Mission.intervenant_id == intervenant_id)
        .options(
            joinedload(Mission.exam),
            joinedload(Mission.session),
            joinedload(Mission.mission_type),
            joinedload(Mission.centre),
            joinedload(Mission.bureau),
            joinedload(Mission.claim),
            selectinload(Mission.days),
            *options,
        )
    )
    if mission is None:
        abort(404)
    return mission


def status_condition(status: PartStatus, today: dt.date):
    """SQL for "either part shows ``status``", with "en cours" derived from the date."""
    if status is PartStatus.IN_PROGRESS:
        waiting = or_(
            Claim.pay_status == PartStatus.NOT_VALIDATED,
            Claim.travel_status == PartStatus.NOT_VALIDATED,
        )
        return and_(waiting, Mission.ends_on >= today)
    either = or_(Claim.pay_status == status, Claim.travel_status == status)
    if status is PartStatus.NOT_VALIDATED:
        return and_(either, Mission.ends_on < today)
    return either


def _filtered(query: Select, session_id: int | None, status: PartStatus | None, today: dt.date):
    if session_id is not None:
        query = query.where(Mission.session_id == session_id)
    if status is not None:
        query = query.where(status_condition(status, today))
    return query


def list_own_missions(
    intervenant_id: int,
    *,
    session_id: int | None,
    status: PartStatus | None,
    page: int,
    per_page: int,
    today: dt.date,
) -> MissionPage:
    """One page of the intervenant's missions, newest first, in two queries."""
    db = get_db()
    base = select(Mission).join(Mission.claim).where(Mission.intervenant_id == intervenant_id)
    base = _filtered(base, session_id, status, today)
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    missions = db.scalars(
        base.options(
            joinedload(Mission.exam),
            joinedload(Mission.session),
            joinedload(Mission.mission_type),
            joinedload(Mission.centre),
            joinedload(Mission.claim),
        )
        .order_by(Mission.starts_on.desc(), Mission.number.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return MissionPage(list(missions), total, page, pages)


def own_sessions(intervenant_id: int) -> list[ExamSession]:
    """The sessions the intervenant has missions in, for the filter."""
    return list(
        get_db().scalars(
            select(ExamSession)
            .where(
                ExamSession.id.in_(
                    select(Mission.session_id).where(Mission.intervenant_id == intervenant_id)
                )
            )
            .order_by(ExamSession.code.desc())
        )
    )


def history(mission_id: int) -> list[AuditEvent]:
    """The claim's history, newest first."""
    return list(
        get_db().scalars(
            select(AuditEvent)
            .where(AuditEvent.mission_id == mission_id)
            .options(joinedload(AuditEvent.actor))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
    )
