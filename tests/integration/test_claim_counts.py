"""The counts of the DEC queue (claim_count) always equal a real GROUP BY of the claims:
after the state machine's transitions, imports, moves, deletes and the demo; rebuilt by
``imagin counts rebuild``; and what /gestion shows comes from them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, text, update

from imagin import clock
from imagin.auth.passwords import hash_password
from imagin.demo import DEMO_PASSWORD, load_demo
from imagin.models import Bureau, Claim, ExamSession, Mission
from imagin.models.counts import GROUPED
from imagin.storage import get_storage
from tests.builders import certify_service_fait, claim_of, validate
from tests.conftest import (
    CLAIRE,
    GESTIONNAIRE,
    AuthActions,
    add_missions,
    csrf_from,
    database,
    plain,
)
from tests.integration.test_import import app as import_app  # noqa: F401 (fixture)
from tests.integration.test_import import import_file, row


def stored_counts(app) -> dict[tuple, int]:
    with database(app) as db:
        rows = db.execute(
            text(
                "SELECT bureau_id, session_id, pay_status, travel_status, validated, n "
                "FROM claim_count WHERE n <> 0"
            )
        )
        return {(b, s, p, t, bool(v)): n for b, s, p, t, v, n in rows}


def grouped_counts(app) -> dict[tuple, int]:
    with database(app) as db:
        return {(b, s, p, t, bool(v)): n for b, s, p, t, v, n in db.execute(text(GROUPED))}


def assert_counts_match(app) -> dict[tuple, int]:
    expected = grouped_counts(app)
    assert expected, "no claims at all: the comparison would prove nothing"
    assert stored_counts(app) == expected
    return expected


@pytest.fixture
def manager(client, auth):
    assert auth.login(GESTIONNAIRE).status_code == 303
    return client


def test_the_demo_and_the_migration_fill_the_counts(app):
    assert_counts_match(app)


def test_transitions_keep_the_counts(app, manager):
    certify_service_fait(app)  # the DEC validates 621 below
    before = assert_counts_match(app)
    claire = app.test_client()
    AuthActions(claire).login(CLAIRE)
    assert validate(app, claire).status_code == 303  # intervenant: non_valide -> valide
    after = assert_counts_match(app)
    assert after != before
    page = manager.get("/gestion/missions/621").get_data(as_text=True)
    token = csrf_from(page)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = manager.post(
        "/gestion/missions/621/remuneration/renvoyer",
        data={"csrf_token": token, "pay-version": version, "pay-reason": "Heures à revoir"},
    )
    assert response.status_code == 303
    assert claim_of(app, 621)["pay"] == "a_corriger"
    assert_counts_match(app)
    version = claim_of(app, 621)["version"]
    response = manager.post(
        "/gestion/missions/621/deplacement/valider",
        data={"csrf_token": token, "version": str(version)},
    )
    assert response.status_code == 303
    assert claim_of(app, 621)["travel"] == "valide_gestionnaire"
    assert_counts_match(app)
    response = manager.post(
        "/gestion/missions/621/annuler",
        data={
            "csrf_token": token,
            "cancel-version": str(claim_of(app, 621)["version"]),
            "cancel-reason": "Jury supprimé",
        },
    )
    assert response.status_code == 303
    assert (claim_of(app, 621)["pay"], claim_of(app, 621)["travel"]) == ("annule", "annule")
    assert_counts_match(app)


def test_bulk_validation_and_payment_keep_the_counts(app, manager):
    add_missions(
        app,
        "claire.martin@example.fr",  # her dossier financier is verified: she can be paid
        30,
        first_number=100_000,
        day=dt.date(2024, 5, 2),
        claim=lambda n: Claim(
            pay_status="valide",
            travel_status="pas_de_frais",
            pay_amount_cents=1000,
            validated_at=dt.datetime(2024, 6, 1, 10, n),
        ),
    )
    for n in range(30):
        certify_service_fait(app, 100_000 + n)  # the bureau requires it before the DEC
    assert_counts_match(app)
    token = csrf_from(manager.get("/gestion").get_data(as_text=True))
    response = manager.post(
        "/gestion/validation-groupee",
        data={"csrf_token": token, "selected": [str(100_000 + n) for n in range(30)]},
    )
    assert response.status_code == 303
    assert claim_of(app, 100_000)["pay"] == "valide_gestionnaire"
    assert_counts_match(app)
    page = manager.get("/gestion/paiement").get_data(as_text=True)
    selected = re.findall(r'name="selected" value="([^"]+)"', page)
    assert selected
    response = manager.post(
        "/gestion/paiement", data={"csrf_token": csrf_from(page), "selected": selected}
    )
    assert response.status_code == 303
    assert claim_of(app, 100_000)["pay"] == "mis_en_paiement"
    assert_counts_match(app)


def test_moves_and_deletes_keep_the_counts(app):
    assert_counts_match(app)
    with database(app) as db:
        other_bureau = db.scalar(select(Bureau.id).where(Bureau.code == "DEC3"))
        other_session = db.scalar(select(ExamSession.id).order_by(ExamSession.id.desc()))
        db.execute(
            update(Mission)
            .where(Mission.number == 621)
            .values(bureau_id=other_bureau, session_id=other_session)
        )
        db.commit()
    assert_counts_match(app)
    with database(app) as db:
        # By the ORM (the claim is deleted first by its cascade)…
        db.delete(db.scalar(select(Mission).where(Mission.number == 621)))
        db.commit()
    assert_counts_match(app)
    with database(app) as db:
        # …and by SQL: the claim goes with the database's ON DELETE CASCADE.
        number = db.scalar(
            text(
                "SELECT max(m.number) FROM mission m JOIN claim c ON c.mission_id = m.id "
                "WHERE NOT EXISTS (SELECT 1 FROM payment_line p WHERE p.claim_id = c.id)"
            )
        )
        db.execute(text("DELETE FROM mission WHERE number = :n"), {"n": number})
        db.commit()
        assert db.scalar(select(Mission.id).where(Mission.number == number)) is None
    assert_counts_match(app)


def test_the_import_keeps_the_counts(import_app, client, auth):  # noqa: F811
    app = import_app
    assert auth.login(GESTIONNAIRE).status_code == 303
    before = assert_counts_match(app)
    response = import_file(
        client,
        "\n".join(
            [
                (
                    "numero_mission;examen;taux_examen;session_code;session;type_mission;"
                    "base_remuneration;specialite;epreuve_option;centre_code;centre_nom;"
                    "centre_commune;jours;email;prenom;nom;remuneration;deplacement;bureau_code"
                ),
                row(9001),
                row(9002, travel="non"),
                row(9003, pay="non", travel="non"),
            ]
        )
        + "\n",
    )
    assert response.status_code == 303
    after = assert_counts_match(app)
    assert sum(after.values()) == sum(before.values()) + 3
    # Re-imported: a right taken away, another given, one convocation cancelled.
    header = (
        "numero_mission;examen;taux_examen;session_code;session;type_mission;base_remuneration;"
        "specialite;epreuve_option;centre_code;centre_nom;centre_commune;jours;email;prenom;nom;"
        "remuneration;deplacement;bureau_code"
    )
    response = import_file(
        client,
        "\n".join([header, row(9001, travel="non"), row(9002, travel="oui"), row(9003)]) + "\n",
    )
    assert response.status_code == 303
    assert claim_of(app, 9001)["travel"] == "pas_de_frais"
    assert claim_of(app, 9002)["travel"] == "non_valide"
    assert_counts_match(app)


def test_loading_the_demo_again_keeps_the_counts(app):
    with app.app_context():
        from imagin.db import get_db

        load_demo(get_db(), hash_password(DEMO_PASSWORD), clock.today(), storage=get_storage())
    assert_counts_match(app)


def test_rebuild_repairs_counts_gone_wrong(app, runner):
    expected = assert_counts_match(app)
    with database(app) as db:
        db.execute(text("UPDATE claim_count SET n = n + 7"))
        db.execute(text("DELETE FROM claim_count WHERE pay_status = 'valide'"))
        db.commit()
    assert stored_counts(app) != expected
    result = runner.invoke(args=["counts", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Compteurs recalculés" in result.output
    assert stored_counts(app) == expected


def test_the_queue_shows_the_counts_of_the_bureau(app, manager):
    """The table of counts: parts per session and status of the gestionnaire's bureaus."""
    with database(app) as db:
        rows = db.execute(
            text(
                "SELECT s.label, c.pay_status, c.travel_status FROM claim c "
                "JOIN mission m ON m.id = c.mission_id JOIN exam_session s ON s.id = m.session_id "
                "JOIN bureau_member bm ON bm.bureau_id = m.bureau_id "
                "JOIN user_account u ON u.id = bm.user_id WHERE u.email = :email"
            ),
            {"email": GESTIONNAIRE},
        ).all()
    expected: dict[str, dict[str, int]] = {}
    for label, pay, travel in rows:
        for status in (pay, travel):
            expected.setdefault(label, {}).setdefault(status, 0)
            expected[label][status] += 1
    html = plain(manager.get("/gestion").get_data(as_text=True))
    table = html.split('class="counts__table"')[1].split("</table>")[0]
    headers = re.findall(r'<th scope="col">([^<]+)</th>', table)[1:]
    shown = {}
    for label, cells in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', table):
        values = re.findall(r"<td>(\d*)</td>", cells)
        shown[label] = {h: int(v) for h, v in zip(headers, values, strict=True) if v}
    from imagin.domain.status import PartStatus

    labels = {s.value: s.label for s in PartStatus}
    assert shown == {
        label: {labels[status]: n for status, n in by_status.items()}
        for label, by_status in expected.items()
    }
    assert shown
