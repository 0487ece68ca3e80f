"""The missions of a chef's centres for a period, grouped as he checks them: by exam, then day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from imagin.centre.access import chief_centre_ids
from imagin.db import get_db
from imagin.domain.service_fait import ServiceFait
from imagin.models import Claim, Exam, Mission

# More missions than a page shows: the chef narrows the period.
MAX_ROWS = 500


@dataclass(frozen=True)
class MissionGroup:
    exam: str
    day: dt.date
    missions: list[Mission]


@dataclass(frozen=True)
class CentrePage:
    groups: list[MissionGroup]
    count: int
    truncated: bool


def centre_missions(
    user_id: int, start: dt.date, end: dt.date, state: ServiceFait | None
) -> CentrePage:
    """Missions of the chef's centres starting in [start, end], not cancelled (two queries)."""
    query = (
        select(Mission)
        .join(Mission.exam)
        .where(
            Mission.centre_id.in_(chief_centre_ids(user_id)),
            Mission.starts_on >= start,
            Mission.starts_on <= end,
            Mission.cancelled.is_(False),
        )
    )
    if state is not None:
        query = query.where(Mission.service_fait == state.value)
    missions = (
        get_db()
        .scalars(
            query.options(
                joinedload(Mission.exam),
                joinedload(Mission.session),
                joinedload(Mission.mission_type),
                joinedload(Mission.centre),
                joinedload(Mission.intervenant),
                joinedload(Mission.claim).selectinload(Claim.hours),
            )
            .order_by(Exam.name, Mission.starts_on, Mission.number)
            .limit(MAX_ROWS + 1)
        )
        .unique()
        .all()
    )
    truncated = len(missions) > MAX_ROWS
    missions = missions[:MAX_ROWS]
    groups = [
        MissionGroup(exam, day, list(rows))
        for (exam, day), rows in groupby(missions, key=lambda m: (m.exam.name, m.starts_on))
    ]
    return CentrePage(groups, len(missions), truncated)
