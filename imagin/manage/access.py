"""Who may manage what: gestionnaires see the missions of their own bureaus only."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import joinedload

from imagin.db import get_db
from imagin.domain.roles import MANAGERS, Role
from imagin.missions.queries import MAX_MISSION_NUMBER, MISSION_HEADER, WHOLE_CLAIM
from imagin.models import Mission, bureau_member


def require_manager() -> None:
    """Anyone but a gestionnaire or an admin gets the same 404 as for a missing page.

    :raise 404: for intervenants, so the back office does not even show it exists.
    """
    if current_user.role not in MANAGERS:
        abort(404)


def managed_missions() -> ColumnElement[bool]:
    """SQL condition: the mission belongs to one of the current user's bureaus."""
    if current_user.role == Role.ADMIN:
        return true()
    return Mission.bureau_id.in_(managed_bureau_ids())


def managed_bureau_ids():
    """SQL: the ids of the bureaus the current user manages (every bureau for an admin)."""
    from imagin.models import Bureau

    if current_user.role == Role.ADMIN:
        return select(Bureau.id)
    return select(bureau_member.c.bureau_id).where(bureau_member.c.user_id == current_user.id)


def get_managed_mission(number: int) -> Mission:
    """Load a mission of one of the current gestionnaire's bureaus, with its whole claim.

    :raise 404: if the mission does not exist or belongs to another bureau.
    """
    if not 0 < number <= MAX_MISSION_NUMBER:
        abort(404)
    mission = get_db().scalar(
        select(Mission)
        .where(Mission.number == number, managed_missions())
        .options(*MISSION_HEADER, joinedload(Mission.claim), *WHOLE_CLAIM)
    )
    if mission is None:
        abort(404)
    return mission
