"""The one place that builds responses for pages and HTMX fragments, and the filters.

- ``render_page``: the whole page, or one block of it for HTMX (same URL);
- ``fragment``: an HTMX fragment with its status, the events it announces
  (``HX-Trigger``, names from ``Event``), its out-of-band parts and ``Vary``;
- ``back_to``: after a POST without JavaScript, 303 back to the page (and its anchor);
- ``refuse_conflicts``: a stale form or a locked part (``ClaimConflict``) answered
  in one way, 409 with the stored values beside the typed ones;
- ``form_errors``: every error of a form, for the summary at the top of the page.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency
from flask import Flask, Response, flash, make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block
from markupsafe import Markup, escape
from sqlalchemy.orm.exc import StaleDataError
from wtforms import Field, Form
from wtforms.fields import FieldList, FormField

from imagin.domain.audit import event_label
from imagin.domain.money import format_duration
from imagin.domain.status import Part, PartStatus

LOCALE = "fr_FR"


def wants_fragment() -> bool:
    """True for an HTMX request, except the one that restores a page from history."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(
    template: str,
    block: str | None = None,
    *,
    status: int = 200,
    summary_of: Iterable[Form | None] = (),
    **context: Any,
) -> Response:
    """Render the whole page, or only ``block`` of it when HTMX asked for a fragment.

    A refused page (4xx) starts with the summary of the errors of ``summary_of``'s forms
    and of ``error_summary`` (base.html); fragments show their errors beside the fields.
    """
    if status >= 400:
        context["error_summary"] = [*form_errors(*summary_of), *context.get("error_summary", [])]
    else:
        context.setdefault("error_summary", [])
    if block is not None and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    if block is not None:
        response.vary.add("HX-Request")
    return response


class Event(StrEnum):
    """What the server announces in ``HX-Trigger``; sections listen with ``from:body``."""

    LEGS_CHANGED = "legsChanged"
    EXPENSES_CHANGED = "expensesChanged"
    DOCUMENTS_CHANGED = "documentsChanged"


