"""The dossier financier: when it is needed (dated rule), the numbers' checks, encryption."""

from __future__ import annotations

import datetime as dt

import pytest

from imagin.crypto import DecryptionFailed, Keyring, new_key, read_key_file
from imagin.domain.bank_details import (
    Civility,
    InvalidNumber,
    clean_bic,
    clean_iban,
    clean_nir,
    mask_iban,
    mask_nir,
)
from imagin.domain.dossier import (
    DossierFacts,
    DossierStatus,
    Need,
    add_months,
    dossier_need,
    payment_refusal,
    status_after_edit,
)

TODAY = dt.date(2026, 6, 15)
# A NIR with a correct key: a woman born in March 1985 (Paris).
NIR_WOMAN_1985_03 = "285037505612306"
# Crédit Agricole's test IBAN (valid key, bank code 30006 → AGRIFRPP).
IBAN_FR = "FR7630006000011234567890189"
IBAN_DE = "DE89370400440532013000"  # Commerzbank, COBADEFF


# --- When it is needed ----------------------------------------------------------------------


def test_first_claim_needs_the_dossier_and_blocks_validation():
    need = dossier_need(DossierFacts(None), TODAY)
    assert need.need is Need.FIRST
    assert need.blocks_validation and not need.payable
    assert "Première intervention" in need.message


def test_verified_dossier_paid_11_months_ago_is_current():
    facts = DossierFacts(
        DossierStatus.VERIFIED,
        submitted_on=dt.date(2023, 1, 10),
        verified_on=dt.date(2023, 1, 12),
        last_paid_on=dt.date(2025, 7, 15),
    )
    need = dossier_need(facts, TODAY)
    assert need.need is Need.NONE and need.payable and not need.blocks_validation


def test_verified_dossier_not_paid_for_13_months_is_to_renew():
    facts = DossierFacts(
        DossierStatus.VERIFIED,
        submitted_on=dt.date(2023, 1, 10),
        verified_on=dt.date(2023, 1, 12),
        last_paid_on=dt.date(2025, 5, 15),
    )
    need = dossier_need(facts, TODAY)
    assert need.need is Need.STALE and need.blocks_validation
    assert need.renew_from == dt.date(2026, 5, 15)
    assert "plus de 12 mois" in need.message


def test_exactly_12_months_is_to_renew_and_the_period_is_configurable():
    facts = DossierFacts(DossierStatus.VERIFIED, verified_on=dt.date(2025, 6, 15))
    assert dossier_need(facts, TODAY).need is Need.STALE
    assert dossier_need(facts, dt.date(2026, 6, 14)).need is Need.NONE
    # Dijon keeps a dossier 2 years.
    assert dossier_need(facts, TODAY, validity_months=24).need is Need.NONE


def test_renewed_after_13_months_is_current_again():
    facts = DossierFacts(
        DossierStatus.VERIFIED,
        verified_on=dt.date(2026, 6, 1),
        last_paid_on=dt.date(2025, 5, 15),
    )
    assert dossier_need(facts, TODAY).need is Need.NONE


def test_changed_iban_sends_a_verified_dossier_back_to_the_dec():
    status = status_after_edit(DossierStatus.VERIFIED, {"iban"}, complete=True)
    assert status is DossierStatus.SUBMITTED
    need = dossier_need(
        DossierFacts(status, submitted_on=TODAY, changed_since_verified=True), TODAY
    )
    assert need.need is Need.CHANGED
    # The intervenant may validate his claim; payment waits for the DEC's check.
    assert not need.blocks_validation and not need.payable
    assert payment_refusal(need) == "dossier financier modifié, à vérifier"


def test_same_details_saved_again_stay_verified_unless_to_renew():
    assert status_after_edit(DossierStatus.VERIFIED, set(), complete=True) is (
        DossierStatus.VERIFIED
    )
    assert status_after_edit(DossierStatus.VERIFIED, {"birth_place"}, complete=True) is (
        DossierStatus.VERIFIED
    )
    assert status_after_edit(DossierStatus.VERIFIED, set(), complete=True, stale=True) is (
        DossierStatus.SUBMITTED
    )
    assert status_after_edit(None, {"iban"}, complete=False) is DossierStatus.TO_PROVIDE


def test_to_correct_blocks_and_submitted_waits_for_the_dec():
    assert dossier_need(DossierFacts(DossierStatus.TO_CORRECT), TODAY).blocks_validation
    pending = dossier_need(DossierFacts(DossierStatus.SUBMITTED, submitted_on=TODAY), TODAY)
    assert pending.need is Need.PENDING and not pending.payable
    assert payment_refusal(pending) == "dossier financier transmis, pas encore vérifié"


def test_add_months_keeps_the_end_of_month():
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 5), 14) == dt.date(2027, 1, 5)


# --- NIR -----------------------------------------------------------------------------------


