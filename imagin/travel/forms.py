"""The travel part: one leg, and the meals, nights and other expenses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from wtforms import DateField as _DateField
from wtforms import (
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from imagin.claims.forms import TimeField
from imagin.domain.money import format_euros, parse_euros
from imagin.domain.travel import (
    KM_MODES,
    OTHER_EXPENSE_KINDS,
    MealEntitlement,
    MealTaken,
    Mode,
)
from imagin.forms import Form, QueryForm, WholeNumberField
from imagin.travel.service import meal_field

MAX_AMOUNT = Decimal("2000")
INVALID_DATE = "Saisissez une date au format jj/mm/aaaa, par exemple 02/12/2022."
CITY_LENGTH = 100


class DateField(_DateField):
    """A date from the date picker (2022-12-02) or typed where there is none (02/12/2022)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(
            label,
            validators,
            format=["%Y-%m-%d", "%d/%m/%Y"],
            invalid_value_message=INVALID_DATE,
            **kwargs,
        )

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        super().process_formdata([valuelist[0].strip()])


class EurosField(StringField):
    """An amount typed "25,40" or "25.40"; its data is a Decimal."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = parse_euros(valuelist[0])
        except ValueError as error:
            self.data = None
            raise ValueError(str(error)) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:.2f}".replace(".", ",")


def amount_range(_form, field) -> None:
    """Amounts of expenses: 0 to 2,000 €."""
    if field.data is not None and not Decimal(0) <= field.data <= MAX_AMOUNT:
        raise ValidationError(
            f"Le montant doit être compris entre 0 et {format_euros(MAX_AMOUNT)}."
        )


def _city(label: str, message: str) -> StringField:
    return StringField(
        label,
        validators=[DataRequired(message), Length(max=CITY_LENGTH)],
        render_kw={"autocomplete": "off", "maxlength": CITY_LENGTH},
    )


class LegForm(Form):
    """One travel leg, as the row being edited or the page of its own without JavaScript."""

    departure_date = DateField("Date de départ", [InputRequired("Saisissez la date de départ.")])
    departure_time = TimeField("Heure de départ", [InputRequired("Saisissez l'heure de départ.")])
    departure_city = _city("Ville de départ", "Saisissez la ville de départ.")
    arrival_date = DateField("Date d'arrivée", [InputRequired("Saisissez la date d'arrivée.")])
    arrival_time = TimeField("Heure d'arrivée", [InputRequired("Saisissez l'heure d'arrivée.")])
    arrival_city = _city("Ville d'arrivée", "Saisissez la ville d'arrivée.")
    mode = SelectField(
        "Mode de transport",
        # The stylesheet shows km or fare by this mark, which the domain decides.
        choices=[SelectChoice("", "Choisir…")]
        + [
            SelectChoice(
                mode.value,
                mode.label,
                render_kw={"data-paid-by": "km" if mode.paid_by_km else "fare"},
            )
            for mode in Mode
        ],
        validators=[InputRequired("Choisissez un mode de transport.")],
        validate_choice=True,
    )
    km = WholeNumberField(
        "Kilomètres parcourus",
        validators=[Optional()],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    fare = EurosField(
        "Prix payé (€)",
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    version = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        # The field the mode is not paid on is hidden: what it holds is ignored, errors too.
        unused = {True: self.fare, False: self.km}.get(self.mode.data in KM_MODES)
        if self.mode.data and unused.errors:
            unused.errors, unused.data = [], None
        return not any(field.errors for field in self)

    def bind_ids(self, key: str) -> LegForm:
        """Prefix the ids (not the names) so several rows can be edited in one page."""
        for field in self:
            field.id = f"{key}-{field.name}"
            field.label.field_id = field.id
        return self

    def departure(self) -> dt.datetime | None:
        return _moment(self.departure_date.data, self.departure_time.data)

    def arrival(self) -> dt.datetime | None:
        return _moment(self.arrival_date.data, self.arrival_time.data)


def _moment(day: dt.date | None, time: dt.time | None) -> dt.datetime | None:
    return dt.datetime.combine(day, time) if day and time else None


MEAL_CHOICES = [
    SelectChoice(MealTaken.FREE.value, "Gratuit"),
    SelectChoice(MealTaken.ADMINISTRATIVE.value, "Restaurant administratif"),
    SelectChoice(MealTaken.OTHER.value, "Autre (plein tarif)"),
]


class NightForm(QueryForm):
    """A night away: where, and what the accommodation cost."""

    night = HiddenField()
    commune = StringField(
        "Commune de l'hébergement",
        validators=[Optional(), Length(max=CITY_LENGTH)],
        render_kw={"autocomplete": "off", "maxlength": CITY_LENGTH},
    )
    paid = EurosField(
        "Montant payé (€)",
        validators=[Optional(), amount_range],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.paid.data is not None and not (self.commune.data or "").strip():
            self.commune.errors = [*self.commune.errors, "Indiquez la commune de l'hébergement."]
            valid = False
        return valid


class OtherExpenseForm(QueryForm):
    """A toll, a parking fee, a ticket or a taxi not entered as a leg, or another cost."""

    # The stored expense this line shows, changed in place (its receipt stays linked).
    key = HiddenField()
    kind = SelectField(
        "Nature",
        choices=[SelectChoice("", "Choisir…")]
        + [SelectChoice(kind.value, label) for kind, (_, label) in OTHER_EXPENSE_KINDS.items()],
        validators=[Optional()],
        validate_choice=True,
    )
    detail = StringField(
        "Précision",
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "off", "maxlength": 200},
    )
    amount = EurosField(
        "Montant (€)",
        validators=[Optional(), amount_range],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.amount.data is not None and not self.kind.data:
            self.kind.errors = [*self.kind.errors, "Choisissez la nature de cette dépense."]
            valid = False
        return valid


class ExpensesForm(Form):
    """Meals (one field per meal the absence gives, added by expenses_form), nights, others."""

    version = HiddenField()
    nights = FieldList(FormField(NightForm), max_entries=31)
    expenses = FieldList(FormField(OtherExpenseForm), max_entries=21)

    meal_names: tuple[str, ...] = ()

    def meal_fields(self) -> list:
        return [self[name] for name in self.meal_names]


def expenses_form(meals: tuple[MealEntitlement, ...], **kwargs) -> ExpensesForm:
    """The expenses form with one radio group per meal (see ``meal_field``)."""
    fields = {
        meal_field(meal): RadioField(
            meal.label, choices=MEAL_CHOICES, validators=[Optional()], validate_choice=True
        )
        for meal in meals
    }
    form_class = type("MealsExpensesForm", (ExpensesForm,), fields)
    form_class.meal_names = tuple(fields)
    return form_class(**kwargs)


class DeleteForm(Form):
    """Confirming the deletion of a leg: only the version, for the stale-form check."""

    version = HiddenField()
