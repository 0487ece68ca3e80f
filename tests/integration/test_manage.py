"""The DEC back office: access, queue, review, send back, validate, cancel, bulk, export."""

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from imagin.models import AuditEvent, Claim, Mission, PaymentBatch
from tests.builders import PAY_621, certify_service_fait, claim_of, validate
from tests.conftest import (
    CLAIRE,
    GESTIONNAIRE,
    AuthActions,
    add_missions,
    count_queries,
    csrf_from,
    database,
    plain,
    send_outbox,
)


def claire_validates_621(app):
    """Claire enters and validates both parts of mission 621 (nothing needs a receipt)."""
    client = app.test_client()
    AuthActions(client).login(CLAIRE)
    assert validate(app, client).status_code == 303
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == ("valide", "valide")
    # Its centre certified the service fait, which the bureau requires before the DEC.
    certify_service_fait(app, 621)
    return client


@pytest.fixture
def manager(client, auth):
    auth.login(GESTIONNAIRE)
    return client


def review_form(client, number=621):
    html = client.get(f"/gestion/missions/{number}").get_data(as_text=True)
    return (
        html,
        csrf_from(html),
        re.search(r'name="(?:\w+-)?version" type="hidden" value="(\d+)"', html).group(1),
    )


@pytest.mark.parametrize(
    "url",
    [
        "/gestion",
        "/gestion/missions/621",
        "/gestion/paiement",
        "/gestion/paiement/lots",
        "/gestion/paiement/lots/1.csv",
    ],
)
def test_intervenant_gets_404_everywhere_in_the_back_office(client, auth, url):
    auth.login(CLAIRE)
    assert client.get(url).status_code == 404
    token = csrf_from(client.get("/missions").get_data(as_text=True))
    assert (
        client.post(
            "/gestion/missions/621/remuneration/valider", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_other_bureau_claim_is_404(manager):
    assert manager.get("/gestion/missions/1300").status_code == 404
    assert manager.get("/gestion?number=1300").status_code == 200
    assert "1300" not in re.findall(
        r"Mission N° (\d+)", manager.get("/gestion").get_data(as_text=True)
    )


def test_queue_shows_counts_filters_and_oldest_validated_first(app, manager):
    claire_validates_621(app)
    html = plain(manager.get("/gestion").get_data(as_text=True))
    assert "Nombre de parties par statut et par session" in html
    numbers = [int(n) for n in re.findall(r'aria-label="Mission N° (\d+)"', html)]
    assert numbers[0] in (815, 621)  # validated by their intervenant come first
    assert 1300 not in numbers
    only = plain(manager.get("/gestion?number=621").get_data(as_text=True))
    assert re.findall(r'aria-label="Mission N° (\d+)"', only) == ["621"]
    by_name = plain(manager.get("/gestion?name=durand").get_data(as_text=True))
    assert set(re.findall(r'aria-label="Mission N° (\d+)"', by_name)) == {"640", "1102"}
    fragment = manager.get("/gestion?status=valide", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="queue-results"')
    assert len(fragment.get_data()) < 6 * 1024


def test_send_back_needs_a_reason_then_intervenant_corrects(app, manager):
    claire = claire_validates_621(app)
    _, token, version = review_form(manager)
    empty = manager.post(
        "/gestion/missions/621/remuneration/renvoyer",
        data={"csrf_token": token, "pay-version": version, "pay-reason": " "},
    )
    assert empty.status_code == 422
    assert "Indiquez le motif" in plain(empty.get_data(as_text=True))
    assert claim_of(app, 621)["pay"] == "valide"
    sent = manager.post(
        "/gestion/missions/621/remuneration/renvoyer",
        data={"csrf_token": token, "pay-version": version, "pay-reason": "Horaires à vérifier."},
    )
    assert sent.status_code == 303
    state = claim_of(app, 621)
    assert state["pay"] == "a_corriger" and state["travel"] == "valide"
    assert state["pay_reason"] == "Horaires à vérifier."
    # Claire sees the reason, her entries are kept, she validates again.
    suivi = plain(claire.get("/missions/621/suivi").get_data(as_text=True))
    assert "Horaires à vérifier." in suivi
    page = claire.get("/missions/621/remuneration").get_data(as_text=True)
    assert 'value="12:30"' in page
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    again = claire.post(
        "/missions/621/remuneration",
        data={
            "csrf_token": csrf_from(page),
            "version": version,
            "action": "validate",
            "certify": "y",
            **PAY_621,
        },
    )
    assert again.status_code == 303
    assert claim_of(app, 621)["pay"] == "valide"


def test_approve_then_export_then_download_again(app, manager):
    claire_validates_621(app)
    _, token, version = review_form(manager)
    assert (
        manager.post(
            "/gestion/missions/621/remuneration/valider",
            data={"csrf_token": token, "version": version},
        ).status_code
        == 303
    )
    _, token, version = review_form(manager)
    assert (
        manager.post(
            "/gestion/missions/621/deplacement/valider",
            data={"csrf_token": token, "version": version},
        ).status_code
        == 303
    )
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == (
        "valide_gestionnaire",
        "valide_gestionnaire",
    )
    page = manager.get("/gestion/paiement").get_data(as_text=True)
    keys = re.findall(r'name="selected" value="(\d+:(?:pay|travel))"', page)
    with database(app) as db:
        claim_id = db.scalar(select(Claim.id).join(Mission).where(Mission.number == 621))
    mine = [k for k in keys if k.startswith(f"{claim_id}:")]
    assert sorted(mine) == [f"{claim_id}:pay", f"{claim_id}:travel"]
    exported = manager.post(
        "/gestion/paiement", data={"csrf_token": csrf_from(page), "selected": mine}
    )
    assert exported.status_code == 303
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == (
        "mis_en_paiement",
        "mis_en_paiement",
    )
    with database(app) as db:
        batch = db.scalar(select(PaymentBatch))
        batch_id = len(batch.lines), batch.id
    download = manager.get(f"/gestion/paiement/lots/{batch_id[1]}.csv")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in download.headers["Content-Disposition"]
    raw = download.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][3] == "N° de mission" and rows[0][16] == "Total"
    pay_row = next(r for r in rows[1:] if r[9] == "Rémunération")
    assert pay_row[3] == "621" and pay_row[6] == "Martin" and pay_row[10] == "33,60"
    assert pay_row[16] == "33,60"
    # The same parts cannot be exported twice.
    again = manager.post(
        "/gestion/paiement", data={"csrf_token": csrf_from(page), "selected": mine}
    )
    assert again.status_code == 409
    assert "rien n'a été exporté" in plain(again.get_data(as_text=True))
    with database(app) as db:
        assert db.scalar(select(func.count()).select_from(PaymentBatch)) == 1


def test_export_is_all_or_nothing(app, manager):
    claire_validates_621(app)
    page = manager.get("/gestion/paiement").get_data(as_text=True)
    response = manager.post(
        "/gestion/paiement", data={"csrf_token": csrf_from(page), "selected": ["999999:pay"]}
    )
    assert response.status_code == 409
    with database(app) as db:
        assert db.scalar(select(func.count()).select_from(PaymentBatch)) == 0


def test_bulk_validation_reports_done_and_refused(app, manager):
    claire_validates_621(app)
    token = csrf_from(manager.get("/gestion").get_data(as_text=True))
    response = manager.post(
        "/gestion/validation-groupee",
        data={"csrf_token": token, "selected": ["621", "640", "1300"]},
    )
    assert response.status_code == 303
    html = plain(manager.get("/gestion").get_data(as_text=True))
    assert "Mission 621 : partie rémunération validée." in html
    assert "Mission 621 : partie déplacement validée." in html
    assert "Mission 640 : partie rémunération refusée —" in html  # not validated by Paul yet
    assert "Mission 1300 : introuvable dans vos bureaux." in html
    assert claim_of(app, 621)["pay"] == "valide_gestionnaire"


def test_cancel_needs_a_reason(app, manager):
    _, token, version = review_form(manager)
    assert (
        manager.post(
            "/gestion/missions/621/annuler", data={"csrf_token": token, "cancel-version": version}
        ).status_code
        == 422
    )
    done = manager.post(
        "/gestion/missions/621/annuler",
        data={"csrf_token": token, "cancel-version": version, "cancel-reason": "Épreuve reportée."},
    )
    assert done.status_code == 303
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == ("annule", "annule")
    with database(app) as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "cancel")).all()
        assert {e.reason for e in events} >= {"Épreuve reportée."}


