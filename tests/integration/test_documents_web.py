"""Supporting documents on the web: upload (HTMX and plain form), every refusal, delete,
download rights and headers, the PDF bundle, validation, fragment sizes and query counts."""

from __future__ import annotations

import gzip
import io
import os
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from imagin.documents.errors import MIB
from imagin.models import AuditEvent, Bureau, Claim, Mission, User
from tests.builders import (
    HX,
    LEG_621,
    LUNCH_621,
    TRAIN_621,
    add_621,
    claim_of,
    documents,
    fetch,
    javascript_action,
    jpeg,
    pdf_of_size,
    post_expenses,
    post_leg,
    pypdf_pdf,
    send,
    set_travel_status,
    stored_files,
    token,
    validate,
    with_open_action,
)
from tests.conftest import (
    CLAIRE,
    GESTIONNAIRE,
    PAUL,
    AuthActions,
    count_queries,
    csrf_from,
    database,
    plain,
)

KB = 1024
FIVE_MB = 5 * MIB


@pytest.fixture
def claire(client, auth):
    auth.login(CLAIRE)
    return client


# --- The section --------------------------------------------------------------------------------


def test_tab_has_the_section_with_the_rule_and_a_camera_friendly_file_input(claire):
    html = plain(claire.get("/missions/621/deplacement").get_data(as_text=True))
    assert 'id="pieces"' in html
    assert "Récapitulatif des pièces justificatives du déplacement" in html
    assert "Sélectionner mes documents" in html
    assert "Format : gif, jpeg, jpg, png, pdf. Max 5 Mo — si possible en un seul fichier." in html
    field = re.search(r'<input [^>]*id="pieces-files"[^>]*>', html).group(0)
    assert "multiple" in field and 'name="files"' in field
    assert 'accept=".gif,.jpeg,.jpg,.png,.pdf,image/gif,image/jpeg,image/png,application/pdf"' in (
        field
    )
    assert 'enctype="multipart/form-data"' in html and 'action="/missions/621/pieces"' in html
    assert "Aucun document envoyé." in html
    # The row app.js copies for each file, with its progress bar.
    assert '<template class="upload-form__row"' in html and "<progress" in html


def test_mission_without_travel_right_has_no_section_and_refuses_uploads(claire, app):
    html = claire.get("/missions/903/deplacement").get_data(as_text=True)
    assert 'id="pieces"' not in html
    response = send(claire, ("billet.pdf", pypdf_pdf()), number=903)
    assert response.status_code == 409
    assert "ne donne pas droit au remboursement" in plain(response.get_data(as_text=True))
    assert documents(app, 903) == []


# --- Upload -------------------------------------------------------------------------------------


def test_upload_under_htmx_returns_the_row_and_keeps_the_file(app, claire):
    response = send(claire, ("Reçu hôtel.pdf", pypdf_pdf(2)))
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "documentsChanged"
    html = plain(response.get_data(as_text=True))
    [document] = documents(app)
    assert html.lstrip().startswith(f'<li id="document-{document.id}"')
    assert "Reçu hôtel.pdf" in html and "PDF · " in html and "Justifie : autre pièce" in html
    assert f'href="/missions/621/pieces/{document.id}"' in html
    assert document.original_name == "Reçu hôtel.pdf" and document.refs == []
    assert stored_files(app) == [document.stored_name]
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", document.stored_name)
    with database(app) as db:
        assert db.scalar(select(User.email).where(User.id == document.uploaded_by_id)) == CLAIRE
    # Listed on the tab, and on the Récapitulatif, read-only.
    tab = plain(claire.get("/missions/621/deplacement").get_data(as_text=True))
    assert "Reçu hôtel.pdf" in tab and "/supprimer" in tab
    recap = plain(claire.get("/missions/621/recapitulatif").get_data(as_text=True))
    assert (
        "Reçu hôtel.pdf" in recap and f"/missions/621/pieces/{document.id}/supprimer" not in recap
    )
    assert "Télécharger toutes les pièces (PDF)" in recap


