"""Loading missions for the signed-in intervenant; access is checked in every query."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from flask import abort
from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import defaultload, joinedload, selectinload

from imagin.db import get_db, read_all
from imagin.domain.deadlines import Deadline, to_validate_text
from imagin.domain.status import PartStatus, effective_status
from imagin.models import (
    AuditEvent,
    Claim,
    Document,
    Exam,
    ExamCentre,
    ExamSession,
    Mission,
    MissionType,
)

# The largest mission number the database can hold; anything above is simply unknown.
MAX_MISSION_NUMBER = 2**31 - 1

# What a mission's header shows (both the intervenant's and the DEC's pages), loaded with it.
MISSION_HEADER = (
    joinedload(Mission.exam),
    joinedload(Mission.session),
    joinedload(Mission.mission_type),
    joinedload(Mission.centre),
    joinedload(Mission.bureau),
)

# Everything a claim's pages, its validation and its review read: its lines and documents.
_CLAIM = defaultload(Mission.claim)
WHOLE_CLAIM = (
    _CLAIM.selectinload(Claim.hours),
    _CLAIM.selectinload(Claim.legs),
    _CLAIM.selectinload(Claim.expenses),
    _CLAIM.selectinload(Claim.documents).selectinload(Document.links),
    joinedload(Mission.intervenant),
    selectinload(Mission.days),
)


# Only the columns the list shows, in the order MissionRow.from_columns reads them:
# plain rows cost a fraction of ORM entities with their joined relationships.
ROW_COLUMNS = (
    Mission.number,
    Mission.starts_on,
    Mission.ends_on,
    Exam.name,
    ExamSession.label,
    MissionType.label,
    ExamCentre.name,
    ExamCentre.code,
    Claim.pay_status,
    Claim.travel_status,
    Claim.pay_reason,
    Claim.travel_reason,
    ExamSession.entries_close_on,
    Claim.reopened_until,
)


def needs_intervenant(today: ColumnElement[dt.date]) -> ColumnElement[bool]:
    """SQL for "this claim waits for its intervenant now": a part to fill and validate (the
    mission is over) or to correct, while its closing date has not passed."""
    to_correct = or_(
        Claim.pay_status == PartStatus.TO_CORRECT, Claim.travel_status == PartStatus.TO_CORRECT
    )
    to_validate = and_(
        or_(
            Claim.pay_status == PartStatus.NOT_VALIDATED,
            Claim.travel_status == PartStatus.NOT_VALIDATED,
        ),
        Mission.ends_on < today,
    )
    closes_on = func.coalesce(Claim.reopened_until, ExamSession.entries_close_on)
    return and_(or_(to_correct, to_validate), or_(closes_on.is_(None), closes_on >= today))


@dataclass(frozen=True, slots=True)
class MissionRow:
    """One line of the mission list: only what it shows, statuses as users see them today."""

    number: int
    starts_on: dt.date
    exam: str
    session: str
    mission_type: str
    centre_name: str
    centre_code: str
    pay: PartStatus
    travel: PartStatus
    # The DEC's reason, only for a part sent back for correction (None otherwise).
    pay_reason: str | None
    travel_reason: str | None
    # "À valider avant le 31/08/2026" while a part waits for the intervenant.
    deadline_text: str = ""

    @classmethod
    def from_columns(cls, columns: Sequence, today: dt.date) -> MissionRow:
        """The line of the values of ``ROW_COLUMNS``, its statuses as they are on ``today``."""
        # Unpacked by position: reading a Row's columns by name costs 3 times as much.
        (
            number,
            starts_on,
            ends_on,
            exam,
            session,
            mission_type,
            centre_name,
            centre_code,
            pay_status,
            travel_status,
            pay_reason,
            travel_reason,
            session_closes_on,
            reopened_until,
        ) = columns[:14]
        pay, travel = _part_status(pay_status), _part_status(travel_status)
        deadline = Deadline(session_closes_on, reopened_until)
        return cls(
            number=number,
            starts_on=starts_on,
            exam=exam,
            session=session,
            mission_type=mission_type,
            centre_name=centre_name,
            centre_code=centre_code,
            pay=effective_status(pay, ends_on, today),
            travel=effective_status(travel, ends_on, today),
            pay_reason=correction_reason(pay, pay_reason),
            travel_reason=correction_reason(travel, travel_reason),
            deadline_text=to_validate_text(pay, deadline, today)
            or to_validate_text(travel, deadline, today),
        )


# A stored value's member by a dict lookup; PartStatus(value), which refuses an unknown
# value, only when it fails: an Enum call costs ~5 k instructions, two per row.
_PART_STATUSES = {status.value: status for status in PartStatus}


def _part_status(value: str) -> PartStatus:
    status = _PART_STATUSES.get(value)
    return status if status is not None else PartStatus(value)


def correction_reason(stored: PartStatus, reason: str | None) -> str | None:
    """The DEC's reason is shown beside a part only while it is sent back for correction."""
    return reason if stored is PartStatus.TO_CORRECT and reason else None


@dataclass(frozen=True)
class MissionPage:
    """One page of the list, with how many missions match the filters and fill how many pages."""

    missions: list[MissionRow]
    total: int
    page: int
    pages: int
    # How many of the matching missions wait for the intervenant (listed first).
    to_do: int = 0


