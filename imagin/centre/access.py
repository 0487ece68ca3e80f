"""Who is chef de centre of what: the exam centres attached to the signed-in account."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from imagin.db import get_db
from imagin.missions.queries import MAX_MISSION_NUMBER, MISSION_HEADER
from imagin.models import Mission, centre_chief


def chief_centre_ids(user_id: int) -> Select:
    """SQL: the ids of the exam centres this account is chef de centre of."""
    return select(centre_chief.c.centre_id).where(centre_chief.c.user_id == user_id)


def require_chief() -> None:
    """Anyone attached to no exam centre gets the same 404 as for a missing page.

    :raise 404: the account is chef de centre of nothing.
    """
    if get_db().scalar(chief_centre_ids(current_user.id).limit(1)) is None:
        abort(404)


def get_chief_mission(number: int) -> Mission:
    """Load a mission of one of the current chef's centres, with its claim.

    :raise 404: if the mission does not exist or is held in another centre.
    """
    if not 0 < number <= MAX_MISSION_NUMBER:
        abort(404)
    mission = get_db().scalar(
        select(Mission)
        .where(Mission.number == number, Mission.centre_id.in_(chief_centre_ids(current_user.id)))
        .options(*MISSION_HEADER, joinedload(Mission.claim), joinedload(Mission.intervenant))
    )
    if mission is None:
        abort(404)
    return mission