def test_plain_form_sends_every_file_then_redirects_back_with_each_result(app, claire):
    response = send(
        claire,
        ("billet.pdf", pdf_of_size(2000)),
        ("photo.jpg", jpeg()),
        ("virus.exe", b"MZ"),
        hx=False,
    )
    assert response.status_code == 303
    assert response.location == "/missions/621/deplacement#pieces-messages"
    html = plain(claire.get(response.location).get_data(as_text=True))
    assert "« billet.pdf » envoyé." in html and "« photo.jpg » envoyé." in html
    assert (
        "« virus.exe » n'a pas été enregistré : Format non accepté : seuls gif, jpeg, jpg, png et "
        "pdf sont acceptés." in html
    )
    assert [d.original_name for d in documents(app)] == ["billet.pdf", "photo.jpg"]
    assert len(stored_files(app)) == 2
    assert re.search(r'id="document-\d+" class="documents__item">\s*<a[^>]*>billet.pdf</a>', html)


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("virus.exe", b"MZ\x90\x00", 422, "Format non accepté"),
        ("facture.pdf", jpeg(), 422, "Ce fichier n'est pas un PDF valide : son contenu est"),
        ("vide.pdf", b"", 422, "Le fichier est vide."),
        (
            "script.pdf",
            pypdf_pdf(configure=with_open_action(lambda w: javascript_action())),
            422,
            "Ce PDF contient du JavaScript",
        ),
        ("coupe.jpg", jpeg()[:200], 422, "Ce fichier JPEG est endommagé ou incomplet."),
        ("gros.pdf", pdf_of_size(FIVE_MB + 1), 413, "Le fichier dépasse 5 Mo"),
    ],
)
def test_every_refusal_is_a_french_message_beside_the_file_and_nothing_is_kept(
    app, claire, name, data, status, message
):
    response = send(claire, (name, data))
    assert response.status_code == status
    html = plain(response.get_data(as_text=True))
    assert message in html
    assert html.startswith('<p class="field__error upload__message" role="alert">')
    # Beside the file's name in its row, whatever responseHandling does with the status.
    assert response.headers["HX-Retarget"] == "next .upload__message"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert "HX-Trigger" not in response.headers
    assert documents(app) == [] and stored_files(app) == []


@pytest.mark.parametrize(
    ("files", "receipts", "message"),
    [
        ((), (), "Sélectionnez au moins un fichier."),
        ((("billet.pdf", b""),), (), None),
        (
            (("billet.pdf", pypdf_pdf()),),
            ["leg:999"],
            "Choisissez dans la liste ce que ce document",
        ),
    ],
)
def test_form_errors_are_422(app, claire, files, receipts, message):
    response = send(claire, *files, receipts=receipts)
    assert response.status_code == 422
    if message:
        assert message in plain(response.get_data(as_text=True))
    assert documents(app) == []


def test_exactly_5_mib_is_accepted_and_one_byte_more_is_refused(app, claire):
    assert send(claire, ("gros.pdf", pdf_of_size(FIVE_MB))).status_code == 200
    refused = send(claire, ("plus-gros.pdf", pdf_of_size(FIVE_MB + 1)))
    assert refused.status_code == 413
    assert "Le fichier dépasse 5 Mo : envoyez une version plus légère." in plain(
        refused.get_data(as_text=True)
    )
    [kept] = documents(app)
    assert kept.size == FIVE_MB and len(stored_files(app)) == 1


def test_a_request_over_the_flask_limit_is_refused_beside_the_file(app, claire):
    # The limit sits above a claim's quota (40 Mo): several files may be sent at once.
    body = b"%PDF-" + b"x" * (41 * MIB)
    response = send(claire, ("enorme.pdf", body))
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "next .upload__message"
    assert "Le fichier dépasse 5 Mo" in plain(response.get_data(as_text=True))
    without_js = send(claire, ("enorme.pdf", body), hx=False)
    assert without_js.status_code == 303
    html = plain(claire.get(without_js.location).get_data(as_text=True))
    assert "Ce que vous avez envoyé dépasse 41 Mo en tout" in html
    assert documents(app) == []


def test_a_file_over_5_mb_within_the_request_limit_is_refused_by_its_name(app, claire):
    response = send(claire, ("gros.pdf", b"%PDF-" + b"x" * (6 * MIB)), hx=False)
    assert response.status_code == 303
    html = plain(claire.get(response.location).get_data(as_text=True))
    assert (
        "« gros.pdf » n'a pas été enregistré : Le fichier dépasse 5 Mo : "
        "envoyez une version plus légère." in html
    )
    assert documents(app) == []


