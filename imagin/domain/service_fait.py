"""Service fait: the head of the exam centre certifies that a mission's work was done.

Who may certify or flag which mission, from which state, and with what reason.
Whether the DEC may validate before it is the bureau's setting, decided with the
other validation rules (``imagin.domain.validation.service_fait_refusal``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from imagin.domain.money import format_date

__all__ = [
    "Certifier",
    "ServiceFait",
    "ServiceFaitAction",
    "ServiceFaitChange",
    "ServiceFaitRefused",
    "service_fait_change",
]


class ServiceFait(StrEnum):
    """A mission's service-fait state; stored as its value."""

    PENDING = "a_certifier"
    CERTIFIED = "certifie"
    FLAGGED = "signale"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ServiceFait.PENDING: "À certifier",
    ServiceFait.CERTIFIED: "Service fait certifié",
    ServiceFait.FLAGGED: "Signalé par le centre",
}


class ServiceFaitAction(StrEnum):
    CERTIFY = "service_fait"
    FLAG = "service_fait_flag"


class Certifier(StrEnum):
    """Who asks: the chef of the mission's centre, the DEC (on the centre's behalf), or else."""

    CHIEF = "chief"
    DEC = "dec"
    OTHER = "other"


@dataclass(frozen=True)
class ServiceFaitChange:
    """An allowed change; the caller stores it and records an AuditEvent."""

    action: ServiceFaitAction
    before: ServiceFait
    after: ServiceFait
    reason: str | None
    on_behalf: bool


class ServiceFaitRefused(Exception):
    """The change is not allowed; .message says why, in French."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# From which states each action is possible: flagging a certified mission corrects a
# mistake, certifying a flagged one settles the question.
_SOURCES = {
    ServiceFaitAction.CERTIFY: frozenset({ServiceFait.PENDING, ServiceFait.FLAGGED}),
    ServiceFaitAction.FLAG: frozenset({ServiceFait.PENDING, ServiceFait.CERTIFIED}),
}


def service_fait_change(
    current: ServiceFait,
    action: ServiceFaitAction,
    certifier: Certifier,
    *,
    mission_end: dt.date,
    today: dt.date,
    cancelled: bool = False,
    own_mission: bool = False,
    settled: bool = False,
    reason: str | None = None,
) -> ServiceFaitChange:
    """The allowed change of service fait; ServiceFaitRefused with a French message.

    ``settled``: a part was already validated by the DEC or paid, so the certification
    it relied on no longer changes. ``own_mission``: nobody certifies his own work.
    """
    current, action, certifier = (
        ServiceFait(current),
        ServiceFaitAction(action),
        Certifier(certifier),
    )
    reason = (reason or "").strip() or None
    if certifier is Certifier.OTHER:
        raise ServiceFaitRefused(
            "Seul le chef de centre de la mission, ou la DEC pour lui, "
            "peut certifier le service fait."
        )
    if certifier is Certifier.DEC and action is ServiceFaitAction.FLAG:
        raise ServiceFaitRefused("Seul le chef de centre peut signaler une mission.")
    if own_mission:
        raise ServiceFaitRefused(
            "Vous ne pouvez pas certifier le service fait de votre propre mission."
        )
    if cancelled:
        raise ServiceFaitRefused(
            "La mission est annulée : il n'y a pas de service fait à certifier."
        )
    if today <= mission_end:
        raise ServiceFaitRefused(
            "La mission n'est pas terminée : le service fait pourra être certifié à partir du "
            f"{format_date(mission_end + dt.timedelta(days=1))}."
        )
    if settled:
        raise ServiceFaitRefused(
            "La DEC a déjà validé cette mission : son service fait ne peut plus changer."
        )
    if current not in _SOURCES[action]:
        raise ServiceFaitRefused(
            "Le service fait est déjà certifié."
            if current is ServiceFait.CERTIFIED
            else "La mission est déjà signalée."
        )
    on_behalf = certifier is Certifier.DEC
    if reason is None and action is ServiceFaitAction.FLAG:
        raise ServiceFaitRefused("Indiquez le motif du signalement : la DEC le verra.")
    if reason is None and on_behalf:
        raise ServiceFaitRefused(
            "Indiquez pourquoi la DEC certifie le service fait à la place du centre."
        )
    target = ServiceFait.CERTIFIED if action is ServiceFaitAction.CERTIFY else ServiceFait.FLAGGED
    return ServiceFaitChange(action, current, target, reason, on_behalf)
