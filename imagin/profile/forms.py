"""What the travel rules take from the intervenant: residences and vehicle."""

from __future__ import annotations

from wtforms import BooleanField, StringField
from wtforms.validators import Length, NumberRange, Optional

from imagin.forms import Form, WholeNumberField

MAX_CV = 50


class ProfileForm(Form):
    family_commune = StringField(
        "Commune de résidence familiale",
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "address-level2", "maxlength": 100},
    )
    admin_commune = StringField(
        "Commune de résidence administrative",
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "off", "maxlength": 100},
    )
    vehicle_cv = WholeNumberField(
        "Puissance fiscale de votre véhicule (CV)",
        validators=[
            Optional(),
            NumberRange(1, MAX_CV, f"Saisissez un nombre entre 1 et {MAX_CV}."),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    reduced_mobility = BooleanField(
        "Je suis reconnu(e) travailleur handicapé et en situation de mobilité réduite"
    )