def test_the_same_file_twice_is_refused_with_the_name_it_has(app, claire):
    assert send(claire, ("billet.pdf", pypdf_pdf())).status_code == 200
    again = send(claire, ("copie du billet.pdf", pypdf_pdf()))
    assert again.status_code == 422
    assert "Ce fichier est déjà déposé pour ce dossier (« billet.pdf »)." in plain(
        again.get_data(as_text=True)
    )
    assert len(documents(app)) == 1 and len(stored_files(app)) == 1


def test_quota_of_files_and_of_bytes(app, claire):
    app.config.update(MAX_DOCUMENTS_PER_CLAIM=2, MAX_BYTES_PER_CLAIM=7000)
    assert send(claire, ("a.pdf", pdf_of_size(3000))).status_code == 200
    too_heavy = send(claire, ("b.pdf", pdf_of_size(4500)))
    assert too_heavy.status_code == 422
    assert "Les pièces de ce dossier dépasseraient 6 Ko au total" in plain(
        too_heavy.get_data(as_text=True)
    )
    assert send(claire, ("c.pdf", pdf_of_size(3001))).status_code == 200
    too_many = send(claire, ("d.pdf", pdf_of_size(600)))
    assert too_many.status_code == 422
    assert "Ce dossier compte déjà 2 pièces justificatives, le maximum" in plain(
        too_many.get_data(as_text=True)
    )
    assert [d.original_name for d in documents(app)] == ["a.pdf", "c.pdf"]
    assert len(stored_files(app)) == 2


def test_photo_is_stored_without_its_metadata_and_its_row_says_jpeg(app, claire):
    response = send(claire, ("photo.jpeg", jpeg((300, 200))))
    assert "JPEG · " in response.get_data(as_text=True)
    [document] = documents(app)
    assert document.content_type == "image/jpeg" and document.stored_name.endswith(".jpg")


# --- Delete -------------------------------------------------------------------------------------


def test_delete_under_htmx_removes_the_row_and_the_file(app, claire):
    send(claire, ("billet.pdf", pypdf_pdf()))
    [document] = documents(app)
    response = claire.post(
        f"/missions/621/pieces/{document.id}/supprimer",
        headers={**HX, "X-CSRFToken": token(claire)},
    )
    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["HX-Trigger"] == "documentsChanged"
    assert documents(app) == [] and stored_files(app) == []


