"""Service fait: who certifies or flags which mission, and when the DEC waits for it."""

from __future__ import annotations

import datetime as dt

import pytest

from imagin.domain.service_fait import (
    Certifier,
    ServiceFait,
    ServiceFaitAction,
    ServiceFaitRefused,
    service_fait_change,
)
from imagin.domain.status import PartStatus
from imagin.domain.validation import service_fait_refusal

END = dt.date(2022, 12, 2)
AFTER = dt.date(2022, 12, 3)
CERTIFY, FLAG = ServiceFaitAction.CERTIFY, ServiceFaitAction.FLAG


def change(current=ServiceFait.PENDING, action=CERTIFY, certifier=Certifier.CHIEF, **kw):
    kw.setdefault("mission_end", END)
    kw.setdefault("today", AFTER)
    return service_fait_change(current, action, certifier, **kw)


def refused(**kw) -> str:
    with pytest.raises(ServiceFaitRefused) as error:
        change(**kw)
    return error.value.message


def test_the_chief_certifies_from_the_day_after_the_mission():
    done = change()
    assert (done.before, done.after, done.on_behalf, done.reason) == (
        ServiceFait.PENDING,
        ServiceFait.CERTIFIED,
        False,
        None,
    )
    assert refused(today=END) == (
        "La mission n'est pas terminée : le service fait pourra être certifié à partir du "
        "03/12/2022."
    )


def test_a_flag_needs_a_reason_and_a_flagged_mission_can_then_be_certified():
    assert refused(action=FLAG) == "Indiquez le motif du signalement : la DEC le verra."
    flagged = change(action=FLAG, reason="  Absent le matin. ")
    assert (flagged.after, flagged.reason) == (ServiceFait.FLAGGED, "Absent le matin.")
    assert change(ServiceFait.FLAGGED).after is ServiceFait.CERTIFIED
    assert change(ServiceFait.CERTIFIED, FLAG, reason="Erreur").after is ServiceFait.FLAGGED
    assert refused(current=ServiceFait.CERTIFIED) == "Le service fait est déjà certifié."
    assert refused(current=ServiceFait.FLAGGED, action=FLAG, reason="x") == (
        "La mission est déjà signalée."
    )


def test_the_dec_certifies_on_behalf_only_with_a_reason_and_never_flags():
    assert refused(certifier=Certifier.DEC) == (
        "Indiquez pourquoi la DEC certifie le service fait à la place du centre."
    )
    done = change(certifier=Certifier.DEC, reason="Émargement reçu par courrier.")
    assert done.on_behalf and done.after is ServiceFait.CERTIFIED
    assert refused(certifier=Certifier.DEC, action=FLAG, reason="x") == (
        "Seul le chef de centre peut signaler une mission."
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"certifier": Certifier.OTHER}, "Seul le chef de centre de la mission, ou la DEC"),
        ({"own_mission": True}, "Vous ne pouvez pas certifier le service fait de votre propre"),
        ({"cancelled": True}, "La mission est annulée"),
        ({"settled": True}, "La DEC a déjà validé cette mission"),
    ],
)
def test_refusals(kw, message):
    assert refused(**kw).startswith(message)


def test_the_dec_waits_for_the_service_fait_only_when_its_bureau_requires_it():
    validated = PartStatus.VALIDATED
    assert service_fait_refusal(validated, ServiceFait.PENDING, required=True).startswith(
        "service fait non certifié par le chef de centre"
    )
    assert service_fait_refusal(validated, ServiceFait.PENDING, required=False) is None
    assert service_fait_refusal(validated, ServiceFait.CERTIFIED, required=True) is None
    assert "Absent le matin" in service_fait_refusal(
        validated, ServiceFait.FLAGGED, required=True, flag_reason="Absent le matin"
    )
    # Declared not done: there is no work to certify.
    assert service_fait_refusal(PartStatus.NOT_DONE, ServiceFait.PENDING, required=True) is None


def test_the_payslip_expected_after_a_batch_and_separate_payments():
    from imagin.domain.payment_path import (
        expected_payslip,
        month_label,
        part_path,
        separate_payments,
    )
    from imagin.domain.status import Part

    assert expected_payslip(dt.date(2023, 6, 18), 2) == dt.date(2023, 8, 1)
    assert expected_payslip(dt.date(2023, 11, 30), 2) == dt.date(2024, 1, 1)
    assert expected_payslip(dt.date(2023, 12, 1), 1) == dt.date(2024, 1, 1)
    assert month_label(dt.date(2024, 1, 1)) == "janvier 2024"

    def path(part, status, batch=None):
        return part_path(
            part,
            status,
            convoked=dt.datetime(2023, 5, 1),
            declared=dt.datetime(2023, 6, 16),
            service_fait=ServiceFait.CERTIFIED,
            service_fait_at=dt.datetime(2023, 6, 16),
            service_fait_required=True,
            approved=dt.datetime(2023, 6, 17),
            batch_at=batch,
            delay_months=1,
        )

    pay = path(Part.PAY, PartStatus.IN_PAYMENT, dt.datetime(2023, 6, 18))
    travel = path(Part.TRAVEL, PartStatus.IN_PAYMENT, dt.datetime(2023, 7, 3))
    assert pay.steps[-1].label == "Versement attendu sur la paie de juillet 2023"
    assert separate_payments(pay, travel) == (
        "La rémunération et les frais de déplacement sont versés séparément : la rémunération "
        "sur la paie de juillet 2023, les frais de déplacement sur la paie d'août 2023."
    )
    same = path(Part.TRAVEL, PartStatus.IN_PAYMENT, dt.datetime(2023, 6, 30))
    assert separate_payments(pay, same) is None
    assert path(Part.TRAVEL, PartStatus.NO_COSTS) is None
    waiting = path(Part.TRAVEL, PartStatus.APPROVED)
    assert waiting.payslip is None and waiting.summary == "Pas encore mis en paiement."
