"""The state machine of a claim part, over every (status, action, role) combination, and the
one answer to "may this part still change?" (``may_edit``)."""

import datetime as dt
import itertools

import pytest

from imagin.domain.status import PartStatus
from imagin.domain.transitions import (
    Action,
    Role,
    Transition,
    TransitionRefused,
    allowed_actions,
    may_edit,
    transition,
)

# Short names keep the table below readable.
S, A, R = PartStatus, Action, Role
INT, GES, ADM = R.INTERVENANT, R.GESTIONNAIRE, R.ADMIN

# Every allowed (status, action, role) and the status it leads to. Anything else is refused.
ALLOWED: dict[tuple[S, A, R], S] = {
    (S.NOT_VALIDATED, A.VALIDATE, INT): S.VALIDATED,
    (S.TO_CORRECT, A.VALIDATE, INT): S.VALIDATED,
    (S.NOT_VALIDATED, A.DECLARE_NOT_DONE, INT): S.NOT_DONE,
    (S.TO_CORRECT, A.DECLARE_NOT_DONE, INT): S.NOT_DONE,
    (S.VALIDATED, A.SEND_BACK, GES): S.TO_CORRECT,
    (S.APPROVED, A.SEND_BACK, GES): S.TO_CORRECT,
    (S.NOT_DONE, A.SEND_BACK, GES): S.TO_CORRECT,
    (S.VALIDATED, A.SEND_BACK, ADM): S.TO_CORRECT,
    (S.APPROVED, A.SEND_BACK, ADM): S.TO_CORRECT,
    (S.NOT_DONE, A.SEND_BACK, ADM): S.TO_CORRECT,
    (S.VALIDATED, A.APPROVE, GES): S.APPROVED,
    (S.NOT_DONE, A.APPROVE, GES): S.APPROVED,
    (S.VALIDATED, A.APPROVE, ADM): S.APPROVED,
    (S.NOT_DONE, A.APPROVE, ADM): S.APPROVED,
    (S.APPROVED, A.PAY, GES): S.IN_PAYMENT,
    (S.APPROVED, A.PAY, ADM): S.IN_PAYMENT,
    (S.NO_COSTS, A.CANCEL, GES): S.CANCELLED,
    (S.IN_PROGRESS, A.CANCEL, GES): S.CANCELLED,
    (S.NOT_VALIDATED, A.CANCEL, GES): S.CANCELLED,
    (S.NOT_DONE, A.CANCEL, GES): S.CANCELLED,
    (S.VALIDATED, A.CANCEL, GES): S.CANCELLED,
    (S.TO_CORRECT, A.CANCEL, GES): S.CANCELLED,
    (S.APPROVED, A.CANCEL, GES): S.CANCELLED,
    (S.NO_COSTS, A.CANCEL, ADM): S.CANCELLED,
    (S.IN_PROGRESS, A.CANCEL, ADM): S.CANCELLED,
    (S.NOT_VALIDATED, A.CANCEL, ADM): S.CANCELLED,
    (S.NOT_DONE, A.CANCEL, ADM): S.CANCELLED,
    (S.VALIDATED, A.CANCEL, ADM): S.CANCELLED,
    (S.TO_CORRECT, A.CANCEL, ADM): S.CANCELLED,
    (S.APPROVED, A.CANCEL, ADM): S.CANCELLED,
    # A re-imported convocation gives a part its right, or takes it away, while it is open.
    (S.NO_COSTS, A.REIMPORT_OPEN, GES): S.NOT_VALIDATED,
    (S.NO_COSTS, A.REIMPORT_OPEN, ADM): S.NOT_VALIDATED,
    (S.NOT_VALIDATED, A.REIMPORT_CLOSE, GES): S.NO_COSTS,
    (S.NOT_VALIDATED, A.REIMPORT_CLOSE, ADM): S.NO_COSTS,
}
# The intervenant's actions also wait for the end of the mission.
NEEDS_MISSION_END = {A.VALIDATE, A.DECLARE_NOT_DONE}

COMBINATIONS = list(itertools.product(S, A, R, [True, False]))


def test_the_table_has_every_allowed_transition():
    assert len(ALLOWED) == 34
    # Four roles: the chef de centre moves no claim part (he certifies the service fait).
    assert len(COMBINATIONS) == 9 * 8 * 4 * 2


