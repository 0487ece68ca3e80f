"""The one guard of every change (imagin.claims.editing.ensure_editable): may this part still
change, and was the form displayed from the claim as it is?"""

import pytest

from imagin.claims.editing import (
    ANY_VERSION,
    STALE_FOR_MANAGER,
    STALE_MESSAGE,
    ClaimConflict,
    editable,
    ensure_editable,
)
from imagin.domain.roles import Role
from imagin.domain.status import Part
from imagin.domain.status import PartStatus as S
from imagin.models import Claim


def claim(pay=S.NOT_VALIDATED, travel=S.NOT_VALIDATED, version=3) -> Claim:
    return Claim(pay_status=pay.value, travel_status=travel.value, version=version)


def test_a_current_form_on_a_part_waiting_for_the_intervenant_passes():
    ensure_editable(claim(), Part.TRAVEL, "3")
    ensure_editable(claim(travel=S.TO_CORRECT), Part.TRAVEL, " 3 ")


@pytest.mark.parametrize("posted", ["2", "", None, "3.0", "03x"])
def test_a_form_older_than_the_claim_is_refused(posted):
    with pytest.raises(ClaimConflict) as refused:
        ensure_editable(claim(), Part.PAY, posted)
    assert refused.value.message == STALE_MESSAGE


def test_a_locked_part_is_refused_whatever_the_version_with_its_reason():
    locked = claim(travel=S.VALIDATED)
    for posted in ("3", ANY_VERSION):
        with pytest.raises(ClaimConflict) as refused:
            ensure_editable(locked, Part.TRAVEL, posted)
        assert (
            refused.value.message == "Cet état de frais est validé : il ne peut plus être modifié."
        )
    # The other part still may change: each part on its own.
    ensure_editable(locked, Part.PAY, "3")
    assert editable(locked, None) and not editable(locked, Part.TRAVEL)


def test_any_version_is_for_changes_that_overwrite_nothing():
    ensure_editable(claim(), Part.TRAVEL, ANY_VERSION)


def test_the_whole_claim_needs_one_part_that_may_change():
    ensure_editable(claim(pay=S.VALIDATED), None, "3")
    with pytest.raises(ClaimConflict):
        ensure_editable(claim(pay=S.VALIDATED, travel=S.CANCELLED), None, "3")


def test_the_dec_is_checked_for_a_current_page_and_a_part_it_may_act_on():
    ensure_editable(claim(pay=S.VALIDATED), Part.PAY, "3", role=Role.GESTIONNAIRE)
    with pytest.raises(ClaimConflict) as stale:
        ensure_editable(claim(pay=S.VALIDATED), Part.PAY, "2", role=Role.GESTIONNAIRE)
    assert stale.value.message == STALE_FOR_MANAGER
    with pytest.raises(ClaimConflict) as paid:
        ensure_editable(claim(pay=S.IN_PAYMENT), Part.PAY, "3", role=Role.ADMIN)
    assert "Mis en paiement" in paid.value.message
    # The DEC never edits entries: for it "editable" is always false.
    assert not editable(claim(), Part.PAY, Role.GESTIONNAIRE)
