"""The mission list's filters: a GET form, so its URL can be shared and bookmarked."""

from __future__ import annotations

from wtforms import IntegerField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import NumberRange, Optional

from imagin.domain.status import PartStatus
from imagin.forms import QueryForm


class MissionFilterForm(QueryForm):
    session = SelectField("Session", coerce=str, validators=[Optional()], validate_choice=True)
    status = SelectField(
        "Statut",
        choices=[SelectChoice("", "Tous les statuts")]
        + [SelectChoice(s.value, s.label) for s in PartStatus],
        validators=[Optional()],
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])

    def set_sessions(self, sessions: list[tuple[int, str]]) -> None:
        """Offer the sessions given as (id, label) pairs."""
        self.session.choices = [SelectChoice("", "Toutes les sessions")] + [
            SelectChoice(str(id_), label) for id_, label in sessions
        ]

    def cleaned(self) -> tuple[int | None, PartStatus | None, int]:
        """The filter values; one that does not exist is ignored rather than refused."""
        self.validate()
        # Optional() lets a blank value (" ") through without checking it: blank is none.
        session = (self.session.data or "").strip()
        session_id = int(session) if session and not self.session.errors else None
        status_value = (self.status.data or "").strip()
        status = PartStatus(status_value) if status_value and not self.status.errors else None
        page = self.page.data if self.page.data and not self.page.errors else 1
        return session_id, status, page
