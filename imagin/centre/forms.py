"""The chef de centre's forms: the period shown, the missions ticked, a flag's reason."""

from __future__ import annotations

import datetime as dt

from wtforms import DateField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from imagin.domain.service_fait import ServiceFait
from imagin.forms import Form, QueryForm

# The longest period one page shows: a session's worth of days.
MAX_PERIOD = dt.timedelta(days=366)


class PeriodForm(QueryForm):
    start = DateField("Du", validators=[Optional()])
    end = DateField("Au", validators=[Optional()])
    state = SelectField(
        "Service fait",
        choices=[SelectChoice("", "Toutes les missions")]
        + [SelectChoice(s.value, s.label) for s in ServiceFait],
        validators=[Optional()],
    )

    def validate_end(self, field) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError("La fin de la période doit suivre son début.")
        if self.start.data and field.data and field.data - self.start.data > MAX_PERIOD:
            raise ValidationError("Choisissez une période d'un an au plus.")

    def cleaned(self, today: dt.date) -> tuple[dt.date, dt.date, ServiceFait | None]:
        """The period (the last 31 days by default) and the state asked for."""
        self.validate()
        end = self.end.data if self.end.data and not self.end.errors else today
        start = self.start.data if self.start.data and not self.end.errors else None
        start = start or end - dt.timedelta(days=31)
        state = self.state.data if self.state.data and not self.state.errors else None
        return start, end, ServiceFait(state) if state else None


class CertifyForm(Form):
    """Certify the ticked missions, or the one whose button was pressed (``one``)."""

    selected = SelectMultipleField("Sélection", coerce=int, validate_choice=False)


class FlagForm(Form):
    reason = TextAreaField(
        "Motif du signalement",
        validators=[
            DataRequired("Indiquez le motif du signalement : la DEC le verra."),
            Length(max=1000, message="1 000 caractères au maximum."),
        ],
        render_kw={"rows": 3},
    )