@pytest.mark.parametrize(("status", "action", "role", "ended"), COMBINATIONS)
def test_every_combination(status, action, role, ended):
    expected = ALLOWED.get((status, action, role))
    if expected is not None and (ended or action not in NEEDS_MISSION_END):
        result = transition(status, action, role, mission_ended=ended, reason="Motif")
        assert result == Transition(action, status, expected, role, "Motif")
    else:
        with pytest.raises(TransitionRefused) as caught:
            transition(status, action, role, mission_ended=ended, reason="Motif")
        assert caught.value.message
        assert str(caught.value) == caught.value.message


def test_no_costs_accepts_only_cancel_and_a_reimport():
    for action, role in itertools.product(A, R):
        allowed = (S.NO_COSTS, action, role) in ALLOWED
        expected = action in (A.CANCEL, A.REIMPORT_OPEN) and role in (GES, ADM)
        assert allowed == expected


def test_validation_refused_before_the_end_with_the_date():
    for status in (S.NOT_VALIDATED, S.IN_PROGRESS):
        with pytest.raises(TransitionRefused) as caught:
            transition(
                status,
                A.VALIDATE,
                INT,
                mission_ended=status is S.IN_PROGRESS,
                mission_end=dt.date(2022, 12, 2),
            )
        assert caught.value.message == (
            "La mission n'est pas terminée : la validation sera possible à partir du 03/12/2022."
        )


def test_validation_refused_before_the_end_without_a_date():
    with pytest.raises(TransitionRefused) as caught:
        transition(S.NOT_VALIDATED, A.DECLARE_NOT_DONE, INT, mission_ended=False)
    assert "la validation sera possible à la fin de la mission" in caught.value.message


def test_validated_claim_is_locked_for_the_intervenant():
    with pytest.raises(TransitionRefused) as caught:
        transition(S.VALIDATED, A.VALIDATE, INT, mission_ended=True)
    assert caught.value.message == ("Cet état de frais est validé : il ne peut plus être modifié.")


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (A.SEND_BACK, "Seul un gestionnaire peut renvoyer un état de frais."),
        (A.CANCEL, "Seul un gestionnaire peut annuler un état de frais."),
        (A.PAY, "Seul un gestionnaire peut mettre un état de frais en paiement."),
    ],
)
def test_only_a_gestionnaire(action, message):
    with pytest.raises(TransitionRefused) as caught:
        transition(S.APPROVED, action, INT, mission_ended=True, reason="Motif")
    assert caught.value.message == message


def test_only_the_intervenant_validates():
    with pytest.raises(TransitionRefused) as caught:
        transition(S.NOT_VALIDATED, A.VALIDATE, GES, mission_ended=True)
    assert caught.value.message == "Seul l'intervenant peut valider son état de frais."


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_send_back_needs_a_reason(reason):
    with pytest.raises(TransitionRefused) as caught:
        transition(S.VALIDATED, A.SEND_BACK, GES, mission_ended=True, reason=reason)
    assert caught.value.message == "Un motif est obligatoire pour renvoyer un état de frais."


def test_cancel_needs_a_reason():
    with pytest.raises(TransitionRefused) as caught:
        transition(S.NOT_VALIDATED, A.CANCEL, ADM, mission_ended=False)
    assert caught.value.message == "Un motif est obligatoire pour annuler un état de frais."


def test_reason_is_kept_stripped_and_optional_elsewhere():
    sent_back = transition(S.VALIDATED, A.SEND_BACK, GES, mission_ended=True, reason=" Copies ? ")
    assert sent_back.reason == "Copies ?"
    approved = transition(S.VALIDATED, A.APPROVE, GES, mission_ended=True)
    assert approved.reason is None


def test_wrong_status_for_a_gestionnaire_names_the_status():
    with pytest.raises(TransitionRefused) as caught:
        transition(S.VALIDATED, A.PAY, GES, mission_ended=True)
    assert caught.value.message == (
        "Impossible de mettre en paiement un état de frais au statut « Validé »."
    )


def test_plain_strings_are_accepted():
    result = transition("valide", "approve", "gestionnaire", mission_ended=True)
    assert result.after is S.APPROVED


EDITABLE = {S.IN_PROGRESS, S.NOT_VALIDATED, S.TO_CORRECT}


@pytest.mark.parametrize(("status", "role"), list(itertools.product(S, R)))
def test_only_the_intervenant_edits_and_only_while_the_part_waits_for_them(status, role):
    # Before the end of the mission too ("Mission en cours"): only validation waits.
    assert may_edit(status, role) == (role is R.INTERVENANT and status in EDITABLE)


@pytest.mark.parametrize(("status", "role"), list(itertools.product(S, R)))
def test_allowed_actions_are_those_of_the_table(status, role):
    expected = {action for (source, action, who) in ALLOWED if (source, who) == (status, role)}
    assert allowed_actions(status, role) == expected
