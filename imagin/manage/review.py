"""The DEC's review of a claim: approve, send back, cancel, and bulk approval.

Each action goes where every change of a claim goes: the guard (is the page
current, may the part still change), the state machine (``apply_transition``,
which records the AuditEvent) and, in the same transaction, the e-mail to the
intervenant. A travel part is approved only when every receipt it needs has a
document: the DEC sees what the intervenant saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from imagin.claims.editing import ensure_editable
from imagin.claims.validation import ClaimCheck, check_claim
from imagin.claims.workflow import Actor, apply_transition
from imagin.domain.rates import RateTable
from imagin.domain.roles import Role
from imagin.domain.status import Part, PartStatus
from imagin.domain.transitions import Action, TransitionRefused, allowed_actions
from imagin.domain.validation import approval_refusal, service_fait_refusal
from imagin.mail import queue_mails
from imagin.models import Mission
from imagin.notifications import approved_message, notify_approved, notify_sent_back

# Parts a bulk approval leaves alone: nothing to check there.
NOTHING_TO_APPROVE = frozenset({PartStatus.NO_COSTS, PartStatus.CANCELLED})


def actions(
    mission: Mission, role: Role, check: ClaimCheck | None = None
) -> dict[Part, frozenset[Action]]:
    """What the DEC may do to each part of the claim now: the state machine's answer,
    without approving a travel part whose receipts are missing (``check`` given)."""
    claim = mission.claim
    allowed = {
        Part.PAY: allowed_actions(claim.pay, role),
        Part.TRAVEL: allowed_actions(claim.travel, role),
    }
    travel_validated = claim.travel is PartStatus.VALIDATED
    if check is not None and travel_validated and approval_refusal(check.receipts.checks):
        allowed[Part.TRAVEL] = allowed[Part.TRAVEL] - {Action.APPROVE}
    for part in Part:
        if waiting_for_service_fait(mission, part):
            allowed[part] = allowed[part] - {Action.APPROVE}
    return allowed


def waiting_for_service_fait(mission: Mission, part: Part) -> str | None:
    """Why this part waits for the centre's service fait (its bureau requires it), if it does."""
    claim = mission.claim
    return service_fait_refusal(
        claim.pay if part is Part.PAY else claim.travel,
        mission.service_fait,
        required=mission.bureau.service_fait_required,
        flag_reason=mission.service_fait_reason,
    )


def may_cancel(mission: Mission, role: Role) -> bool:
    """Whether the mission can still be cancelled: both parts allow it."""
    return not mission.cancelled and all(
        Action.CANCEL in allowed for allowed in actions(mission, role).values()
    )


def _ensure_approvable(check: ClaimCheck, mission: Mission, part: Part) -> None:
    """A part whose service fait its bureau still waits for, or a travel part validated
    without all its receipts, is not approved.

    :raise TransitionRefused: with the domain's reason, as it follows "refusée — ".
    """
    if refusal := waiting_for_service_fait(mission, part):
        raise TransitionRefused(refusal)
    if part is Part.TRAVEL and mission.claim.travel is PartStatus.VALIDATED:
        refusal = approval_refusal(check.receipts.checks)
        if refusal:
            raise TransitionRefused(refusal)


def approve(
    db: Session,
    mission: Mission,
    part: Part,
    actor: Actor,
    *,
    version: str | None,
    rates: RateTable,
    now: dt.datetime,
) -> None:
    """ "Validé par gestionnaire" for one part; the caller commits.

    :raise ClaimConflict: the page is stale.
    :raise TransitionRefused: the part cannot be approved (status, missing receipt).
    """
    ensure_editable(mission.claim, part, version, role=Role(actor.role))
    try:
        _ensure_approvable(check_claim(db, mission, rates, now.date()), mission, part)
    except TransitionRefused as refused:
        # Said on its own, at the top of the review page.
        raise TransitionRefused(refused.message[:1].upper() + refused.message[1:]) from None
    apply_transition(db, mission, part, Action.APPROVE, actor, now=now)
    notify_approved(db, mission, part)


def send_back(
    db: Session,
    mission: Mission,
    part: Part,
    actor: Actor,
    reason: str,
    *,
    version: str | None,
    now: dt.datetime,
) -> None:
    """ "À corriger" for one part, with the reason the intervenant will read; the caller commits."""
    ensure_editable(mission.claim, part, version, role=Role(actor.role))
    change = apply_transition(db, mission, part, Action.SEND_BACK, actor, now=now, reason=reason)
    notify_sent_back(db, mission, part, change.reason or "")


def cancel(
    db: Session,
    mission: Mission,
    actor: Actor,
    reason: str,
    *,
    version: str | None,
    now: dt.datetime,
) -> None:
    """Cancel the mission: both parts "Annulé", with the reason; the caller commits."""
    ensure_editable(mission.claim, None, version, role=Role(actor.role))
    for part in Part:
        apply_transition(db, mission, part, Action.CANCEL, actor, now=now, reason=reason)
    mission.cancelled = True
    mission.cancel_reason = reason.strip()


@dataclass
class BulkResult:
    """What a bulk approval did, line by line, in the words of its summary."""

    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def bulk_approve(
    db: Session,
    missions: Iterable[Mission],
    actor: Actor,
    *,
    rates: RateTable,
    now: dt.datetime,
) -> BulkResult:
    """Approve every part of these claims that can be; say why for each that cannot.

    The missions must have their whole claim loaded (``WHOLE_CLAIM``). The caller
    commits; the e-mails are queued in the same transaction.
    """
    result = BulkResult()
    messages = []
    for mission in missions:
        check = check_claim(db, mission, rates, now.date())
        for part in Part:
            status = mission.claim.pay if part is Part.PAY else mission.claim.travel
            if status in NOTHING_TO_APPROVE:
                continue
            what = f"Mission {mission.number} : partie {part.label}"
            try:
                _ensure_approvable(check, mission, part)
                apply_transition(db, mission, part, Action.APPROVE, actor, now=now)
            except TransitionRefused as refused:
                result.refused.append(f"{what} refusée — {refused.message}")
                continue
            result.done.append(f"{what} validée.")
            messages.append(approved_message(mission, part))
    queue_mails(db, messages)
    return result
