"""Checking what the payroll needs to pay someone: the NIR, the IBAN and the BIC.

Plain functions, no Flask: each returns the cleaned value or raises ``InvalidNumber``
with a French message meant to be shown beside the field. The NIR key is checked by
python-stdnum (``stdnum.fr.nir``), the IBAN and the BIC by schwifty, whose bank
registry also says which BICs a bank code belongs to.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError
from stdnum.fr import nir as stdnum_nir

__all__ = [
    "Civility",
    "InvalidNumber",
    "clean_bic",
    "clean_iban",
    "clean_nir",
    "mask_iban",
    "mask_nir",
]

MASK = "••••"
_SEPARATORS = re.compile(r"[\s.\-]+")


class InvalidNumber(ValueError):
    """A number that cannot be used; ``message`` is the French sentence for the user."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Civility(StrEnum):
    """Civility as payroll records it; it is also the sex the NIR's first digit states."""

    MONSIEUR = "M"
    MADAME = "F"

    @property
    def label(self) -> str:
        return "Monsieur" if self is Civility.MONSIEUR else "Madame"


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", value or "").upper()


# --- NIR ----------------------------------------------------------------------------------


def clean_nir(value: str, *, birth_date: dt.date | None, civility: Civility | None) -> str:
    """The 15-character NIR (13 digits and the 2-digit key), checked against the person.

    Its first digit is the sex (1 a man, 2 a woman; 7 and 8 for a provisional number),
    the next two the year of birth, then the month (20 and above, or 99: unknown month).
    """
    number = _compact(value)
    if not number:
        raise InvalidNumber("Saisissez votre numéro de sécurité sociale.")
    if len(number) != 15:
        raise InvalidNumber(
            "Le numéro de sécurité sociale compte 15 caractères (13 chiffres et la clé à "
            f"2 chiffres) : vous en avez saisi {len(number)}."
        )
    try:
        number = stdnum_nir.validate(number)
    except InvalidChecksum:
        raise InvalidNumber(
            "La clé du numéro de sécurité sociale ne correspond pas : vérifiez chaque chiffre."
        ) from None
    except (InvalidLength, ValidationError):
        raise InvalidNumber(
            "Le numéro de sécurité sociale ne contient que des chiffres (2A ou 2B pour la Corse)."
        ) from None
    sex = number[0]
    if sex not in "1278":
        raise InvalidNumber("Le numéro de sécurité sociale commence par 1 ou 2.")
    if civility is not None:
        expected = "17" if civility is Civility.MONSIEUR else "28"
        if sex not in expected:
            raise InvalidNumber(
                f"Le numéro de sécurité sociale commence par {sex} : il ne correspond pas à la "
                f"civilité « {civility.label} »."
            )
    if birth_date is not None:
        year, month = number[1:3], int(number[3:5])
        if year != f"{birth_date.year % 100:02d}":
            raise InvalidNumber(
                f"Le numéro de sécurité sociale indique une naissance en « {year} » : il ne "
                f"correspond pas à votre date de naissance ({birth_date:%d/%m/%Y})."
            )
        if 1 <= month <= 12 and month != birth_date.month:
            raise InvalidNumber(
                f"Le numéro de sécurité sociale indique le mois « {month:02d} » : il ne "
                f"correspond pas à votre date de naissance ({birth_date:%d/%m/%Y})."
            )
    return number


def mask_nir(number: str | None) -> str:
    """``2 95 •• •• ••• ••• 93``: the sex and year stay visible, then only the key."""
    if not number:
        return ""
    return f"{number[0]} {number[1:3]} •• •• ••• ••• {number[13:15]}"


def format_nir(number: str) -> str:
    """``2 95 10 99 126 111 93``, as on the carte Vitale."""
    return stdnum_nir.format(number)


# --- IBAN and BIC -------------------------------------------------------------------------


def clean_iban(value: str) -> str:
    """The IBAN in compact form; it must be valid and from the SEPA area."""
    number = _compact(value)
    if not number:
        raise InvalidNumber("Saisissez l'IBAN de votre compte.")
    try:
        iban = IBAN(number)
    except SchwiftyException as error:
        raise InvalidNumber(_iban_message(number, error)) from None
    if not iban.in_sepa_zone:
        raise InvalidNumber(
            f"Un IBAN {iban.country_code} n'est pas de la zone SEPA : la paie ne peut verser "
            "que sur un compte de la zone SEPA."
        )
    return str(iban.compact)


def _iban_message(number: str, error: SchwiftyException) -> str:
    name = type(error).__name__
    if "Checksum" in name:
        return (
            "La clé de l'IBAN ne correspond pas : vérifiez chaque caractère (ou copiez-le du RIB)."
        )
    if "Length" in name:
        return (
            f"Cet IBAN n'a pas la bonne longueur pour un compte {number[:2]} "
            f"({len(number)} caractères)."
        )
    if "CountryCode" in name:
        return "Un IBAN commence par le code du pays (FR pour la France)."
    return "Cet IBAN n'est pas valide : recopiez-le depuis votre RIB."


def clean_bic(value: str, *, iban: str | None) -> str:
    """The BIC (8 or 11 characters); when the registry knows the IBAN's bank, it must match."""
    code = _compact(value)
    if not code:
        raise InvalidNumber("Saisissez le BIC de votre banque (il figure sur le RIB).")
    try:
        bic = BIC(code)
    except SchwiftyException:
        raise InvalidNumber(
            "Ce BIC n'est pas valide : il compte 8 ou 11 lettres et chiffres (ex. AGRIFRPP)."
        ) from None
    if iban:
        known = _known_bics(iban)
        if known and not any(str(bic.compact)[:4] == str(k.compact)[:4] for k in known):
            expected = ", ".join(sorted({str(k.compact)[:8] for k in known}))
            raise InvalidNumber(
                f"Ce BIC n'est pas celui de la banque de votre IBAN (attendu : {expected})."
            )
    return str(bic.compact)


def _known_bics(iban: str) -> list[BIC]:
    try:
        parsed = IBAN(iban)
        return list(BIC.candidates_from_bank_code(parsed.country_code, parsed.bank_code))
    except (SchwiftyException, ValueError, KeyError):
        return []


def mask_iban(iban: str | None) -> str:
    """``FR76 •••• •••• •••• •••• •••• 123``: the country, the key and the last 3 characters."""
    if not iban:
        return ""
    groups = -(-(len(iban) - 7) // 4)
    return " ".join([iban[:4], *([MASK] * groups), iban[-3:]])


def format_iban(iban: str) -> str:
    """The IBAN in groups of four, as a RIB prints it."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def mask_bic(bic: str | None) -> str:
    """The bank's 4 letters and country stay visible; the rest is hidden."""
    if not bic:
        return ""
    return bic[:6] + "•" * (len(bic) - 6)
