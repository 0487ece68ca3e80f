"""Applying the domain's state machine to stored claims, with their AuditEvents.

Every change of status of a claim part goes through ``apply_transition``: the
domain decides whether it is allowed, this module records it.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy.orm import Session

from imagin.domain.transitions import Action, Role, Transition, transition
from imagin.models import AuditEvent, Mission

PARTS = ("pay", "travel")


class Actor(Protocol):
    """Who acts: the signed-in user (``SignedInUser``) or a loaded ``User``."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


def mission_ended(mission: Mission, today: dt.date) -> bool:
    """A mission can be validated from the day after its last day."""
    return today > mission.ends_on


def validation_possible_from(mission: Mission) -> dt.date:
    return mission.ends_on + dt.timedelta(days=1)


def apply_transition(
    db: Session,
    mission: Mission,
    part: str,
    action: Action,
    actor: Actor,
    *,
    now: dt.datetime,
    reason: str | None = None,
    detail: dict | None = None,
) -> Transition:
    """Move one part of the mission's claim; raise TransitionRefused when not allowed.

    ``detail`` is kept with the AuditEvent (e.g. what the amounts were computed from).
    """
    claim = mission.claim
    current = claim.pay if part == "pay" else claim.travel
    change = transition(
        current,
        action,
        Role(actor.role),
        mission_ended=mission_ended(mission, now.date()),
        reason=reason,
        validation_possible_from=validation_possible_from(mission),
    )
    setattr(claim, f"{part}_status", change.after.value)
    if part == "pay":
        claim.pay_reason = change.reason if change.action is Action.SEND_BACK else claim.pay_reason
    else:
        claim.travel_reason = (
            change.reason if change.action is Action.SEND_BACK else claim.travel_reason
        )
    claim.updated_at = now
    db.add(
        AuditEvent(
            mission_id=mission.id,
            actor_id=actor.id,
            at=now,
            action=change.action.value,
            part=part,
            before=change.before.value,
            after=change.after.value,
            reason=change.reason,
            detail=detail,
        )
    )
    return change
