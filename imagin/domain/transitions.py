"""The one state machine of a claim part: who may move it, from which status, to which,
and who may still change what it holds (``may_edit``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from imagin.domain.roles import Role
from imagin.domain.status import EDITABLE_BY_INTERVENANT, PartStatus, edit_refusal
from imagin.domain.validation import not_ended_message

__all__ = [
    "RULES",
    "Action",
    "Role",
    "Transition",
    "TransitionRefused",
    "allowed_actions",
    "edit_refusal",
    "may_edit",
    "transition",
]


class Action(StrEnum):
    """What can be done to a claim part."""

    VALIDATE = "validate"
    DECLARE_NOT_DONE = "declare_not_done"
    SEND_BACK = "send_back"
    APPROVE = "approve"
    PAY = "pay"
    CANCEL = "cancel"
    # A re-imported convocation gives the part a right it had not, or takes it away.
    REIMPORT_OPEN = "reimport_open"
    REIMPORT_CLOSE = "reimport_close"


@dataclass(frozen=True)
class Transition:
    """A change of status that was allowed; the caller records it as an AuditEvent."""

    action: Action
    before: PartStatus
    after: PartStatus
    actor_role: Role
    reason: str | None


class TransitionRefused(Exception):
    """The action is not allowed; .message says why, in French."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class _Rule:
    roles: frozenset[Role]
    sources: frozenset[PartStatus]
    target: PartStatus
    verb: str
    wrong_role: str
    needs_reason: bool = False


_INTERVENANT = frozenset({Role.INTERVENANT})
_DEC = frozenset({Role.GESTIONNAIRE, Role.ADMIN})
_S = PartStatus

RULES: dict[Action, _Rule] = {
    Action.VALIDATE: _Rule(
        _INTERVENANT,
        frozenset({_S.NOT_VALIDATED, _S.TO_CORRECT}),
        _S.VALIDATED,
        verb="valider",
        wrong_role="Seul l'intervenant peut valider son état de frais.",
    ),
    Action.DECLARE_NOT_DONE: _Rule(
        _INTERVENANT,
        frozenset({_S.NOT_VALIDATED, _S.TO_CORRECT}),
        _S.NOT_DONE,
        verb="déclarer non effectué",
        wrong_role="Seul l'intervenant peut déclarer que sa mission n'a pas été effectuée.",
    ),
    Action.SEND_BACK: _Rule(
        _DEC,
        frozenset({_S.VALIDATED, _S.APPROVED, _S.NOT_DONE}),
        _S.TO_CORRECT,
        verb="renvoyer",
        wrong_role="Seul un gestionnaire peut renvoyer un état de frais.",
        needs_reason=True,
    ),
    Action.APPROVE: _Rule(
        _DEC,
        frozenset({_S.VALIDATED, _S.NOT_DONE}),
        _S.APPROVED,
        verb="valider",
        wrong_role="Seul un gestionnaire peut valider un état de frais pour la DEC.",
    ),
    Action.PAY: _Rule(
        _DEC,
        frozenset({_S.APPROVED}),
        _S.IN_PAYMENT,
        verb="mettre en paiement",
        wrong_role="Seul un gestionnaire peut mettre un état de frais en paiement.",
    ),
    Action.CANCEL: _Rule(
        _DEC,
        frozenset(PartStatus) - {_S.IN_PAYMENT, _S.CANCELLED},
        _S.CANCELLED,
        verb="annuler",
        wrong_role="Seul un gestionnaire peut annuler un état de frais.",
        needs_reason=True,
    ),
    Action.REIMPORT_OPEN: _Rule(
        _DEC,
        frozenset({_S.NO_COSTS}),
        _S.NOT_VALIDATED,
        verb="ouvrir par import",
        wrong_role="Seul un gestionnaire peut importer des convocations.",
    ),
    Action.REIMPORT_CLOSE: _Rule(
        _DEC,
        frozenset({_S.NOT_VALIDATED}),
        _S.NO_COSTS,
        verb="fermer par import",
        wrong_role="Seul un gestionnaire peut importer des convocations.",
    ),
}


def transition(
    current: PartStatus,
    action: Action,
    actor_role: Role,
    *,
    mission_ended: bool,
    reason: str | None = None,
    mission_end: dt.date | None = None,
) -> Transition:
    """The allowed change of status for this action; TransitionRefused with a French message."""
    current, action, actor_role = PartStatus(current), Action(action), Role(actor_role)
    rule = RULES[action]
    if actor_role not in rule.roles:
        raise TransitionRefused(rule.wrong_role)

    if rule.roles == _INTERVENANT:
        # "Non validé" is stored before the end too: the date decides, not the status.
        if current is _S.IN_PROGRESS or (current in rule.sources and not mission_ended):
            raise TransitionRefused(not_ended_message(mission_end))
        if current not in rule.sources:
            raise TransitionRefused(edit_refusal(current))
    elif current not in rule.sources:
        raise TransitionRefused(
            f"Impossible de {rule.verb} un état de frais au statut « {current.label} »."
        )

    reason = (reason or "").strip() or None
    if rule.needs_reason and reason is None:
        raise TransitionRefused(f"Un motif est obligatoire pour {rule.verb} un état de frais.")
    return Transition(action, current, rule.target, actor_role, reason)


def may_edit(current: PartStatus, actor_role: Role) -> bool:
    """Whether ``actor_role`` may change what this part holds (entries, documents).

    Only the intervenant, and only while the part waits for them: before the end
    of the mission too (entries are saved then, only validation waits), and after
    the DEC sent it back. The DEC never edits entries: it sends the part back.
    """
    return Role(actor_role) is Role.INTERVENANT and PartStatus(current) in EDITABLE_BY_INTERVENANT


def allowed_actions(current: PartStatus, actor_role: Role) -> frozenset[Action]:
    """The actions ``actor_role`` may take on a part in this status (the date aside)."""
    current, actor_role = PartStatus(current), Role(actor_role)
    return frozenset(
        action
        for action, rule in RULES.items()
        if actor_role in rule.roles and current in rule.sources
    )