def test_delete_without_javascript_asks_first_then_redirects(app, claire):
    send(claire, ("billet.pdf", pypdf_pdf()))
    [document] = documents(app)
    page = plain(claire.get(f"/missions/621/pieces/{document.id}/supprimer").get_data(as_text=True))
    assert "Voulez-vous supprimer le document « billet.pdf »" in page
    response = claire.post(
        f"/missions/621/pieces/{document.id}/supprimer", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code == 303
    assert response.location == "/missions/621/deplacement#pieces-messages"
    assert "« billet.pdf » supprimé." in plain(claire.get(response.location).get_data(as_text=True))
    assert documents(app) == []


def history(app, number=621) -> list[AuditEvent]:
    with database(app) as db:
        return list(
            db.scalars(
                select(AuditEvent)
                .join(Mission, AuditEvent.mission_id == Mission.id)
                .where(Mission.number == number, AuditEvent.action.like("document_%"))
                .order_by(AuditEvent.id)
            )
        )


def test_adding_and_deleting_a_document_are_in_the_history_with_who_and_which(app, claire):
    send(claire, ("Billet retour.pdf", pypdf_pdf()), receipts=())
    [document] = documents(app)
    [added] = history(app)
    assert added.action == "document_added" and added.part == "travel"
    assert added.at == document.uploaded_at
    assert added.detail["document_id"] == document.id
    assert added.detail["original_name"] == "Billet retour.pdf"
    assert added.detail["sha256"] == document.sha256 and added.detail["receipts"] == []
    claire.post(
        f"/missions/621/pieces/{document.id}/supprimer",
        headers={**HX, "X-CSRFToken": token(claire)},
    )
    _added, deleted = history(app)
    assert deleted.action == "document_deleted" and deleted.detail["document_id"] == document.id
    with database(app) as db:
        assert {db.get(User, e.actor_id).email for e in (added, deleted)} == {CLAIRE}
    # Both shown, with the file's name, newest first, to Claire and to the DEC.
    page = plain(claire.get("/missions/621/suivi").get_data(as_text=True))
    suivi = " ".join(re.sub(r"<[^>]+>", "", page).split())  # the text as it reads
    removed = suivi.index("Pièce justificative supprimée « Billet retour.pdf » (déplacement)")
    assert removed < suivi.index("Pièce justificative ajoutée « Billet retour.pdf »")
    assert suivi[removed:].startswith(
        "Pièce justificative supprimée « Billet retour.pdf » (déplacement) — par Claire MARTIN"
    )
    manager = app.test_client()
    AuthActions(manager).login(GESTIONNAIRE)
    review = plain(manager.get("/gestion/missions/621").get_data(as_text=True))
    assert "Pièce justificative supprimée « Billet retour.pdf »" in review


def test_a_refused_document_leaves_no_trace_in_the_history(app, claire):
    send(claire, ("a.pdf", pypdf_pdf()))
    response = send(claire, ("the same again.pdf", pypdf_pdf()))
    assert response.status_code == 409 or response.status_code == 422
    assert [e.action for e in history(app)] == ["document_added"]


@pytest.mark.parametrize("status", ["valide", "valide_gestionnaire", "mis_en_paiement"])
def test_after_validation_nothing_can_be_added_or_deleted(app, claire, status):
    send(claire, ("billet.pdf", pypdf_pdf()))
    [document] = documents(app)
    set_travel_status(app, 621, status)
    csrf = token(claire)
    refused = send(claire, ("hotel.pdf", pdf_of_size(3000)), csrf=csrf)
    assert refused.status_code == 409
    assert "il ne peut plus être modifié" in plain(refused.get_data(as_text=True))
    url = f"/missions/621/pieces/{document.id}/supprimer"
    deleted = claire.post(url, headers={**HX, "X-CSRFToken": csrf})
    assert deleted.status_code == 409
    row = plain(deleted.get_data(as_text=True))
    assert f'id="document-{document.id}"' in row and "il ne peut plus être modifié" in row
    assert "/supprimer" not in row
    assert claire.post(url, data={"csrf_token": csrf}).status_code == 409
    assert claire.get(url).status_code == 303
    tab = plain(claire.get("/missions/621/deplacement").get_data(as_text=True))
    assert "billet.pdf" in tab and "/supprimer" not in tab and "upload-form" not in tab
    assert [d.id for d in documents(app)] == [document.id] and len(stored_files(app)) == 1


def test_someone_elses_document_cannot_be_deleted(app, client, auth):
    auth.login(CLAIRE)
    send(client, ("billet.pdf", pypdf_pdf()))
    [document] = documents(app)
    auth.logout()
    auth.login(PAUL)
    url = f"/missions/621/pieces/{document.id}/supprimer"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"csrf_token": auth.token}).status_code == 404
    assert len(documents(app)) == 1


# --- Download -----------------------------------------------------------------------------------


@pytest.fixture
def other_gestionnaire(app, demo_password_hash) -> str:
    """A gestionnaire of DEC3 only; mission 621 belongs to DEC2."""
    email = "dec.caen@example.fr"
    with database(app) as db:
        user = User(email=email, role="gestionnaire", password_hash=demo_password_hash)
        bureau = db.scalar(select(Bureau).where(Bureau.code == "DEC3"))
        bureau.members.append(user)
        db.commit()
    return email


def test_download_by_the_owner_and_by_the_gestionnaires_of_the_bureau_only(
    app, client, auth, other_gestionnaire
):
    auth.login(CLAIRE)
    send(client, ("Reçu d'hôtel.pdf", pypdf_pdf()))
    [document] = documents(app)
    own = f"/missions/621/pieces/{document.id}"
    managed = f"/gestion/missions/621/pieces/{document.id}"

    response = fetch(client, own)
    assert response.status_code == 200
    assert response.data == pypdf_pdf()
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Recu d_hotel.pdf\"; filename*=UTF-8''Re%C3%A7u%20d%27h%C3%B4tel.pdf"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]
    assert fetch(client, managed).status_code == 404  # an intervenant is no gestionnaire
    assert fetch(client, f"/missions/702/pieces/{document.id}").status_code == 404

    auth.logout()
    auth.login(PAUL)
    assert fetch(client, own).status_code == 404
    assert fetch(client, "/missions/621/pieces.pdf").status_code == 404

    auth.logout()
    auth.login(GESTIONNAIRE)
    response = fetch(client, managed)
    assert response.status_code == 200 and response.data == pypdf_pdf()
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert fetch(client, own).status_code == 404  # not the gestionnaire's own mission

    auth.logout()
    auth.login(other_gestionnaire)
    assert fetch(client, managed).status_code == 404
    assert fetch(client, "/gestion/missions/621/pieces.pdf").status_code == 404


