"""Back-office forms: the queue's filters, reasons, bulk validation and the payment export."""

from __future__ import annotations

from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from imagin.domain.convocations import MAX_MISSION_NUMBER
from imagin.domain.deadlines import EntryWindow
from imagin.domain.service_fait import ServiceFait
from imagin.domain.status import PartStatus
from imagin.forms import Form, QueryForm
from imagin.manage.queries import QueueFilters


class QueueFilterForm(QueryForm):
    session = SelectField("Session", validators=[Optional()])
    exam = SelectField("Examen", validators=[Optional()])
    status = SelectField(
        "Statut",
        choices=[SelectChoice("", "Tous les statuts")]
        + [SelectChoice(s.value, s.label) for s in PartStatus],
        validators=[Optional()],
    )
    service_fait = SelectField(
        "Service fait",
        choices=[SelectChoice("", "Tous")] + [SelectChoice(s.value, s.label) for s in ServiceFait],
        validators=[Optional()],
    )
    entries = SelectField(
        "Clôture",
        choices=[SelectChoice("", "Toutes")]
        + [SelectChoice(w.value, w.label) for w in EntryWindow],
        validators=[Optional()],
    )
    name = StringField("Intervenant", validators=[Optional(), Length(max=100)])
    number = IntegerField(
        "N° de mission", validators=[Optional(), NumberRange(min=1, max=MAX_MISSION_NUMBER)]
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])

    def set_choices(self, sessions, exams) -> None:
        self.session.choices = [SelectChoice("", "Toutes les sessions")] + [
            SelectChoice(str(s.id), s.label) for s in sessions
        ]
        self.exam.choices = [SelectChoice("", "Tous les examens")] + [
            SelectChoice(str(e.id), e.name) for e in exams
        ]

    def cleaned(self) -> tuple[QueueFilters, int]:
        """The filters; a value that does not exist is ignored rather than refused."""
        self.validate()

        def value(field):
            # Optional() lets a blank value (" ") through without checking it: blank is none.
            data = field.data.strip() if isinstance(field.data, str) else field.data
            return data if data not in (None, "") and not field.errors else None

        session, exam, status = value(self.session), value(self.exam), value(self.status)
        filters = QueueFilters(
            session_id=int(session) if session else None,
            exam_id=int(exam) if exam else None,
            status=PartStatus(status) if status else None,
            name=(value(self.name) or "").strip(),
            number=value(self.number),
            service_fait=ServiceFait(sf) if (sf := value(self.service_fait)) else None,
            entries=EntryWindow(w) if (w := value(self.entries)) else None,
        )
        return filters, value(self.page) or 1


class ReasonForm(Form):
    """Sending a part back, or cancelling a mission: the reason is required."""

    version = HiddenField()
    reason = TextAreaField(
        "Motif",
        validators=[
            DataRequired("Indiquez le motif : l'intervenant le verra."),
            Length(max=1000, message="1 000 caractères au maximum."),
        ],
        render_kw={"rows": 3},
    )


class ApproveForm(Form):
    version = HiddenField()


class BulkForm(Form):
    """Bulk validation: the claims ticked in the queue, by mission number."""

    selected = SelectMultipleField("Sélection", coerce=int, validate_choice=False)


class ExportForm(Form):
    """Payment export: the parts ticked, as "<claim id>:<part>"."""

    selected = SelectMultipleField("Parts", validate_choice=False)


class ReopenForm(Form):
    """Reopening a claim past its closing date: a reason and a new date (the domain checks)."""

    version = HiddenField()
    reason = TextAreaField("Motif de la réouverture", render_kw={"rows": 3, "maxlength": 1000})
    until = DateField(
        "Nouvelle date de clôture",
        format=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[Optional()],
        render_kw={"type": "date"},
    )
