"""The dossier financier form, the DEC's decision and its reason."""

from __future__ import annotations

import unicodedata

from wtforms import (
    DateField,
    FileField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from imagin.documents.forms import ACCEPT
from imagin.domain.bank_details import Civility
from imagin.domain.dossier import DocumentKind, DossierStatus
from imagin.forms import Form, QueryForm

REQUIRED = "Ce champ est obligatoire."
CONTROL_CHARACTER = "Ce champ contient un caractère invisible non autorisé : retapez-le."


def no_control_characters(_form, field) -> None:
    """Refuse NUL and other control characters (PostgreSQL refuses NUL in text)."""
    value = field.data or ""
    if isinstance(value, str) and any(
        unicodedata.category(c) == "Cc" and c not in "\r\n\t" for c in value
    ):
        raise StopValidation(CONTROL_CHARACTER)


def _text(label: str, max_length: int, autocomplete: str = "off", required: bool = True):
    return StringField(
        label,
        validators=[
            no_control_characters,
            DataRequired(REQUIRED) if required else Optional(),
            Length(max=max_length, message=f"{max_length} caractères au plus."),
        ],
        render_kw={"autocomplete": autocomplete, "maxlength": max_length},
    )


class DossierForm(Form):
    """What payroll needs, typed by the intervenant; numbers left empty keep those on file."""

    civility = RadioField(
        "Civilité",
        choices=[
            SelectChoice(Civility.MADAME.value, "Madame"),
            SelectChoice(Civility.MONSIEUR.value, "Monsieur"),
        ],
        validators=[InputRequired("Choisissez votre civilité.")],
    )
    birth_name = _text("Nom de naissance", 100, "family-name")
    used_name = _text("Nom d'usage (si différent)", 100, "family-name", required=False)
    first_names = _text("Prénoms (dans l'ordre de l'état civil)", 200, "given-name")
    birth_date = DateField(
        "Date de naissance",
        validators=[InputRequired("Saisissez votre date de naissance.")],
        render_kw={"autocomplete": "bday"},
    )
    birth_place = _text("Lieu de naissance (commune et département, ou pays)", 100)
    address = _text("Adresse personnelle (numéro et voie)", 300, "street-address")
    postal_code = StringField(
        "Code postal",
        validators=[
            no_control_characters,
            DataRequired(REQUIRED),
            Regexp(r"^[0-9A-Za-z -]{3,10}$", message="Code postal invalide (ex. 50000)."),
        ],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric", "maxlength": 10},
    )
    city = _text("Commune", 100, "address-level2")
    country = _text("Pays", 60, "country-name")
    nir = StringField(
        "Numéro de sécurité sociale (NIR, 15 chiffres avec la clé)",
        validators=[no_control_characters, Length(max=40, message="Le numéro compte 15 chiffres.")],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 40},
    )
    holder_name = _text("Titulaire du compte (tel qu'écrit sur le RIB)", 200, "name")
    iban = StringField(
        "IBAN",
        validators=[
            no_control_characters,
            Length(max=50, message="Un IBAN compte au plus 34 caractères."),
        ],
        render_kw={"autocomplete": "off", "maxlength": 50, "spellcheck": "false"},
    )
    bic = StringField(
        "BIC",
        validators=[
            no_control_characters,
            Length(max=20, message="Un BIC compte 8 ou 11 caractères."),
        ],
        render_kw={"autocomplete": "off", "maxlength": 20, "spellcheck": "false"},
    )
    rib = FileField(DocumentKind.RIB.label, render_kw={"accept": ACCEPT})
    vitale = FileField(DocumentKind.VITALE.label, render_kw={"accept": ACCEPT})
    notice = FileField(DocumentKind.NOTICE.label, render_kw={"accept": ACCEPT})

    TYPED = (
        "civility",
        "birth_name",
        "used_name",
        "first_names",
        "birth_date",
        "birth_place",
        "address",
        "postal_code",
        "city",
        "country",
        "holder_name",
    )


class DecisionForm(Form):
    """The DEC's check: verified, or to correct with a reason (sent to the intervenant)."""

    reason = TextAreaField(
        "Motif (obligatoire pour « À corriger », envoyé à l'intervenant)",
        validators=[no_control_characters, Length(max=1000, message="1000 caractères au plus.")],
        render_kw={"rows": 3, "maxlength": 1000},
    )


# The queue's "every status" choice; without any, the queue shows what needs the DEC.
ALL_STATUSES = "tous"


class QueueSearchForm(QueryForm):
    """The DEC's queue: a status, a name, a page (GET; a wrong value is ignored)."""

    statut = SelectField("Statut", validators=[Optional()])
    nom = StringField("Intervenant", validators=[Optional(), Length(max=100)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])

    def set_choices(self, order) -> None:
        self.statut.choices = [SelectChoice(s.value, s.label) for s in order] + [
            SelectChoice(ALL_STATUSES, "Tous les statuts")
        ]

    def cleaned(self) -> tuple[DossierStatus | None, str, int]:
        """The status (Transmis unless another or all is asked), the name, the page."""
        self.validate()

        def value(field):
            data = field.data.strip() if isinstance(field.data, str) else field.data
            return data if data not in (None, "") and not field.errors else None

        wanted = value(self.statut)
        if wanted == ALL_STATUSES:
            status = None
        elif wanted in {s.value for s in DossierStatus}:
            status = DossierStatus(wanted)
        else:
            # Ignored, not refused: the default view, its choice shown as chosen.
            status = DossierStatus.SUBMITTED
            self.statut.data, self.statut.errors = status.value, []
        return status, value(self.nom) or "", value(self.page) or 1