def get_own_mission(number: int, intervenant_id: int, *options) -> Mission:
    """Load a mission of this intervenant with everything its header shows.

    ``options`` are extra loader options for what a tab needs besides the header
    (e.g. the claim's legs), so that it is loaded in the same few queries.

    :raise 404: if the mission does not exist or belongs to someone else — the
        same answer, so nobody can probe for other people's missions.
    """
    if not 0 < number <= MAX_MISSION_NUMBER:
        abort(404)
    statement = _own_mission_statement()
    if options:
        statement = statement.options(*options)
    values = {"number": number, "intervenant_id": intervenant_id}
    mission = get_db().scalar(statement, values)
    if mission is None:
        abort(404)
    return mission


# Built once, like the list's statements: building this one with its loader options, the
# history's and the payment batches' at each request cost the mission page 2.2 M
# instructions of 12.8 M (callgrind); values are bound per run.
@functools.cache
def _own_mission_statement() -> Select:
    """A mission of one intervenant, with what its header shows."""
    return (
        select(Mission)
        .where(
            Mission.number == bindparam("number"),
            Mission.intervenant_id == bindparam("intervenant_id"),
        )
        .options(*MISSION_HEADER, joinedload(Mission.claim), selectinload(Mission.days))
    )


def status_condition(status: PartStatus, today: dt.date | ColumnElement[dt.date]):
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


def _matching(query: Select, by_session: bool, status: PartStatus | None) -> Select:
    """``query`` over the intervenant's missions that match one shape of filters."""
    query = query.join(Mission.claim).where(Mission.intervenant_id == bindparam("intervenant_id"))
    if by_session:
        query = query.where(Mission.session_id == bindparam("session_id"))
    if status is not None:
        query = query.where(status_condition(status, bindparam("today")))
    return query


# Building a statement and its cache key costs more than running it on SQLite: the list's
# statements are built once per shape of filters, and the values are bound at each run.
@functools.cache
def _count_statement(by_session: bool, status: PartStatus | None) -> Select:
    """How many of the intervenant's missions match one shape of filters."""
    return _matching(select(func.count(Mission.id)), by_session, status)


@functools.cache
def _page_statement(by_session: bool, status: PartStatus | None) -> Select:
    """One page of the list's rows for one shape of filters: what waits for the intervenant
    first, soonest closing date first, then the rest newest first; each row also carries
    how many wait and how many match the filters (windows over the same rows, counted
    before LIMIT: no query more)."""
    needs = needs_intervenant(bindparam("today"))
    closes_on = func.coalesce(Claim.reopened_until, ExamSession.entries_close_on)
    to_do = func.sum(case((needs, literal(1)), else_=literal(0))).over()
    return (
        _matching(select(*ROW_COLUMNS, to_do, func.count().over()), by_session, status)
        .join(Mission.exam)
        .join(Mission.session)
        .join(Mission.mission_type)
        .join(Mission.centre)
        .order_by(
            case((needs, 0), else_=1),
            case((needs, closes_on), else_=None).asc().nulls_last(),
            Mission.starts_on.desc(),
            Mission.number.desc(),
        )
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


def list_own_missions(
    intervenant_id: int,
    *,
    session_id: int | None,
    status: PartStatus | None,
    page: int,
    per_page: int,
    today: dt.date,
) -> MissionPage:
    """One page of the intervenant's missions, newest first, with their total, in one query.

    A page past the last one (an old link) has no row to carry the total: then it is
    counted, and the last page shown instead.
    """
    # Plain rows, outside any transaction (imagin.db.Reads): the ORM would only add work.
    shape = (session_id is not None, status)
    values = {"intervenant_id": intervenant_id, "session_id": session_id, "today": today}
    page = max(page, 1)
    statement = _page_statement(*shape)
    limits = {"limit": per_page, "offset": (page - 1) * per_page}
    rows = read_all(statement, values | limits)
    if rows:
        total = rows[0][-1]
    elif page > 1:
        total = read_all(_count_statement(*shape), values)[0][0]
        page = max(1, -(-total // per_page))
        if total:
            limits = {"limit": per_page, "offset": (page - 1) * per_page}
            rows = read_all(statement, values | limits)
    else:
        total = 0
    pages = max(1, -(-total // per_page))
    return MissionPage(
        [MissionRow.from_columns(columns[:-2], today) for columns in rows],
        total,
        page,
        pages,
        to_do=int(rows[0][-2] or 0) if rows else 0,
    )


@functools.cache
def _sessions_statement() -> Select:
    return (
        select(ExamSession.id, ExamSession.label)
        .where(
            ExamSession.id.in_(
                select(Mission.session_id).where(
                    Mission.intervenant_id == bindparam("intervenant_id")
                )
            )
        )
        .order_by(ExamSession.code.desc())
    )


def own_sessions(intervenant_id: int) -> list[tuple[int, str]]:
    """The id and label of the sessions the intervenant has missions in, for the filter."""
    rows = read_all(_sessions_statement(), {"intervenant_id": intervenant_id})
    return [(id_, label) for id_, label in rows]


@functools.cache
def _history_statement() -> Select:
    return (
        select(AuditEvent)
        .where(AuditEvent.mission_id == bindparam("mission_id"))
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def history(mission_id: int) -> list[AuditEvent]:
    """The claim's history, newest first."""
    return list(get_db().scalars(_history_statement(), {"mission_id": mission_id}))