def test_valid_nir_with_spaces_is_kept_compact():
    number = clean_nir(
        "2 85 03 75 056 123 06", birth_date=dt.date(1985, 3, 2), civility=Civility.MADAME
    )
    assert number == NIR_WOMAN_1985_03


@pytest.mark.parametrize(
    ("typed", "birth", "civility", "message"),
    [
        ("285037505612307", None, None, "La clé du numéro de sécurité sociale ne correspond pas"),
        ("28503750561230", None, None, "15 caractères"),
        ("2850375056123066", None, None, "15 caractères"),
        ("", None, None, "Saisissez votre numéro de sécurité sociale"),
        (NIR_WOMAN_1985_03, None, Civility.MONSIEUR, "civilité « Monsieur »"),
        (NIR_WOMAN_1985_03, dt.date(1986, 3, 2), None, "naissance en « 85 »"),
        (NIR_WOMAN_1985_03, dt.date(1985, 4, 2), None, "le mois « 03 »"),
    ],
)
def test_invalid_nir_says_why(typed, birth, civility, message):
    with pytest.raises(InvalidNumber) as refused:
        clean_nir(typed, birth_date=birth, civility=civility)
    assert message in refused.value.message


def test_nir_is_masked_but_its_key_shown():
    assert mask_nir(NIR_WOMAN_1985_03) == "2 85 •• •• ••• ••• 06"


# --- IBAN and BIC --------------------------------------------------------------------------


def test_valid_french_and_sepa_ibans():
    assert clean_iban("fr76 3000 6000 0112 3456 7890 189") == IBAN_FR
    assert clean_iban(IBAN_DE) == IBAN_DE
    # Outside the EU but in the SEPA area.
    assert clean_iban("CH9300762011623852957") == "CH9300762011623852957"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("FR7630006000011234567890188", "La clé de l'IBAN ne correspond pas"),
        ("FR763000600001123456789018", "pas la bonne longueur"),
        ("TR330006100519786457841326", "n'est pas de la zone SEPA"),
        ("", "Saisissez l'IBAN"),
    ],
)
def test_invalid_iban_says_why(typed, message):
    with pytest.raises(InvalidNumber) as refused:
        clean_iban(typed)
    assert message in refused.value.message


def test_bic_must_be_the_ibans_bank_when_known():
    assert clean_bic("agrifrpp", iban=IBAN_FR) == "AGRIFRPP"
    assert clean_bic("AGRIFRPPXXX", iban=IBAN_FR) == "AGRIFRPPXXX"
    with pytest.raises(InvalidNumber) as refused:
        clean_bic("COBADEFF", iban=IBAN_FR)
    assert "attendu : AGRIFRPP" in refused.value.message
    with pytest.raises(InvalidNumber):
        clean_bic("ZZZ", iban=IBAN_FR)


def test_iban_mask_keeps_country_key_and_last_three():
    assert mask_iban(IBAN_FR) == "FR76 •••• •••• •••• •••• •••• 189"
    assert "0532013" not in mask_iban(IBAN_DE)


# --- Encryption ----------------------------------------------------------------------------


def test_round_trip_and_no_clear_text():
    ring = Keyring((new_key(),))
    stored = ring.encrypt(IBAN_FR, "dossier_financier.iban:7")
    assert IBAN_FR not in stored and "30006" not in stored
    assert ring.decrypt(stored, "dossier_financier.iban:7") == IBAN_FR
    # Two encryptions of the same IBAN differ (random nonce): equal IBANs cannot be spotted.
    assert ring.encrypt(IBAN_FR, "dossier_financier.iban:7") != stored


def test_value_moved_to_another_row_or_tampered_does_not_decrypt():
    ring = Keyring((new_key(),))
    stored = ring.encrypt(IBAN_FR, "dossier_financier.iban:7")
    with pytest.raises(DecryptionFailed):
        ring.decrypt(stored, "dossier_financier.iban:8")
    # One character of the ciphertext changed (in the middle: the last base64 character
    # may carry padding bits only).
    middle = len(stored) - 20
    tampered = stored[:middle] + ("A" if stored[middle] != "A" else "B") + stored[middle + 1 :]
    with pytest.raises(DecryptionFailed):
        ring.decrypt(tampered, "dossier_financier.iban:7")
    with pytest.raises(DecryptionFailed):
        Keyring((new_key(),)).decrypt(stored, "dossier_financier.iban:7")


def test_old_key_still_decrypts_after_rotation():
    old, new = new_key(), new_key()
    stored = Keyring((old,)).encrypt(NIR_WOMAN_1985_03, "c")
    rotated = Keyring((new, old))
    assert rotated.decrypt(stored, "c") == NIR_WOMAN_1985_03
    assert not rotated.encrypted_with_current(stored)
    assert rotated.encrypted_with_current(rotated.encrypt("x", "c"))


def test_key_file_created_0600(tmp_path):
    path = tmp_path / "data_keys"
    keys = read_key_file(path, create=True)
    assert len(keys) == 1 and len(keys[0]) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path, create=False) == keys
