"""The mission list's filters: a GET form, so its URL can be shared and bookmarked."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape
from wtforms import IntegerField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import NumberRange, Optional

from imagin.domain.status import PartStatus
from imagin.forms import QueryForm

MAX_PAGE = 100_000
ALL_SESSIONS = SelectChoice("", "Toutes les sessions")
STATUS_CHOICES = [SelectChoice("", "Tous les statuts")] + [
    SelectChoice(s.value, s.label) for s in PartStatus
]


class MissionFilterForm(QueryForm):
    # Its fields are shown by the field macro, beside their errors (see ValidFilters).
    rendered = None

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


# What the field macro (_macros.html) renders for a select with a valid value, no hint and
# no error, as the list's form shows it (indented, a blank line after): written here for
# valid filters: 1.0 M instructions less per list request (callgrind, 9.40 → 8.40 M).
# test_filters_read_without_the_form_show_what_the_form_shows compares the two pages.
_FILTER = (
    '  <div class="field ">\n'
    '  <label class="field__label" for="{name}">{label}</label>\n'
    '  <select class="field__input" id="{name}" name="{name}">\n'
    "{options}  </select>\n"
    "</div>\n\n"
)


def _filter_html(name: str, label: str, choices: list[SelectChoice], chosen: str | None) -> str:
    options = "".join(
        f'<option value="{escape(choice.value)}"{" selected" if choice.value == chosen else ""}>'
        f"{escape(choice.label)}</option>"
        for choice in choices
    )
    return _FILTER.format(name=name, label=label, options=options)


# Kept per (sessions, chosen values): a user's list pages, filtered or paged, show the same
# filters; the key holds every label shown, so a renamed session is a new entry.
@functools.lru_cache(maxsize=1024)
def _filters_html(
    sessions: tuple[tuple[int, str], ...], session: str | None, status: str | None
) -> Markup:
    """Both filters of valid values, as the form would show them."""
    session_choices = [ALL_SESSIONS] + [SelectChoice(str(id_), label) for id_, label in sessions]
    return Markup(  # noqa: S704 (every value and label is escaped by _filter_html)
        _filter_html("session", "Session", session_choices, session)
        + _filter_html("status", "Statut", STATUS_CHOICES, status)
    )


@dataclass(frozen=True)
class ValidFilters:
    """The filters of a URL whose every value is valid, read without building the form."""

    session_id: int | None
    status_value: PartStatus | None
    page: int
    # Both filters as the form would show them (the template shows the form's fields
    # with the field macro only when ``rendered`` is empty).
    rendered: Markup

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
    return ValidFilters(
        session_id=session_ids[session] if session else None,
        status_value=PartStatus(status) if status else None,
        page=int(page) if page else 1,
        rendered=_filters_html(tuple(sessions), session, status),
    )