def test_ascii_names_also_get_the_utf8_form_and_gif_downloads_as_png(app, claire):
    from tests.builders import gif

    send(claire, ("scan.gif", gif()))
    [document] = documents(app)
    response = fetch(claire, f"/missions/621/pieces/{document.id}")
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"scan.png\"; filename*=UTF-8''scan.png"
    )


def test_a_lost_file_is_a_404(app, claire):
    send(claire, ("billet.pdf", pypdf_pdf()))
    [document] = documents(app)
    os.unlink(os.path.join(app.config["UPLOAD_DIR"], document.stored_name))
    assert fetch(claire, f"/missions/621/pieces/{document.id}").status_code == 404


# --- The bundle ---------------------------------------------------------------------------------


def test_bundle_is_one_pdf_cover_then_every_page(app, client, auth):
    auth.login(CLAIRE)
    post_leg(app, client, **TRAIN_621)
    [leg_id] = claim_of(app, 621)["leg_ids"]
    send(client, ("billet.pdf", pypdf_pdf(2)), receipts=[f"leg:{leg_id}"])
    send(client, ("photo.jpg", jpeg((400, 300))))
    response = fetch(client, "/missions/621/pieces.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="pieces-justificatives-mission-621.pdf"'
    )
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1 + 2 + 1
    cover = reader.pages[0].extract_text()
    assert "Mission N° 621" in cover and "billet.pdf" in cover and "photo.jpg" in cover
    assert "justifie : Billet" in cover

    auth.logout()
    auth.login(GESTIONNAIRE)
    managed = fetch(client, "/gestion/missions/621/pieces.pdf")
    assert managed.status_code == 200
    assert len(PdfReader(io.BytesIO(managed.data)).pages) == 4
    review = plain(client.get("/gestion/missions/621").get_data(as_text=True))
    [billet, photo] = documents(app)
    assert f'href="/gestion/missions/621/pieces/{billet.id}">billet.pdf</a>' in review
    assert f'href="/gestion/missions/621/pieces/{photo.id}">photo.jpg</a>' in review
    assert 'href="/gestion/missions/621/pieces.pdf"' in review
    assert "Justifie : Billet" in review and "/supprimer" not in review


# --- Validation ---------------------------------------------------------------------------------


def test_validation_is_refused_while_a_needed_receipt_has_no_document(app, claire):
    post_leg(app, claire, **TRAIN_621)
    post_expenses(app, claire, **{LUNCH_621: "autre"})
    [leg_id] = claim_of(app, 621)["leg_ids"]
    tab = plain(claire.get("/missions/621/deplacement").get_data(as_text=True))
    # The first receipt still without a document comes checked, so files are sent in order.
    assert re.search(
        rf'<input checked id="receipts-0" name="receipts" type="checkbox" value="leg:{leg_id}"> '
        r"Billet — Train ST LO → ALENCON CEDEX",
        tab,
    )
    assert "à fournir" in tab

    refused = validate(app, claire, part="travel")
    assert refused.status_code == 422
    html = plain(refused.get_data(as_text=True))
    assert "Ajoutez le justificatif : Billet — " in html
    assert f'href="/missions/621/deplacement#receipt-leg-{leg_id}"' in html
    assert claim_of(app, 621)["travel"] == "non_valide"

    # A document for something else does not count.
    send(claire, ("autre.pdf", pdf_of_size(1500)))
    assert validate(app, claire, part="travel").status_code == 422
    assert send(claire, ("billet.pdf", pypdf_pdf()), receipts=[f"leg:{leg_id}"]).status_code == 200
    needed = plain(claire.get("/missions/621/pieces/demandees", headers=HX).get_data(as_text=True))
    assert "fourni" in needed and "à fournir" not in needed
    assert validate(app, claire, part="travel").status_code == 303
    assert claim_of(app, 621)["travel"] == "valide"


def test_recapitulatif_lists_the_missing_receipts_before_validating(app, claire):
    add_621(app, claire, TRAIN_621)
    html = plain(claire.get("/missions/621/recapitulatif").get_data(as_text=True))
    assert re.search(
        r'<a href="/missions/621/deplacement#receipt-leg-\d+">Ajoutez le justificatif : '
        r"Billet — [^<]+</a>",
        html,
    )