def test_stale_review_is_refused(app, manager):
    claire_validates_621(app)
    _, token, version = review_form(manager)
    response = manager.post(
        "/gestion/missions/621/remuneration/valider",
        data={"csrf_token": token, "version": str(int(version) - 1)},
    )
    assert response.status_code == 409
    assert claim_of(app, 621)["pay"] == "valide"


def test_pages_keep_constant_queries_with_1000_claims(app, manager):
    with count_queries(app) as few:
        manager.get("/gestion")
    add_missions(
        app,
        "paul.durand@example.fr",
        1000,
        first_number=100_000,
        day=dt.date(2024, 5, 2),
        claim=lambda n: Claim(
            pay_status="valide_gestionnaire" if n % 2 else "valide", pay_amount_cents=1000
        ),
    )
    with count_queries(app) as many:
        response = manager.get("/gestion")
    assert response.status_code == 200
    assert len(many) == len(few) <= 8
    assert len(re.findall(r'aria-label="Mission N° \d+"', response.get_data(as_text=True))) == 50
    with count_queries(app) as payment:
        manager.get("/gestion/paiement")
    assert len(payment) <= 6


def test_gestionnaire_lands_on_the_queue(client, auth):
    response = auth.login(GESTIONNAIRE)
    assert response.location == "/gestion"
    assert "Gestion</a>" in client.get("/gestion").get_data(as_text=True)


