"""The pay part of the claim, and the certification that goes with validating it."""

from __future__ import annotations

from wtforms import BooleanField, DateField, FieldList, FormField, HiddenField, RadioField
from wtforms import TimeField as _TimeField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional

from imagin.domain.pay import MAX_CANDIDATES, MAX_COPIES
from imagin.forms import Form, QueryForm, WholeNumberField

CERTIFY_LABEL = "Je certifie l'exactitude des informations saisies"
CONFIRM_NOT_DONE_LABEL = (
    "Je confirme que la mission n'a pas été effectuée : mes frais de déplacement "
    "ne seront pas remboursés"
)


class TimeField(_TimeField):
    """A time typed as 09:00 (or 9:00, 09h00 where browsers have no time picker)."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [valuelist[0].strip().lower().replace("h", ":").rstrip(":") or ""]
            if valuelist[0] and ":" not in valuelist[0]:
                valuelist[0] += ":00"
            if len(valuelist[0]) == 4:
                valuelist[0] = "0" + valuelist[0]
        if not valuelist or not valuelist[0]:
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Saisissez une heure au format 09:00.") from None


class HoursLineForm(QueryForm):
    """One "horaires" line: the day is fixed by the page, start and end are typed."""

    day = DateField(format="%Y-%m-%d", validators=[DataRequired("Jour manquant.")])
    start = TimeField("Début", validators=[Optional()])
    end = TimeField("Fin", validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if bool(self.start.data) != bool(self.end.data) and not (
            self.start.errors or self.end.errors
        ):
            empty = self.end if self.start.data else self.start
            empty.errors = [*empty.errors, "Saisissez l'heure de début et l'heure de fin."]
            valid = False
        return valid


class PayFields:
    """The fields of the pay part, shared by the saving form and the live estimate."""

    done = RadioField(
        "Mission effectuée ?",
        choices=[SelectChoice("oui", "Oui"), SelectChoice("non", "Non")],
        validators=[Optional()],
        validate_choice=True,
    )
    copies = WholeNumberField(
        "Nombre de copies corrigées",
        validators=[
            Optional(),
            NumberRange(
                0, MAX_COPIES, f"Saisissez un nombre entre 0 et {MAX_COPIES:,}.".replace(",", " ")
            ),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    candidates = WholeNumberField(
        "Nombre de candidats examinés",
        validators=[
            Optional(),
            NumberRange(0, MAX_CANDIDATES, f"Saisissez un nombre entre 0 et {MAX_CANDIDATES}."),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    hours = FieldList(FormField(HoursLineForm), max_entries=31)


class PayForm(PayFields, Form):
    """Saving (or validating) the pay part."""

    version = HiddenField()
    certify = BooleanField(CERTIFY_LABEL)
    # Asked only when "Non" would leave travel entries unpaid (see claims.views).
    confirm_not_done = BooleanField(CONFIRM_NOT_DONE_LABEL)


class PayEstimateForm(PayFields, QueryForm):
    """The same fields read from the query string, to estimate pay while typing."""


class ValidateForm(Form):
    """Validating from the Récapitulatif (every part ready) or the Frais déplacement tab."""

    version = HiddenField()
    certify = BooleanField(CERTIFY_LABEL)
    # "travel" from the Frais déplacement tab; empty: every part that can be validated.
    part = HiddenField()
