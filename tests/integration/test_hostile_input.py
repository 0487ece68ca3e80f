"""Attacks from issue 11: a forged Host header, a forged form behind a CSRF failure."""

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from imagin import create_app, trusted_hosts
from imagin.models import Claim, Mission, User
from tests.builders import LEG_621, claim_of, post_expenses, post_leg, post_pay
from tests.conftest import (
    CLAIRE,
    GESTIONNAIRE,
    PAUL,
    AuthActions,
    base_config,
    csrf_from,
    database,
    send_outbox,
)

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def outbox_bodies(app) -> list[str]:
    send_outbox(app)
    bodies = []
    for path in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        bodies.append(message.get_body().get_content())
    return bodies


def ask_link(client, email: str):
    token = csrf_from(client.get("/intervenant/mot-de-passe").get_data(as_text=True))
    return client.post("/intervenant/mot-de-passe", data={"csrf_token": token, "email": email})


def main_part(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


# Item 2: links in e-mails never come from the request's Host.


def test_a_forgotten_password_request_for_a_forged_host_is_refused_and_sends_nothing(app):
    evil = app.test_client()
    page = evil.get("/intervenant/mot-de-passe", base_url="http://evil.example")
    assert page.status_code == 400
    # Even with a token from a trusted page, the forged Host gets nothing.
    client = app.test_client()
    token = csrf_from(client.get("/intervenant/mot-de-passe").get_data(as_text=True))
    response = client.post(
        "/intervenant/mot-de-passe",
        data={"csrf_token": token, "email": PAUL},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 400
    assert "n'est pas celle du site IMAG'IN" in response.get_data(as_text=True)
    assert outbox_bodies(app) == []


def test_links_come_from_the_public_address_whatever_trusted_host_was_used(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["PUBLIC_URL"] = "https://imagin.ac-exemple.fr"
    config["TRUSTED_HOSTS"] = "imagin-interne.ac-exemple.fr, 10.0.0.5"
    app = create_app(config)
    assert app.test_client().get("/intervenant").status_code == 400  # localhost: not listed
    for host in ("imagin.ac-exemple.fr", "imagin-interne.ac-exemple.fr", "10.0.0.5:8080"):
        client = app.test_client()
        client.environ_base["HTTP_HOST"] = host
        assert client.get("/intervenant", base_url=f"http://{host}").status_code == 200
    client = app.test_client()
    base = "http://imagin-interne.ac-exemple.fr"
    token = csrf_from(client.get("/intervenant/mot-de-passe", base_url=base).get_data(True))
    answer = client.post(
        "/intervenant/mot-de-passe", base_url=base, data={"csrf_token": token, "email": PAUL}
    )
    assert answer.status_code == 303
    [body] = outbox_bodies(app)
    links = re.findall(r"https?://\S+", body)
    assert links and all(
        link.startswith("https://imagin.ac-exemple.fr/intervenant/mot-de-passe/") for link in links
    )
    app.extensions["imagin.engine"].dispose()


def test_make_run_and_the_test_client_hosts_are_trusted_by_default(app):
    for host in ("localhost", "127.0.0.1:8080", "localhost:8080"):
        assert app.test_client().get("/intervenant", base_url=f"http://{host}").status_code == 200


def test_trusted_hosts_are_read_from_the_public_url_and_the_setting():
    assert trusted_hosts("https://imagin.ac-x.fr/app", "a.example, b.example") == [
        "a.example",
        "b.example",
        "imagin.ac-x.fr",
    ]
    assert trusted_hosts("http://localhost:8080", []) == ["localhost", "127.0.0.1"]
    assert trusted_hosts("http://[::1]:8080", ["x"]) == ["x", "[::1]"]


# Item 5: a CSRF failure never re-submits what someone else posted.


def profile_of(app, email: str) -> tuple:
    with database(app) as db:
        user = db.scalar(select(User).where(User.email == email))
        return user.family_commune, user.admin_commune, user.vehicle_cv


def test_a_forged_profile_post_is_not_offered_again(app, signed_in):
    before = profile_of(app, CLAIRE)
    forged = {"family_commune": "Piègeville", "admin_commune": "Piègeville", "vehicle_cv": "9"}
    response = signed_in.post("/profil", data=forged, headers=CROSS_SITE)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "jeton de sécurité" in html
    # No form, no token, none of the forged values: nothing to click that would save them.
    assert "<form" not in main_part(html)
    assert "Piègeville" not in html and "Renvoyer" not in html
    # Nor are they put into the profile form for a careless "Enregistrer".
    assert "Piègeville" not in signed_in.get("/profil").get_data(as_text=True)
    assert profile_of(app, CLAIRE) == before


def test_an_expired_profile_form_comes_back_with_what_was_typed(app, signed_in):
    before = profile_of(app, CLAIRE)
    typed = {"csrf_token": "expiré", "family_commune": "Saint-Jean-de-Braye", "vehicle_cv": "6"}
    response = signed_in.post("/profil", data=typed, headers=SAME_ORIGIN)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<form" not in main_part(html)
    assert 'href="/profil"' in html and "Revenir au formulaire" in html
    assert profile_of(app, CLAIRE) == before  # nothing saved until the user saves it
    form = signed_in.get("/profil").get_data(as_text=True)
    assert 'value="Saint-Jean-de-Braye"' in form
    assert re.search(r'name="vehicle_cv"[^>]*value="6"', form)


def test_an_expired_htmx_form_keeps_nothing_for_later(app, signed_in):
    typed = {"csrf_token": "expiré", "family_commune": "Saint-Jean-de-Braye"}
    answer = signed_in.post("/profil", data=typed, headers={**SAME_ORIGIN, "HX-Request": "true"})
    assert answer.status_code == 400
    assert "jeton de sécurité" in answer.get_data(as_text=True)
    # The form stayed on screen as typed; nothing waits to refill a later one.
    assert "Saint-Jean-de-Braye" not in signed_in.get("/profil").get_data(as_text=True)


def claim_parts(app, number: int) -> tuple:
    with database(app) as db:
        claim = db.scalar(select(Claim).join(Mission).where(Mission.number == number))
        return claim.pay, claim.travel


def test_a_forged_approval_is_never_offered_again(app, client):
    AuthActions(client).login(GESTIONNAIRE)
    before = claim_parts(app, 815)
    review = client.get("/gestion/missions/815").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', review).group(1)
    for path, data in (
        ("/gestion/missions/815/deplacement/valider", {"version": version}),
        ("/gestion/missions/815/remuneration/valider", {"version": version}),
        ("/gestion/validation-groupee", {"selected": ["815"]}),
    ):
        for headers in (CROSS_SITE, SAME_ORIGIN | {"Referer": "http://localhost/gestion"}):
            response = client.post(path, data=data, headers=headers)
            assert response.status_code == 400, path
            html = main_part(response.get_data(as_text=True))
            assert "<form" not in html and "csrf_token" not in html, path
            assert "Revenir au formulaire" not in html
    # Back on the queue, no box is ticked for the user.
    queue = client.get("/gestion").get_data(as_text=True)
    assert not re.search(r'name="selected" value="815"[^>]*checked', queue)
    assert claim_parts(app, 815) == before


# Item 8: never a 500 on bad input.

BLANKS = ["%20", "%20%20", "%09", "%00", "1%20", "99999999999999999999"]


@pytest.mark.parametrize("value", BLANKS)
def test_blank_or_absurd_filters_show_the_list(app, value):
    client = app.test_client()
    AuthActions(client).login(CLAIRE)
    for name in ("session", "status", "page"):
        assert client.get(f"/missions?{name}={value}").status_code == 200, name
    client = app.test_client()
    AuthActions(client).login(GESTIONNAIRE)
    for name in ("session", "exam", "status", "name", "number", "page"):
        assert client.get(f"/gestion?{name}={value}").status_code == 200, name
    assert client.get(f"/gestion?session={value}&status={value}&number={value}").status_code == 200


AMOUNTS = ["1e308", "NaN", "-0", "1e-400", "9999999999999", "-1e308", "inf"]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_absurd_amounts_in_every_amount_field_are_refused_in_french(app, signed_in, amount):
    answers = {
        "fare": post_leg(app, signed_in, **{**LEG_621, "mode": "train", "km": "", "fare": amount}),
        "km": post_leg(app, signed_in, **{**LEG_621, "km": amount}),
        "other expense": post_expenses(
            app,
            signed_in,
            **{
                "expenses-0-kind": "parking",
                "expenses-0-detail": "Gare",
                "expenses-0-amount": amount,
            },
        ),
        "candidates": post_pay(
            signed_in, version=str(claim_of(app, 621)["version"]), done="oui", candidates=amount
        ),
        "vehicle_cv": signed_in.post(
            "/profil",
            data={
                "csrf_token": csrf_from(signed_in.get("/profil").get_data(True)),
                "vehicle_cv": amount,
            },
        ),
    }
    for field, answer in answers.items():
        # -0 is zero (a valid amount); anything else is refused next to its field.
        assert answer.status_code in (303, 422), (field, answer.status_code)
        if answer.status_code == 422:
            assert 'aria-invalid="true"' in answer.get_data(as_text=True), field


def test_minus_zero_is_stored_as_zero(app, signed_in):
    answer = post_expenses(
        app,
        signed_in,
        **{"expenses-0-kind": "parking", "expenses-0-detail": "Gare", "expenses-0-amount": "-0"},
    )
    assert answer.status_code == 303
    page = signed_in.get("/missions/621/deplacement").get_data(as_text=True)
    assert "-0,00" not in page


def test_a_nul_character_is_refused_in_french_not_a_database_error(app, signed_in):
    token = csrf_from(signed_in.get("/profil").get_data(as_text=True))
    answer = signed_in.post("/profil", data={"csrf_token": token, "family_commune": "Tours\x00"})
    assert answer.status_code == 422
    assert "caractère invisible non autorisé" in answer.get_data(as_text=True)
