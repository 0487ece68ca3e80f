"""Issue 11: whatever is posted to any form of the app, the answer is never a 5xx.

The forms are read from the app's own pages (every POST route must be reached by one of
them, so a new route fails here until it is covered), then Hypothesis posts generated
values — typed text, nasty numbers, blanks, huge and tiny amounts — to each, with the
form's real CSRF token and version most of the time so the values reach the views.
Derandomized and bounded, so the run is the same on every machine and stays short.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from imagin import clock
from imagin.auth.tokens import password_token
from imagin.models import ExamSession, Mission, User
from tests.builders import add_621, documents, jpeg, send
from tests.conftest import CLAIRE, GESTIONNAIRE, PAUL, AuthActions, csrf_from, database

NASTY = [
    "",
    " ",
    "\t",
    "%20",
    "0",
    "-0",
    "-1",
    "1e308",
    "-1e308",
    "1e-400",
    "NaN",
    "inf",
    "9999999999999",
    "99999999999999999999999",
    "12,50",
    "1 234,56 €",
    "2147483648",
    "\x00",
    "é" * 300,
    "x" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "2024-02-30",
    "31/12/9999",
    "25:61",
    "oui",
    "y",
    "car",
    "voiture",
]


# What broke amounts and text columns before (issue 11), drawn more often than the rest.
BREAKERS = ["1e308", "-1e308", "1e-400", "NaN", "-0", "9999999999999", "\x00", " "]


class PostForms(HTMLParser):
    """The POST forms of a page: their action and their fields with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self._fields = {}
            self.forms.append((attributes.get("action") or "", self._fields))
        elif tag in ("input", "select", "textarea") and self._fields is not None:
            name = attributes.get("name")
            if name and attributes.get("type") != "file":
                self._fields.setdefault(name, attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None


def forms_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = PostForms()
    parser.feed(html)
    return parser.forms


def rule_of(app, action: str):
    path = action.split("?", 1)[0]
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(path, method="POST")
    return endpoint


def set_closing(app, number: int, on: dt.date | None) -> None:
    with database(app) as db:
        session_id = db.scalar(select(Mission.session_id).where(Mission.number == number))
        db.execute(
            update(ExamSession).where(ExamSession.id == session_id).values(entries_close_on=on)
        )
        db.commit()


def test_every_post_route_gets_generated_values_and_never_answers_5xx(app):
    claire, manager, visitor = app.test_client(), app.test_client(), app.test_client()
    chef, admin = app.test_client(), app.test_client()
    AuthActions(claire).login(CLAIRE)
    AuthActions(manager).login(GESTIONNAIRE)
    AuthActions(chef).login("chef.alencon@example.fr")
    AuthActions(admin).login("admin@example.fr")
    # What some forms act on: a leg and a document of mission 621.
    [leg_id] = add_621(app, claire)
    assert send(claire, ("ticket.jpg", jpeg())).status_code in (200, 201, 303)
    document_id = documents(app)[0].id
    with database(app) as db:
        paul = db.scalar(select(User).where(User.email == PAUL))
        claire_id = db.scalar(select(User.id).where(User.email == CLAIRE))
        with app.test_request_context():
            link = f"/intervenant/mot-de-passe/{password_token(paul)}"
    pages = {
        visitor: ["/intervenant", "/intervenant/mot-de-passe", link],
        claire: [
            "/profil",
            "/profil/dossier-financier",
            "/missions/621/remuneration",
            "/missions/621/deplacement",
            "/missions/621/deplacement/trajets/nouveau",
            f"/missions/621/deplacement/trajets/{leg_id}/modifier",
            f"/missions/621/deplacement/trajets/{leg_id}/supprimer",
            f"/missions/621/pieces/{document_id}/justifie",
            f"/missions/621/pieces/{document_id}/supprimer",
            "/missions/621/recapitulatif",
        ],
        manager: [
            "/gestion",
            "/gestion/missions/815",
            "/gestion/missions/621",
            "/gestion/import",
            "/gestion/paiement",
            f"/gestion/dossiers/{claire_id}",
        ],
        chef: ["/centre?start=2022-12-01&end=2022-12-31", "/centre/missions/621/signaler"],
        admin: ["/admin/service-fait"],
    }
    # Each form as (client, page it is on, its position there): read afresh for each
    # example, so its token and version are current and the values reach the view.
    targets: list[tuple[object, str, int, tuple[str, ...]]] = []
    actions: list[str] = []
    for client, paths in pages.items():
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            for position, (action, fields) in enumerate(forms_of(response.get_data(True))):
                if action != "/deconnexion":  # signing out would end the test's session
                    targets.append((client, path, position, tuple(fields)))
                    actions.append(action or path)
    # The DEC's reopening form shows once the session is closed; closed only while it is
    # read, so that the intervenant's forms stay open (test_deadlines attacks it).
    set_closing(app, 640, clock.today() - dt.timedelta(days=1))
    actions += [
        action for action, _ in forms_of(manager.get("/gestion/missions/640").get_data(True))
    ]
    set_closing(app, 640, None)
    # The import's second step needs a checked file: its form is on the preview.
    preview = manager.post(
        "/gestion/import",
        data={
            "csrf_token": csrf_from(manager.get("/gestion/import").get_data(as_text=True)),
            "file": (_convocations_csv(), "convocations.csv"),
        },
        content_type="multipart/form-data",
    )
    [(apply_action, apply_fields)] = forms_of(preview.get_data(as_text=True))[-1:]
    actions += [apply_action, "/deconnexion"]

    post_endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())
    }
    reached = {rule_of(app, action) for action in actions}
    assert post_endpoints <= reached, f"forms not reached: {sorted(post_endpoints - reached)}"

    def current_form(target) -> tuple[str, dict[str, str]] | None:
        client, path, position, _names = target
        response = client.get(path)
        if response.status_code != 200:
            return None  # what it acted on was deleted by an earlier example
        forms = forms_of(response.get_data(as_text=True))
        return (forms[position][0] or path, forms[position][1]) if position < len(forms) else None

    def values(data, names: tuple[str, ...]) -> dict[str, str | None]:
        """Generated values; None: the value the page gives now. Drawn from the names
        found at the start only, so that each example draws the same way on a replay."""
        drawn: dict[str, str | None] = {}
        for name in names:
            if "csrf_token" in name:
                drawn[name] = None  # CSRF itself is attacked in test_hostile_input
            elif name.endswith("version") or name == "token":
                drawn[name] = data.draw(st.sampled_from([None, None, "0", "x"]), label=name)
            else:
                drawn[name] = data.draw(
                    st.one_of(
                        st.none(),
                        st.sampled_from(BREAKERS),
                        st.sampled_from(NASTY),
                        st.text(max_size=40),
                    ),
                    label=name,
                )
        return drawn

    answered: list[tuple[str, int]] = []

    @settings(
        max_examples=len(targets) * 6,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.data())
    def post_anything(data):
        target = data.draw(st.sampled_from(targets), label="form")
        drawn = values(data, target[3])
        form = current_form(target)
        if form is None:
            return
        action, fields = form
        posted = {name: fields.get(name, "") if v is None else v for name, v in drawn.items()}
        response = target[0].post(action, data=posted)
        answered.append((rule_of(app, action), response.status_code))
        assert response.status_code < 500, (action, posted, response.status_code)

    post_anything()
    # Most values got past the form's token and version to the view itself.
    assert len({endpoint for endpoint, _ in answered}) >= 15
    reached_view = [status for _, status in answered if status in (303, 409, 422)]
    assert len(reached_view) >= 0.8 * len(answered)
    # Then every breaker in every field of every form at once, so each field's parser
    # sees each of them whatever Hypothesis drew.
    for target in targets:
        for breaker in BREAKERS:
            form = current_form(target)
            if form is None:
                continue
            action, fields = form
            posted = {
                name: value if "csrf_token" in name or name.endswith("version") else breaker
                for name, value in fields.items()
            }
            response = target[0].post(action, data=posted)
            assert response.status_code < 500, (action, posted, response.status_code)
    # The import's apply step and signing out, with generated values too.
    for token in ("", apply_fields.get("token", ""), "x" * 500, "\x00"):
        answer = manager.post(apply_action, data={**apply_fields, "token": token})
        assert answer.status_code < 500
    assert app.test_client().post("/deconnexion", data={"csrf_token": "x"}).status_code < 500


def _convocations_csv():
    import io

    from tests.integration.test_import import csv_of, row

    return io.BytesIO(csv_of(row(3001)).encode())
