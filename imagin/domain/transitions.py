"""The one state machine of a claim part: who may move it, from which status, to which."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from imagin.domain.money import format_date
from imagin.domain.status import EDITABLE_BY_INTERVENANT, PartStatus


class Role(StrEnum):
    """Who acts on a claim."""

    INTERVENANT = "intervenant"
    GESTIONNAIRE = "gestionnaire"
    ADMIN = "admin"


class Action(StrEnum):
    """What can be done to a claim part."""

    VALIDATE = "validate"
    DECLARE_NOT_DONE = "declare_not_done"
    SEND_BACK = "send_back"
    APPROVE = "approve"
    PAY = "pay"
    CANCEL = "cancel"


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
}

# Why the intervenant can no longer act, by status.
_LOCKED_FOR_INTERVENANT: dict[PartStatus, str] = {
    _S.NO_COSTS: "Cette partie ne donne lieu à aucun frais : il n'y a rien à valider.",
    _S.NOT_DONE: "Cet état de frais est déjà validé : il ne peut plus être modifié.",
    _S.VALIDATED: "Cet état de frais est déjà validé : il ne peut plus être modifié.",
    _S.APPROVED: "Cet état de frais est déjà validé : il ne peut plus être modifié.",
    _S.IN_PAYMENT: "Cet état de frais est déjà mis en paiement : il ne peut plus être modifié.",
    _S.CANCELLED: "La mission a été annulée : l'état de frais ne peut plus être modifié.",
}


def _not_ended_message(validation_possible_from: dt.date | None) -> str:
    if validation_possible_from is None:
        return "La mission n'est pas terminée : la validation sera possible à la fin de la mission."
    return (
        "La mission n'est pas terminée : la validation sera possible à partir du "
        f"{format_date(validation_possible_from)}."
    )


def transition(
    current: PartStatus,
    action: Action,
    actor_role: Role,
    *,
    mission_ended: bool,
    reason: str | None = None,
    validation_possible_from: dt.date | None = None,
) -> Transition:
    """The allowed change of status for this action; TransitionRefused with a French message."""
    current, action, actor_role = PartStatus(current), Action(action), Role(actor_role)
    rule = RULES[action]
    if actor_role not in rule.roles:
        raise TransitionRefused(rule.wrong_role)

    if rule.roles == _INTERVENANT:
        # "Non validé" is stored before the end too: the date decides, not the status.
        if current is _S.IN_PROGRESS or (current in rule.sources and not mission_ended):
            raise TransitionRefused(_not_ended_message(validation_possible_from))
        if current not in rule.sources:
            raise TransitionRefused(_LOCKED_FOR_INTERVENANT[current])
    elif current not in rule.sources:
        raise TransitionRefused(
            f"Impossible de {rule.verb} un état de frais au statut « {current.label} »."
        )

    reason = (reason or "").strip() or None
    if rule.needs_reason and reason is None:
        raise TransitionRefused(f"Un motif est obligatoire pour {rule.verb} un état de frais.")
    return Transition(action, current, rule.target, actor_role, reason)


def can_edit(current: PartStatus, actor_role: Role, mission_ended: bool) -> bool:
    """Whether the intervenant may change the entries of this claim part.

    Before the end of the mission entries can be saved (only validation waits),
    so mission_ended does not restrict editing; it is taken for symmetry with transition().
    """
    return Role(actor_role) is Role.INTERVENANT and PartStatus(current) in EDITABLE_BY_INTERVENANT