def fragment(
    template: str,
    *,
    status: int = 200,
    events: Iterable[Event] = (),
    oob: Iterable[str] = (),
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """An HTMX fragment: ``template``, then the out-of-band parts, with the events announced.

    ``oob`` are already rendered parts carrying ``hx-swap-oob`` (see ``part``).
    """
    body = render_template(template, **context) if template else ""
    response = make_response(body + "".join(oob), status)
    response.vary.add("HX-Request")
    names = [Event(event).value for event in events]
    if names:
        response.headers["HX-Trigger"] = ", ".join(dict.fromkeys(names))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def part(template: str, **context: Any) -> str:
    """A part of a fragment rendered on its own, e.g. an out-of-band swap."""
    return render_template(template, **context)


def back_to(url: str, message: str | None = None, category: str = "success") -> Response:
    """Back to a page after a POST without JavaScript (or a fragment URL opened as a page).

    ``url`` carries the anchor to land on; ``message`` is flashed (shown at the top
    of the page, or in the section whose messages that category is, see base.html).
    """
    if message:
        flash(message, category)
    response = redirect(url, 303)
    response.vary.add("HX-Request")
    return response


def reload_page(url: str, message: str | None = None, category: str = "success") -> Response:
    """After a change the whole page shows (statuses in the header): HTMX loads ``url``."""
    if not wants_fragment():
        return back_to(url, message, category)
    if message:
        flash(message, category)
    response = make_response("", 200)
    response.headers["HX-Redirect"] = url
    return response


def refuse_conflicts(render: Callable[..., Response]):
    """Decorate a POST view: a stale form or a locked part becomes ``render(message, **args)``.

    One way to answer a ``ClaimConflict`` (or a state-machine refusal, or a change
    made meanwhile by another request): the session is rolled back, so that
    ``render`` reloads what is stored, and the answer is a 409 whatever ``render``
    returns; ``render`` shows the form as typed, with the stored values beside it.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(**kwargs):
            # Imported here: the claims package imports its views, which import this module.
            from imagin.claims.editing import STALE_MESSAGE, ClaimConflict
            from imagin.db import get_db
            from imagin.domain.transitions import TransitionRefused

            try:
                return view(**kwargs)
            except (ClaimConflict, TransitionRefused, StaleDataError) as refused:
                get_db().rollback()
                response = render(getattr(refused, "message", STALE_MESSAGE), **kwargs)
                response.status_code = 409
                return response

        return wrapper

    return decorator


@dataclass(frozen=True)
class SummaryItem:
    """One error of the summary: where it is (an anchor) and what it says."""

    href: str
    text: str


def all_fields(fields: Iterable[Field]) -> Iterable[Field]:
    for field in fields:
        if isinstance(field, FieldList):
            yield from all_fields(field)
        elif isinstance(field, FormField):
            yield from all_fields(field.form)
        else:
            yield field


def form_errors(*forms: Form | None) -> list[SummaryItem]:
    """Every error of these forms, in the order of their fields, linking to each field."""
    items = []
    for form in forms:
        if form is None:
            continue
        for field in all_fields(form):
            label = field.label.text if field.label and field.label.text else ""
            for error in field.errors:
                items.append(SummaryItem(f"#{field.id}", f"{label} : {error}" if label else error))
    return items


# Dates and times formatted by hand: strftime costs 16 k instructions a call (callgrind),
# 0.16 M for the list's ten rows; the same text for every year (no padding, as glibc).
def date_fr(value: dt.date | None) -> str:
    """ "02/12/2022"."""
    return f"{value.day:02d}/{value.month:02d}/{value.year}" if value else ""


def long_date_fr(value: dt.date) -> str:
    """ "vendredi 02/12/2022": the weekday spelled out, then the date as users write it."""
    return f"{format_date(value, 'EEEE', locale=LOCALE)} {date_fr(value)}"


def time_fr(value: dt.time | dt.datetime | None) -> str:
    """ "09:30"."""
    return f"{value.hour:02d}:{value.minute:02d}" if value else ""


def datetime_fr(value: dt.datetime | None) -> str:
    return f"{date_fr(value)} à {time_fr(value)}" if value else ""


def euros(value: Decimal | int | None, *, cents: bool = False) -> str:
    """Money as "1 234,56 €"; ``cents=True`` when the value is integer cents."""
    if value is None:
        return ""
    amount = Decimal(value) / 100 if cents else Decimal(value)
    return format_currency(amount, "EUR", locale=LOCALE)


def status_label(value: str | PartStatus) -> str:
    return PartStatus(value).label


def service_fait_label(value: str) -> str:
    """ "À certifier", "Service fait certifié", "Signalé par le centre"."""
    from imagin.domain.service_fait import ServiceFait

    return ServiceFait(value).label


def part_label(value: str | Part) -> str:
    """ "rémunération" or "déplacement"."""
    return Part(value).label


# Built once: the statuses are a closed set, and a list page shows two per row.
_BADGES = {
    status: Markup('<span class="status status--{}">{}</span>').format(status.value, status.label)
    for status in PartStatus
}


def status_badge(value: str | PartStatus) -> Markup:
    """A part's status as a badge: its words, never its colour alone, carry the meaning."""
    # A StrEnum member and its value are the same key: PartStatus(value), which refuses
    # an unknown value, only when the lookup fails (an Enum call per badge, two per row).
    badge = _BADGES.get(value)
    return badge if badge is not None else _BADGES[PartStatus(value)]


def select_options(field: Any) -> Markup:
    """The ``<option>`` elements of a select field (the field macro's select).

    Written in Python: the same loop in the macro was a third of a list page's rendering.
    Plain strings and ``escape`` (C) rather than ``Markup.format``, whose formatter is
    Python: the list's two selects went from 16 % to 4 % of its cProfile (with the
    dossier banner's query, 0.15 M instructions less by callgrind). Values and labels
    are escaped as ``Markup.format`` did.
    """
    options = []
    for choice in field.iter_choices():
        attributes = "".join(
            f' {escape(key)}="{escape(value)}"' for key, value in (choice.render_kw or {}).items()
        )
        selected = " selected" if choice.selected else ""
        options.append(
            f'<option value="{escape(choice.value)}"{selected}{attributes}>'
            f"{escape(choice.label)}</option>"
        )
    return Markup("".join(options))  # noqa: S704 (every value and label escaped above)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        date_fr=date_fr,
        long_date_fr=long_date_fr,
        time_fr=time_fr,
        datetime_fr=datetime_fr,
        euros=euros,
        status_label=status_label,
        part_label=part_label,
        service_fait_label=service_fait_label,
        status_badge=status_badge,
        event_label=event_label,
        duration=format_duration,
    )
    from imagin.anchors import anchor, href
    from imagin.domain.roles import MANAGERS, Role

    app.jinja_env.globals.update(
        select_options=select_options,
        events=Event,
        ref_href=href,
        ref_anchor=anchor,
        MANAGERS=MANAGERS,
        Role=Role,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
