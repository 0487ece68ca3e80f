"""The one place that decides between a full page and an HTMX fragment, and the filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency
from flask import Flask, Response, make_response, render_template, request
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from imagin.domain.audit import event_label
from imagin.domain.money import format_duration
from imagin.domain.status import PartStatus

LOCALE = "fr_FR"


def wants_fragment() -> bool:
    """True for an HTMX request, except the one that restores a page from history."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(
    template: str, block: str | None = None, *, status: int = 200, **context: Any
) -> Response:
    """Render the whole page, or only ``block`` of it when HTMX asked for a fragment."""
    if block is not None and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    if block is not None:
        response.vary.add("HX-Request")
    return response


def date_fr(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def long_date_fr(value: dt.date) -> str:
    """ "vendredi 02/12/2022": the weekday spelled out, then the date as users write it."""
    return f"{format_date(value, 'EEEE', locale=LOCALE)} {date_fr(value)}"


def time_fr(value: dt.time | dt.datetime | None) -> str:
    return value.strftime("%H:%M") if value else ""


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


# Built once: the statuses are a closed set, and a list page shows two per row.
_BADGES = {
    status: Markup('<span class="status status--{}">{}</span>').format(status.value, status.label)
    for status in PartStatus
}


def status_badge(value: str | PartStatus) -> Markup:
    """A part's status as a badge: its words, never its colour alone, carry the meaning."""
    return _BADGES[PartStatus(value)]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        date_fr=date_fr,
        long_date_fr=long_date_fr,
        time_fr=time_fr,
        datetime_fr=datetime_fr,
        euros=euros,
        status_label=status_label,
        status_badge=status_badge,
        event_label=event_label,
        duration=format_duration,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
