"""The mission list's filters: a GET form, so its URL can be shared and bookmarked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wtforms import IntegerField, SelectField
from wtforms.fields import Label, SelectChoice
from wtforms.fields.choices import Choice
from wtforms.validators import NumberRange, Optional

from imagin.domain.status import PartStatus
from imagin.forms import QueryForm

MAX_PAGE = 100_000
ALL_SESSIONS = SelectChoice("", "Toutes les sessions")
STATUS_CHOICES = [SelectChoice("", "Tous les statuts")] + [
    SelectChoice(s.value, s.label) for s in PartStatus
]


class MissionFilterForm(QueryForm):
    session = SelectField("Session", coerce=str, validators=[Optional()], validate_choice=True)
    status = SelectField("Statut", choices=STATUS_CHOICES, validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])

    def set_sessions(self, sessions: list[tuple[int, str]]) -> None:
        """Offer the sessions given as (id, label) pairs."""
        self.session.choices = [ALL_SESSIONS] + [
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


@dataclass(frozen=True)
class ChosenFilter:
    """A valid filter as the field macro shows it: what a ``SelectField`` gives it, no more."""

    id: str
    label_text: str
    choices: list[SelectChoice]
    data: str | None
    errors: tuple = ()
    type: str = "SelectField"
    label: Label = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", Label(self.id, self.label_text))

    @property
    def name(self) -> str:
        return self.id

    def iter_choices(self) -> list[Choice]:
        return [Choice(c.value, c.label, c.value == self.data, c.render_kw) for c in self.choices]


@dataclass(frozen=True)
class ValidFilters:
    """The filters of a URL whose every value is valid, read without building the form."""

    session: ChosenFilter
    status: ChosenFilter
    session_id: int | None
    status_value: PartStatus | None
    page: int

    def cleaned(self) -> tuple[int | None, PartStatus | None, int]:
        return self.session_id, self.status_value, self.page


def read_filters(
    args: Mapping[str, str], sessions: list[tuple[int, str]]
) -> ValidFilters | MissionFilterForm:
    """The list's filters: read directly when every value is valid (the usual case),
    else the form, which says what is wrong beside the field (WTForms does all of it
    three times slower, for nothing to say)."""
    session, status, page = args.get("session"), args.get("status"), args.get("page")
    session_ids = {str(id_): id_ for id_, _ in sessions}
    valid = (
        (not session or session in session_ids)
        and (not status or status in PartStatus._value2member_map_)
        and (not page or (page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_PAGE))
    )
    if not valid:
        form = MissionFilterForm(args)
        form.set_sessions(sessions)
        return form
    session_choices = [ALL_SESSIONS] + [SelectChoice(str(id_), label) for id_, label in sessions]
    return ValidFilters(
        session=ChosenFilter("session", "Session", session_choices, session),
        status=ChosenFilter("status", "Statut", STATUS_CHOICES, status),
        session_id=session_ids[session] if session else None,
        status_value=PartStatus(status) if status else None,
        page=int(page) if page else 1,
    )
