"""Receipts you can trust: links that survive edits, one file for several receipts, a duplicate
linked instead of refused, a deleted entry's documents re-assigned (issue 10, items 1 and 2)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from imagin.models import Claim, Mission, TravelLeg
from tests.builders import (
    HX,
    LEG_621,
    LUNCH_621,
    RETURN_621,
    TRAIN_621,
    claim_of,
    documents,
    form_fields,
    multi,
    post_expenses,
    post_leg,
    pypdf_pdf,
    send,
    set_travel_status,
    token,
    validate,
)
from tests.conftest import CLAIRE, AuthActions, csrf_from, database, plain

TRAIN_BACK = {**RETURN_621, "mode": "train", "km": "", "fare": "35,50"}
TOLL = {"expenses-0-kind": "toll", "expenses-0-detail": "A84", "expenses-0-amount": "12,40"}


@pytest.fixture
def claire(client):
    AuthActions(client).login(CLAIRE)
    return client


def tab(client, number=621) -> str:
    return plain(client.get(f"/missions/{number}/deplacement").get_data(as_text=True))


def needed(client, number=621) -> str:
    response = client.get(f"/missions/{number}/pieces/demandees", headers=HX)
    return plain(response.get_data(as_text=True))


def refs_of(app, number=621) -> list[list[str]]:
    return [[str(ref) for ref in document.refs] for document in documents(app, number)]


def resave_expenses(app, client, number=621):
    """Send the expenses form back exactly as the page shows it (no change at all)."""
    html = client.get(f"/missions/{number}/deplacement").get_data(as_text=True)
    fields = multi(form_fields(html, "expenses-form"))
    assert fields["version"] == [str(claim_of(app, number)["version"])]
    return client.post(f"/missions/{number}/deplacement/frais", data=fields)


# --- 1. Receipts stay linked --------------------------------------------------------------------


def test_resaving_the_expenses_form_unchanged_keeps_every_document_linked(app, claire):
    post_leg(app, claire, **LEG_621)
    assert post_expenses(app, claire, **{LUNCH_621: "autre"}, **TOLL).status_code == 303
    [toll] = [e for e in claim_of(app, 621)["expenses"] if e[0] == "toll"]
    assert toll[-1] == 1240
    ids = claim_of(app, 621)["expense_ids"]
    toll_id = next(
        i for i in ids if re.search(rf'value="expense:{i}"> Ticket de péage', tab(claire))
    )
    assert send(claire, ("peage.pdf", pypdf_pdf()), receipts=[f"expense:{toll_id}"]).status_code
    assert "Ticket de péage de 12,40 € — A84 — <strong>fourni</strong>" in needed(claire)

    for _ in range(2):
        assert resave_expenses(app, claire).status_code == 303
        assert claim_of(app, 621)["expense_ids"] == ids  # changed in place, same rows
        assert refs_of(app) == [[f"expense:{toll_id}"]]
        assert "— <strong>fourni</strong>" in needed(claire) and "à fournir" not in needed(claire)
    # Validation is not blocked by that receipt any more.
    assert validate(app, claire, part="travel").status_code == 303
    assert claim_of(app, 621)["travel"] == "valide"


def test_editing_a_leg_keeps_its_ticket_linked(app, claire):
    post_leg(app, claire, **TRAIN_621)
    [leg_id] = claim_of(app, 621)["leg_ids"]
    send(claire, ("billet.pdf", pypdf_pdf()), receipts=[f"leg:{leg_id}"])
    changed = {**TRAIN_621, "departure_time": "06:30", "fare": "41,20"}
    assert post_leg(app, claire, leg_id=leg_id, **changed).status_code == 303
    assert claim_of(app, 621)["leg_ids"] == [leg_id]
    assert refs_of(app) == [[f"leg:{leg_id}"]]
    assert "Billet — Train ST LO → ALENCON CEDEX du 02/12/2022 — <strong>fourni</strong>" in (
        needed(claire)
    )


def test_a_deleted_leg_leaves_its_document_saying_so_and_re_assignable(app, claire):
    post_leg(app, claire, **TRAIN_621)
    post_leg(app, claire, **TRAIN_BACK)
    first, second = claim_of(app, 621)["leg_ids"]
    send(claire, ("billet-aller.pdf", pypdf_pdf()), receipts=[f"leg:{second}"])
    [document] = documents(app)
    claire.post(
        f"/missions/621/deplacement/trajets/{second}/supprimer",
        data={"csrf_token": token(claire), "version": str(claim_of(app, 621)["version"])},
    )
    html = tab(claire)
    assert (
        "Ne justifie plus : Billet — Train ALENCON CEDEX → ST LO du 02/12/2022 (supprimé depuis)"
        in html
    )
    assert "Justifie : autre pièce" in html
    links = f"/missions/621/pieces/{document.id}/justifie"
    assert f'href="{links}"' in html
    # A new leg never takes the deleted one's id: the document does not justify it silently.
    post_leg(app, claire, **TRAIN_BACK)
    third = claim_of(app, 621)["leg_ids"][-1]
    assert third > second
    assert "Ne justifie plus : Billet — Train ALENCON CEDEX → ST LO" in tab(claire)

    # Re-assigned, without JavaScript: its own page, then back to its row.
    page = plain(claire.get(links).get_data(as_text=True))
    assert "Ce que justifie « billet-aller.pdf »" in page
    saved = claire.post(
        links,
        data={"csrf_token": csrf_from(page), f"document-{document.id}-receipts": f"leg:{first}"},
    )
    assert saved.status_code == 303
    assert saved.location == f"/missions/621/deplacement#document-{document.id}"
    html = tab(claire)
    assert "Justifie : Billet — Train ST LO → ALENCON CEDEX du 02/12/2022" in html
    assert "Ne justifie plus" not in html
    assert refs_of(app) == [[f"leg:{first}"]]


def test_a_deleted_expense_line_detaches_its_receipt(app, claire):
    set_travel_status(app, 1004, "non_valide")
    post_expenses(app, claire, 1004, **{**TOLL, "expenses-0-kind": "parking"})
    html = tab(claire, 1004)
    parking = re.search(r'value="expense:(\d+)"> Ticket de parking', html).group(1)
    send(claire, ("parking.pdf", pypdf_pdf()), receipts=[f"expense:{parking}"], number=1004)
    fields = multi(form_fields(claire.get("/missions/1004/deplacement").text, "expenses-form"))
    fields["expenses-0-amount"] = [""]  # "Laissez le montant vide pour retirer une ligne."
    assert claire.post("/missions/1004/deplacement/frais", data=fields).status_code == 303
    assert "Ne justifie plus : Ticket de parking de 12,40 € — A84 (supprimé depuis)" in tab(
        claire, 1004
    )


# --- 2. One file, several receipts ------------------------------------------------------------


def test_one_file_justifies_the_way_there_and_back(app, claire):
    post_leg(app, claire, **TRAIN_621)
    post_leg(app, claire, **TRAIN_BACK)
    there, back = claim_of(app, 621)["leg_ids"]
    # Without JavaScript: one form, one file, two boxes checked.
    response = send(
        claire, ("e-billet.pdf", pypdf_pdf()), receipts=[f"leg:{there}", f"leg:{back}"], hx=False
    )
    assert response.status_code == 303
    assert response.location == "/missions/621/deplacement#pieces-messages"
    html = plain(claire.get(response.location).get_data(as_text=True))
    messages = html[html.index('id="pieces-messages"') :]
    assert "« e-billet.pdf » envoyé." in messages[: messages.index("</div>")]
    assert refs_of(app) == [[f"leg:{there}", f"leg:{back}"]]
    assert needed(claire).count("<strong>fourni</strong>") == 2
    assert (
        "Justifie : Billet — Train ST LO → ALENCON CEDEX du 02/12/2022 ; "
        "Billet — Train ALENCON CEDEX → ST LO du 02/12/2022" in html
    )


def test_what_a_document_justifies_changes_under_htmx_until_the_part_is_validated(app, claire):
    post_leg(app, claire, **TRAIN_621)
    post_leg(app, claire, **TRAIN_BACK)
    there, back = claim_of(app, 621)["leg_ids"]
    post_expenses(app, claire, **{LUNCH_621: "gratuit"})
    send(claire, ("billet.pdf", pypdf_pdf()), receipts=[f"leg:{there}"])
    [document] = documents(app)
    url = f"/missions/621/pieces/{document.id}/justifie"
    row = claire.get(url, headers=HX).get_data(as_text=True)
    assert row.lstrip().startswith(f'<li id="document-{document.id}"')
    assert f'name="document-{document.id}-receipts" type="checkbox" value="leg:{back}"' in row
    saved = claire.post(
        url,
        data={f"document-{document.id}-receipts": [f"leg:{there}", f"leg:{back}"]},
        headers={**HX, "X-CSRFToken": token(claire)},
    )
    assert saved.status_code == 200 and saved.headers["HX-Trigger"] == "documentsChanged"
    assert "Ce que « billet.pdf » justifie est enregistré." in saved.get_data(as_text=True)
    assert refs_of(app) == [[f"leg:{there}", f"leg:{back}"]]
    # An unknown receipt is refused with a message, and nothing changes.
    refused = claire.post(
        url,
        data={f"document-{document.id}-receipts": "leg:999999"},
        headers={**HX, "X-CSRFToken": token(claire)},
    )
    assert refused.status_code == 422
    assert "Choisissez dans la liste ce que ce document justifie." in plain(refused.text)
    # Once the travel part is validated, it no longer changes.
    assert validate(app, claire, part="travel").status_code == 303
    locked = claire.post(
        url,
        data={f"document-{document.id}-receipts": f"leg:{there}"},
        headers={**HX, "X-CSRFToken": token(claire)},
    )
    assert locked.status_code == 409
    assert "il ne peut plus être modifié" in plain(locked.text)
    assert refs_of(app) == [[f"leg:{there}", f"leg:{back}"]]


def test_sending_a_file_already_there_offers_to_link_it(app, claire):
    post_leg(app, claire, **TRAIN_621)
    post_leg(app, claire, **TRAIN_BACK)
    there, back = claim_of(app, 621)["leg_ids"]
    send(claire, ("aller.pdf", pypdf_pdf()), receipts=[f"leg:{there}"])
    [document] = documents(app)

    # With JavaScript: the offer lands in the file's row.
    again = send(claire, ("retour.pdf", pypdf_pdf()), receipts=[f"leg:{back}"])
    assert again.status_code == 422
    offer = plain(again.get_data(as_text=True))
    assert "Ce fichier est déjà déposé pour ce dossier (« aller.pdf »)." in offer
    assert "Lier « aller.pdf » à ce que vous avez coché" in offer
    assert again.headers["HX-Retarget"] == "next .upload__message"
    fields = multi(
        form_fields(offer, "upload__offer")
        or re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', offer)
    )
    linked = claire.post(
        f"/missions/621/pieces/{document.id}/justifie",
        data=fields,
        headers={**HX, "X-CSRFToken": token(claire)},
    )
    assert linked.status_code == 200
    body = linked.get_data(as_text=True)
    # The upload's row goes (empty answer), the existing document's row changes in place.
    assert body.lstrip().startswith(f'<li id="document-{document.id}"')
    assert 'hx-swap-oob="true"' in body
    assert refs_of(app) == [[f"leg:{there}", f"leg:{back}"]]
    assert len(documents(app)) == 1

    # Without JavaScript: the message says so and links to the same choice.
    plain_form = send(claire, ("copie.pdf", pypdf_pdf()), receipts=[f"leg:{back}"], hx=False)
    html = claire.get(plain_form.location).get_data(as_text=True)
    link = re.search(
        r'<a href="(/missions/621/pieces/\d+/justifie\?ajout=[^"]+)">lier le document existant',
        html,
    ).group(1)
    page = claire.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(rf'checked[^>]*value="leg:{back}"', page)


def test_every_write_to_documents_is_refused_once_the_part_is_validated(app, claire):
    send(claire, ("autre.pdf", pypdf_pdf()))
    [document] = documents(app)
    assert validate(app, claire).status_code == 303
    assert claim_of(app, 621)["travel"] == "valide"
    headers = {**HX, "X-CSRFToken": token(claire)}
    assert send(claire, ("encore.pdf", pypdf_pdf(2))).status_code == 409
    deleted = claire.post(f"/missions/621/pieces/{document.id}/supprimer", headers=headers)
    assert deleted.status_code == 409
    relinked = claire.post(f"/missions/621/pieces/{document.id}/justifie", headers=headers)
    assert relinked.status_code == 409
    assert len(documents(app)) == 1


def test_the_leg_rows_of_another_claim_cannot_be_linked(app, claire):
    with database(app) as db:
        other = db.scalar(
            select(TravelLeg.id).join(Claim).join(Mission).where(Mission.number == 1004)
        )
    response = send(claire, ("billet.pdf", pypdf_pdf()), receipts=[f"leg:{other}"])
    assert response.status_code == 422
    assert documents(app) == []