def test_other_expenses_are_keyed_by_their_id(app, claire):
    set_travel_status(app, 1004, "non_valide")
    fields = {"expenses-0-kind": "parking", "expenses-0-detail": "Gare", "expenses-0-amount": "12"}
    post_expenses(app, claire, 1004, **fields)
    html = plain(claire.get("/missions/1004/deplacement").get_data(as_text=True))
    with database(app) as db:
        parking = db.scalar(select(Claim).join(Mission).where(Mission.number == 1004)).expenses
    [expense] = [e for e in parking if e.kind == "parking"]
    assert (
        f'name="receipts" type="checkbox" value="expense:{expense.id}"> '
        "Ticket de parking de 12,00 € — Gare</label>"
    ) in html
    assert f'id="expense-{expense.id}"' in html and f'id="receipt-expense-{expense.id}"' in html


@pytest.mark.parametrize("url", ["/missions/621/pieces", "/missions/621/pieces/demandees"])
def test_fragment_urls_without_htmx_go_to_the_section(claire, url):
    response = claire.get(url)
    assert response.status_code == 303
    assert response.location == "/missions/621/deplacement#pieces"
    assert "HX-Request" in response.headers["Vary"]


# --- Budgets ------------------------------------------------------------------------------------


def gzipped(response) -> int:
    return len(gzip.compress(response.get_data()))


def test_fragments_stay_under_6_kb_compressed(app, claire):
    for index in range(8):
        response = send(
            claire, (f"justificatif-{index:02d} avec un nom long.pdf", pdf_of_size(900 + index))
        )
        assert gzipped(response) < 2 * KB
    tab = claire.get("/missions/621/deplacement", headers=HX)
    assert tab.status_code == 200 and "<html" not in tab.get_data(as_text=True)
    # Under HTMX the section comes in a request of its own, like the tab's other sections.
    assert 'hx-get="/missions/621/pieces" hx-trigger="load"' in tab.get_data(as_text=True)
    assert gzipped(tab) < 6 * KB
    section = claire.get("/missions/621/pieces", headers=HX)
    assert section.get_data(as_text=True).count('class="documents__item"') == 8
    assert gzipped(section) < 6 * KB
    assert gzipped(claire.get("/missions/621/pieces/demandees", headers=HX)) < 2 * KB
    assert gzipped(claire.get("/missions/621/recapitulatif", headers=HX)) < 6 * KB


def test_query_counts_do_not_grow_with_the_documents(app, claire):
    csrf = token(claire)

    def counts(new_size: int) -> dict[str, int]:
        first = documents(app)[0].id
        calls = {
            "tab": lambda: claire.get("/missions/621/deplacement", headers=HX),
            "recap": lambda: claire.get("/missions/621/recapitulatif", headers=HX),
            "section": lambda: claire.get("/missions/621/pieces", headers=HX),
            "needed": lambda: claire.get("/missions/621/pieces/demandees", headers=HX),
            "bundle": lambda: fetch(claire, "/missions/621/pieces.pdf"),
            "download": lambda: fetch(claire, f"/missions/621/pieces/{first}"),
            "upload": lambda: send(claire, ("new.pdf", pdf_of_size(new_size)), csrf=csrf),
        }
        result = {}
        for name, call in calls.items():
            with count_queries(app) as statements:
                assert call().status_code == 200, name
            result[name] = len(statements)
        return result

    send(claire, ("first.pdf", pdf_of_size(600)), csrf=csrf)
    few = counts(700)
    for index in range(6):
        send(claire, (f"more-{index}.pdf", pdf_of_size(800 + index)), csrf=csrf)
    many = counts(701)
    assert few == many, (few, many)


def test_documents_do_not_make_the_other_forms_of_the_page_stale(app, claire):
    # Uploading or deleting leaves the claim's version alone: the leg and expense
    # forms already on the page can still be saved.
    version = claim_of(app, 621)["version"]
    send(claire, ("billet.pdf", pypdf_pdf()))
    [document] = documents(app)
    claire.post(
        f"/missions/621/pieces/{document.id}/supprimer",
        headers={**HX, "X-CSRFToken": token(claire)},
    )
    assert claim_of(app, 621)["version"] == version
    assert post_leg(app, claire, version=version, **LEG_621).status_code == 303