def test_reason_shows_on_the_list_and_the_mission_header(client, auth):
    auth.login(CLAIRE)
    listing = plain(client.get("/missions").get_data(as_text=True))
    assert "Motif : Les horaires du 04/07/2025" in listing
    header = plain(client.get("/missions/1004/recapitulatif").get_data(as_text=True))
    assert "Motif : Les horaires du 04/07/2025" in header


def test_status_changes_send_emails_to_the_intervenant(app, manager):
    from email import message_from_bytes, policy
    from pathlib import Path

    claire_validates_621(app)
    _, token, version = review_form(manager)
    manager.post(
        "/gestion/missions/621/remuneration/renvoyer",
        data={"csrf_token": token, "pay-version": version, "pay-reason": "Horaires à vérifier."},
    )
    _, token, version = review_form(manager)
    manager.post(
        "/gestion/missions/621/deplacement/valider", data={"csrf_token": token, "version": version}
    )
    send_outbox(app)
    outbox = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    messages = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox]
    assert [m["To"] for m in messages] == [CLAIRE, CLAIRE]
    bodies = [m.get_body().get_content() for m in messages]
    assert "Horaires à vérifier." in bodies[0]
    assert "621" in messages[1]["Subject"]
    with database(app) as db:
        from imagin.models import OutgoingMail

        assert (
            db.scalar(
                select(func.count()).select_from(OutgoingMail).where(OutgoingMail.sent_at.is_(None))
            )
            == 0
        )


def test_a_filter_that_finds_few_claims_pages_and_counts_like_the_queue(app, manager):
    """Exam, name and number filters read their set once, its totals with the page: the
    pages still split the set in the queue's order, count it, and past the last page the
    last one is shown."""
    kinds = [
        ("valide", dt.datetime(2024, 6, 3, 9)),
        ("non_valide", None),
        ("mis_en_paiement", None),
    ]
    add_missions(
        app,
        "paul.durand@example.fr",
        120,
        first_number=200_000,
        day=dt.date(2024, 1, 2),
        claim=lambda n: Claim(pay_status=kinds[n % 3][0], validated_at=kinds[n % 3][1]),
    )
    with database(app) as db:
        exam = db.scalar(select(Mission.exam_id).where(Mission.number == 621))

    def listing(query: str) -> tuple[str, list[str]]:
        html = plain(manager.get("/gestion?" + query).get_data(as_text=True))
        return html, re.findall(r'aria-label="Mission N° (\d+)"', html)

    first, _ = listing(f"exam={exam}")
    counted = re.search(r"(\d+) état\(s\) de frais, dont <strong>(\d+) à valider", first)
    total, last = int(counted.group(1)), -(-int(counted.group(1)) // 50)
    assert total > 100 and int(counted.group(2)) >= 40 and last == 3
    pages = [listing(f"exam={exam}&page={page}") for page in range(1, last + 1)]
    assert all(counted.group(0) in html for html, _ in pages)
    listed = [number for _, numbers in pages for number in numbers]
    assert len(listed) == len(set(listed)) == total
    # The queue's order: the unfiltered pages, without the other exams' claims.
    # (pages past the last repeat it: each number once)
    everything = list(dict.fromkeys(n for page in range(1, 6) for n in listing(f"page={page}")[1]))
    assert set(listed) <= set(everything)
    assert [n for n in everything if n in set(listed)] == listed
    past, shown = listing(f"exam={exam}&page={last + 5}")
    assert shown == pages[-1][1]
    assert f"page {last} sur {last}" in past
