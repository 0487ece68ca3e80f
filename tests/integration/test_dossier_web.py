"""Mon dossier financier, and the DEC's checks: fields, errors beside them, masking, access."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from imagin.db import get_db
from imagin.demo import DEMO_IBAN, DEMO_NIR
from imagin.dossier.service import get_dossier, keyring, numbers
from imagin.models import Dossier, DossierEvent, OutgoingMail, User
from tests.builders import jpeg, simple_pdf
from tests.conftest import CLAIRE, GESTIONNAIRE, PAUL, csrf_from

URL = "/profil/dossier-financier"
# Paul's fake but valid numbers: a man born in June 1978; Commerzbank's example IBAN.
PAUL_NIR = "178061411804224"
PAUL_IBAN = "DE89370400440532013000"
PAUL_BIC = "COBADEFFXXX"


def paul_fields(**overrides) -> dict:
    fields = {
        "civility": "M",
        "birth_name": "DURAND",
        "used_name": "",
        "first_names": "Paul",
        "birth_date": "1978-06-20",
        "birth_place": "Caen (14)",
        "address": "3 place de la République",
        "postal_code": "14000",
        "city": "CAEN",
        "country": "France",
        "nir": "1 78 06 14 118 042 24",
        "holder_name": "Paul DURAND",
        "iban": "DE89 3704 0044 0532 0130 00",
        "bic": PAUL_BIC,
    }
    fields.update(overrides)
    return fields


def post_dossier(client, files=None, **overrides):
    token = csrf_from(client.get(URL).get_data(as_text=True))
    data = {"csrf_token": token, **paul_fields(**overrides)}
    for name, (content, filename) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename)
    return client.post(URL, data=data, content_type="multipart/form-data")


def user_id(app, email) -> int:
    with app.app_context():
        return get_db().scalar(select(User.id).where(User.email == email))


def three_documents() -> dict:
    return {
        "rib": (simple_pdf(), "rib.pdf"),
        "vitale": (jpeg(), "vitale.jpg"),
        "notice": (simple_pdf(), "notice.pdf"),
    }


def test_owner_sees_only_masked_numbers(client, auth):
    auth.login(CLAIRE)
    page = client.get(URL).get_data(as_text=True)
    assert "FR76 •••• •••• •••• •••• •••• 189" in page
    assert "2 85 •• •• ••• ••• 06" in page
    assert DEMO_IBAN not in page and DEMO_NIR not in page and "30006" not in page
    assert "Vérifié" in page


def test_all_errors_at_once_beside_their_fields_and_nothing_typed_lost(client, auth, app):
    auth.login(PAUL)
    response = post_dossier(
        client,
        files={"rib": (b"MZ\x90\x00 not a pdf", "rib.pdf")},
        nir="178061411804225",
        iban="FR7630006000011234567890188",
        birth_name="",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "La clé du numéro de sécurité sociale ne correspond pas" in page
    assert "La clé de l&#39;IBAN ne correspond pas" in page
    assert "Ce champ est obligatoire." in page
    assert re.search(r'id="rib-error"', page)
    # What was typed comes back.
    assert 'value="3 place de la République"' in page
    assert 'value="FR7630006000011234567890188"' in page
    with app.app_context():
        assert get_dossier(get_db(), user_id(app, PAUL)) is None


def test_bic_of_another_bank_is_refused(client, auth):
    auth.login(PAUL)
    response = post_dossier(client, bic="AGRIFRPP")
    assert response.status_code == 422
    assert "n&#39;est pas celui de la banque de votre IBAN" in response.get_data(as_text=True)


def test_nir_inconsistent_with_birth_date_and_civility(client, auth):
    auth.login(PAUL)
    page = post_dossier(client, civility="F", birth_date="1979-06-20").get_data(as_text=True)
    assert "civilité « Madame »" in page


def test_saved_without_documents_then_transmitted_with_them(client, auth, app):
    auth.login(PAUL)
    response = post_dossier(client)
    assert response.status_code == 303
    page = client.get(URL).get_data(as_text=True)
    assert "ajoutez les pièces qui manquent" in page
    assert "DE89 •••• •••• •••• •••• 000" in page
    with app.app_context():
        dossier = get_dossier(get_db(), user_id(app, PAUL))
        assert dossier.status == "a_fournir"
        assert numbers(dossier, keyring()).iban == PAUL_IBAN
    # Numbers left empty keep those on file; the documents complete the dossier.
    response = post_dossier(client, files=three_documents(), nir="", iban="", bic="")
    assert response.status_code == 303
    assert "transmis à la DEC" in client.get(URL).get_data(as_text=True)
    with app.app_context():
        dossier = get_dossier(get_db(), user_id(app, PAUL))
        assert dossier.status == "transmis"
        assert len(dossier.documents) == 3
        assert numbers(dossier, keyring()).nir == PAUL_NIR
    download = client.get(URL + "/pieces/vitale")
    assert download.status_code == 200 and download.mimetype == "image/jpeg"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    download.close()


def test_changing_a_verified_iban_sends_it_back_to_the_dec(client, auth, app):
    auth.login(CLAIRE)
    token = csrf_from(client.get(URL).get_data(as_text=True))
    with app.app_context():
        dossier = get_dossier(get_db(), user_id(app, CLAIRE))
        typed = {
            name: getattr(dossier, name)
            for name in (
                "civility",
                "birth_name",
                "used_name",
                "first_names",
                "birth_place",
                "address",
                "postal_code",
                "city",
                "country",
                "holder_name",
            )
        }
    data = {
        "csrf_token": token,
        **typed,
        "birth_date": "1985-03-02",
        "nir": "",
        "bic": "",
        "iban": "FR1420041010050500013M02606",
    }
    # The BIC on file (AGRIFRPP) is not La Banque Postale's: refused, nothing changed.
    response = client.post(URL, data=data)
    assert response.status_code == 422
    data["bic"] = "PSSTFRPPXXX"
    assert client.post(URL, data=data).status_code == 303
    with app.app_context():
        dossier = get_dossier(get_db(), user_id(app, CLAIRE))
        assert dossier.status == "transmis" and dossier.changed_since_verified


def test_others_get_404(client, auth, app):
    claire = user_id(app, CLAIRE)
    auth.login(PAUL)
    assert client.get(f"/gestion/dossiers/{claire}").status_code == 404
    assert client.get(f"/gestion/dossiers/{claire}/pieces/rib").status_code == 404
    assert client.get("/gestion/dossiers").status_code == 404
    # Paul has no dossier: his own document link is a 404 too.
    assert client.get(URL + "/pieces/rib").status_code == 404


def test_gestionnaire_of_another_bureau_gets_404(client, auth, app):
    from imagin.auth.passwords import hash_password
    from imagin.models import Bureau

    with app.app_context():
        db = get_db()
        other = Bureau(code="DEC9", name="Autre", email="dec9@example.fr", phone="0")
        user = User(
            email="dec9@example.fr",
            role="gestionnaire",
            password_hash=hash_password("mot-de-passe-de-test"),
        )
        other.members.append(user)
        db.add(other)
        db.commit()
    auth.login("dec9@example.fr", "mot-de-passe-de-test")
    claire = user_id(app, CLAIRE)
    assert client.get(f"/gestion/dossiers/{claire}").status_code == 404
    assert "Claire" not in client.get("/gestion/dossiers?statut=verifie").get_data(as_text=True)


def test_dec_queue_reveal_and_correction(client, auth, app):
    auth.login(PAUL)
    post_dossier(client, files=three_documents())
    auth.logout()
    paul = user_id(app, PAUL)
    auth.login(GESTIONNAIRE)
    queue = client.get("/gestion/dossiers").get_data(as_text=True)
    assert "Paul DURAND" in queue
    page = client.get(f"/gestion/dossiers/{paul}").get_data(as_text=True)
    assert PAUL_IBAN not in page and "DE89 3704" not in page and PAUL_NIR not in page
    assert "DE89 •••• •••• •••• •••• 000" in page
    token = csrf_from(page)
    revealed = client.post(f"/gestion/dossiers/{paul}/reveler", data={"csrf_token": token})
    text = revealed.get_data(as_text=True)
    assert "DE89 3704 0044 0532 0130 00" in text and "1 78 06 14 118 042 24" in text
    assert "no-store" in revealed.headers["Cache-Control"]
    # A correction needs a reason.
    refused = client.post(f"/gestion/dossiers/{paul}/a-corriger", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "Indiquez le motif" in refused.get_data(as_text=True)
    done = client.post(
        f"/gestion/dossiers/{paul}/a-corriger",
        data={"csrf_token": token, "reason": "Le RIB porte une adresse professionnelle."},
    )
    assert done.status_code == 303
    with app.app_context():
        db = get_db()
        assert db.scalar(select(Dossier.status).where(Dossier.user_id == paul)) == "a_corriger"
        actions = db.scalars(select(DossierEvent.action).where(DossierEvent.user_id == paul)).all()
        assert "reveal" in actions and "correct" in actions
        mail = db.scalar(select(OutgoingMail).where(OutgoingMail.to == PAUL))
        assert "adresse professionnelle" in mail.body
        assert PAUL_IBAN not in mail.body and PAUL_NIR not in mail.body
        assert "/profil/dossier-financier" in mail.body
    auth.logout()
    auth.login(PAUL)
    assert "adresse professionnelle" in client.get(URL).get_data(as_text=True)


def test_dec_verifies_a_complete_dossier(client, auth, app):
    auth.login(PAUL)
    post_dossier(client, files=three_documents())
    auth.logout()
    paul = user_id(app, PAUL)
    auth.login(GESTIONNAIRE)
    token = csrf_from(client.get(f"/gestion/dossiers/{paul}").get_data(as_text=True))
    assert (
        client.post(f"/gestion/dossiers/{paul}/verifier", data={"csrf_token": token}).status_code
        == 303
    )
    again = client.post(f"/gestion/dossiers/{paul}/verifier", data={"csrf_token": token})
    assert again.status_code == 409
    with app.app_context():
        assert get_db().scalar(select(Dossier.status).where(Dossier.user_id == paul)) == "verifie"


def test_junk_is_refused_in_french_never_a_500(client, auth, app):
    auth.login(PAUL)
    for junk in (
        {"birth_place": "Caen\x00"},
        {"birth_date": "31/02/99999"},
        {"civility": "X"},
        {"iban": "\x00" * 60},
        {"postal_code": "<script>"},
    ):
        response = post_dossier(client, **junk)
        assert response.status_code == 422, junk
        assert "Il y a" in response.get_data(as_text=True)
    with app.app_context():
        assert get_dossier(get_db(), user_id(app, PAUL)) is None
    token = csrf_from(client.get(URL).get_data(as_text=True))
    assert client.get(URL + "/pieces/..%2f..%2fetc").status_code == 404
    assert client.post(URL, data={"csrf_token": "bad"}).status_code in (400, 422)
    assert token
