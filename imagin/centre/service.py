"""Recording a service fait: the domain decides (``imagin.domain.service_fait``), this
module stores the new state on the mission with its AuditEvent; the caller commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from imagin.claims.workflow import Actor
from imagin.domain.service_fait import (
    Certifier,
    ServiceFaitAction,
    ServiceFaitChange,
    ServiceFaitRefused,
    service_fait_change,
)
from imagin.domain.status import PartStatus
from imagin.models import AuditEvent, Mission

# Once the DEC validated or paid a part, the certification it relied on stays.
SETTLED = frozenset({PartStatus.APPROVED, PartStatus.IN_PAYMENT})
ON_BEHALF_EVENT = "service_fait_dec"


def _change(mission: Mission, action, actor_id: int, certifier, today: dt.date, reason):
    claim = mission.claim
    return service_fait_change(
        mission.service_fait,
        action,
        certifier,
        mission_end=mission.ends_on,
        today=today,
        cancelled=mission.cancelled,
        own_mission=mission.intervenant_id == actor_id,
        settled=claim is not None and bool({claim.pay, claim.travel} & SETTLED),
        reason=reason,
    )


def dec_may_certify(mission: Mission, actor: Actor, today: dt.date) -> bool:
    """Whether the DEC may certify this mission's service fait now (a reason given)."""
    try:
        _change(mission, ServiceFaitAction.CERTIFY, actor.id, Certifier.DEC, today, "-")
    except ServiceFaitRefused:
        return False
    return True


def record_service_fait(
    db: Session,
    mission: Mission,
    action: ServiceFaitAction,
    actor: Actor,
    certifier: Certifier,
    *,
    now: dt.datetime,
    reason: str | None = None,
) -> ServiceFaitChange:
    """Certify or flag the mission's service fait (its claim loaded).

    :raise ServiceFaitRefused: not allowed (who, state, date); nothing was changed.
    """
    change = _change(mission, action, actor.id, certifier, now.date(), reason)
    mission.service_fait = change.after.value
    mission.service_fait_at = now
    mission.service_fait_by_id = actor.id
    mission.service_fait_reason = change.reason
    db.add(
        AuditEvent(
            mission_id=mission.id,
            actor_id=actor.id,
            at=now,
            action=ON_BEHALF_EVENT if change.on_behalf else change.action.value,
            reason=change.reason,
            detail={"before": change.before.value, "after": change.after.value},
        )
    )
    return change
