"""The template filters users read (statuses as worded badges), and the one way responses are
built: fragments with their events, redirects back, conflicts, error summaries."""

import flask
import pytest
from sqlalchemy.orm.exc import StaleDataError

from imagin import create_app
from imagin.claims.editing import STALE_MESSAGE, ClaimConflict
from imagin.domain.status import PartStatus
from imagin.domain.transitions import TransitionRefused
from imagin.rendering import (
    Event,
    back_to,
    form_errors,
    fragment,
    refuse_conflicts,
    status_badge,
)


@pytest.mark.parametrize("status", list(PartStatus))
def test_every_status_is_a_badge_with_its_words(status):
    badge = status_badge(status)
    assert badge == f'<span class="status status--{status.value}">{status.label}</span>'


def test_a_stored_value_gives_the_same_badge_as_the_status():
    assert status_badge("a_corriger") == status_badge(PartStatus.TO_CORRECT)
    assert "À corriger" in status_badge("a_corriger")


def test_an_unknown_value_is_refused_not_rendered():
    with pytest.raises(ValueError):
        status_badge('"><script>')


# --- The one way to build fragments, redirects back, and conflicts ----------------------------


@pytest.fixture
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})


def test_a_fragment_carries_its_events_its_out_of_band_parts_and_vary(app):
    with app.test_request_context("/", headers={"HX-Request": "true"}):
        response = fragment(
            "travel/_nothing.html",
            status=422,
            events=[Event.LEGS_CHANGED, Event.DOCUMENTS_CHANGED, Event.LEGS_CHANGED],
            oob=['<p id="x" hx-swap-oob="true">x</p>'],
        )
    assert response.status_code == 422
    assert response.headers["HX-Trigger"] == "legsChanged, documentsChanged"
    assert response.get_data(as_text=True).endswith('<p id="x" hx-swap-oob="true">x</p>')
    assert "HX-Request" in response.headers["Vary"]


def test_back_to_is_a_303_with_its_anchor_and_message(app):
    with app.test_request_context("/", method="POST"):
        response = back_to("/missions/621/deplacement#pieces-messages", "Envoyé.", "pieces-success")
        assert flask.get_flashed_messages(with_categories=True) == [("pieces-success", "Envoyé.")]
    assert response.status_code == 303
    assert response.location == "/missions/621/deplacement#pieces-messages"
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("refusal", "message"),
    [
        (ClaimConflict("Cet état de frais est validé."), "Cet état de frais est validé."),
        (TransitionRefused("Impossible."), "Impossible."),
        (StaleDataError("row changed"), STALE_MESSAGE),
    ],
)
def test_every_refusal_of_a_change_is_answered_in_one_way(app, refusal, message):
    seen = []

    def render(text, **kwargs):
        seen.append((text, kwargs))
        return flask.make_response("the form, as typed, beside the stored values")

    @refuse_conflicts(render)
    def view(number):
        raise refusal

    with app.test_request_context("/", method="POST"):
        response = view(number=621)
    assert response.status_code == 409
    assert seen == [(message, {"number": 621})]


def test_form_errors_walk_nested_fields_in_order(app):
    from imagin.claims.forms import PayForm

    with app.test_request_context("/", method="POST"):
        form = PayForm(data={"hours": [{"day": None}]})
        form.copies.errors = ["Trop."]
        form.hours[0].end.errors = ["Avant le début."]
        items = form_errors(form)
    assert [(item.href, item.text) for item in items] == [
        ("#copies", "Nombre de copies corrigées : Trop."),
        ("#hours-0-end", "Fin : Avant le début."),
    ]
