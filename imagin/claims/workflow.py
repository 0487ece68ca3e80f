"""Applying the domain's state machine to stored claims, with their AuditEvents.

Every change of status of a claim part goes through ``apply_transition``: the
intervenant's validation, the DEC's review and payment, and the import. The
domain decides whether it is allowed, this module records it.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy.orm import Session

from imagin.domain.status import Part
from imagin.domain.transitions import Action, Role, Transition, transition
from imagin.domain.validation import mission_ended
from imagin.models import AuditEvent, Mission


class Actor(Protocol):
    """Who acts: the signed-in user (``SignedInUser``) or a loaded ``User``."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


def apply_transition(
    db: Session,
    mission: Mission,
    part: Part,
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
    part = Part(part)
    claim = mission.claim
    current = claim.pay if part is Part.PAY else claim.travel
    change = transition(
        current,
        action,
        Role(actor.role),
        mission_ended=mission_ended(mission.ends_on, now.date()),
        reason=reason,
        mission_end=mission.ends_on,
    )
    setattr(claim, part.status_column, change.after.value)
    if change.action is Action.SEND_BACK:
        setattr(claim, f"{part.value}_reason", change.reason)
    claim.updated_at = now
    db.add(
        AuditEvent(
            mission_id=mission.id,
            actor_id=actor.id,
            at=now,
            action=change.action.value,
            part=part.value,
            before=change.before.value,
            after=change.after.value,
            reason=change.reason,
            detail=detail,
        )
    )
    return change
