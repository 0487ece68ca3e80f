"""The one guard of every change to a claim: may this part change, and is this form current?

Every write path calls ``ensure_editable`` first: the intervenant's pay and
travel tabs, their documents, and the back office. A refusal is one exception,
``ClaimConflict``, which ``imagin.rendering.refuse_conflicts`` turns into one
kind of answer (409, the stored values beside the typed ones).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from imagin import clock
from imagin.domain.deadlines import Deadline, closed_message, may_change
from imagin.domain.roles import Role
from imagin.domain.status import Part, PartStatus, edit_refusal
from imagin.domain.transitions import allowed_actions, may_edit
from imagin.models import Claim

STALE_MESSAGE = (
    "Cette mission a été modifiée dans un autre onglet ou par une autre personne depuis que "
    "vous avez ouvert cette page. Vos saisies sont conservées ci-dessous ; comparez-les aux "
    "valeurs enregistrées puis enregistrez à nouveau."
)
STALE_FOR_MANAGER = (
    "Cet état de frais a changé depuis l'affichage de la page (autre onglet ou autre "
    "gestionnaire) : vérifiez-le de nouveau avant d'agir."
)

# Said instead of a version: what this write changes cannot overwrite anything typed
# elsewhere (adding a document, choosing what it justifies), so any page may send it.
ANY_VERSION = object()


class ClaimConflict(Exception):
    """The form was displayed before the claim last changed, or the part can no longer change."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def part_status(claim: Claim, part: Part) -> PartStatus:
    return claim.pay if Part(part) is Part.PAY else claim.travel


def claim_deadline(claim: Claim) -> Deadline:
    """The closing date of the claim: its session's, or the DEC's reopening."""
    session = claim.mission.session if claim.mission is not None else None
    return Deadline(session.entries_close_on if session else None, claim.reopened_until)


def editable(
    claim: Claim,
    part: Part | None = None,
    role: Role = Role.INTERVENANT,
    today: dt.date | None = None,
) -> bool:
    """Whether ``role`` may change ``part`` of the claim (None: at least one of its parts)."""
    parts = list(Part) if part is None else [Part(part)]
    deadline = claim_deadline(claim)
    today = today or clock.today()
    return any(may_change(part_status(claim, p), role, deadline, today) for p in parts)


def deadline_state(claim: Claim, today: dt.date | None = None) -> dict:
    """What the DEC sees of the closing date: the date, whether it passed, reopened or not,
    and whether a reopening would give the intervenant something back."""
    deadline = claim_deadline(claim)
    today = today or clock.today()
    waiting = any(may_edit(part_status(claim, p), Role.INTERVENANT) for p in Part)
    return {
        "closes_on": deadline.closes_on,
        "passed": deadline.passed(today),
        "reopened": claim.reopened_until is not None,
        "may_reopen": waiting and deadline.passed(today),
    }


def closed_by_deadline(claim: Claim, today: dt.date | None = None) -> str:
    """The French explanation when the closing date alone keeps the intervenant out, or ""."""
    deadline = claim_deadline(claim)
    if not deadline.passed(today or clock.today()):
        return ""
    if not any(may_edit(part_status(claim, p), Role.INTERVENANT) for p in Part):
        return ""
    bureau = claim.mission.bureau
    return closed_message(deadline, bureau.name, bureau.email, bureau.phone)


def ensure_editable(
    claim: Claim,
    part: Part | None,
    posted_version: str | object | None,
    *,
    role: Role = Role.INTERVENANT,
) -> None:
    """Refuse a change the part no longer allows, or made from a form older than the claim.

    ``part`` None: the change concerns the whole claim (at least one part must allow
    it). For the DEC, the part must still allow one of its actions; which one is the
    state machine's to say. ``posted_version`` is the version the form was displayed
    with, or ``ANY_VERSION``.

    :raise ClaimConflict: with the French message to show.
    """
    role = Role(role)
    parts = list(Part) if part is None else [Part(part)]
    if role is Role.INTERVENANT:
        if not editable(claim, part, role):
            closed = closed_by_deadline(claim)
            raise ClaimConflict(closed or edit_refusal(part_status(claim, parts[0])))
    elif not any(allowed_actions(part_status(claim, p), role) for p in parts):
        status = part_status(claim, parts[0])
        raise ClaimConflict(
            f"Cet état de frais est au statut « {status.label} » : il ne peut plus changer."
        )
    if posted_version is ANY_VERSION:
        return
    if str(claim.version) != str(posted_version or "").strip():
        raise ClaimConflict(STALE_MESSAGE if role is Role.INTERVENANT else STALE_FOR_MANAGER)


def touch(claim: Claim, now: dt.datetime) -> None:
    """Mark the claim changed, so its version moves even when only its lines did."""
    claim.updated_at = now
    # A second change within the same second sets the same value: force the UPDATE.
    flag_modified(claim, "updated_at")


def commit(db: Session, *, role: Role = Role.INTERVENANT) -> None:
    """Commit; a concurrent change of the claim (its version moved) is a ClaimConflict."""
    try:
        db.commit()
    except StaleDataError:
        db.rollback()
        raise ClaimConflict(
            STALE_MESSAGE if Role(role) is Role.INTERVENANT else STALE_FOR_MANAGER
        ) from None
