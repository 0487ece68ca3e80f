"""Right of access (the ZIP read back) and `imagin purge --older-than YEARS`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

from sqlalchemy import func, select, update

from imagin import clock
from imagin.db import get_db
from imagin.demo import DEMO_IBAN, DEMO_NIR
from imagin.models import (
    AuditEvent,
    Claim,
    Document,
    Dossier,
    DossierDocument,
    DossierEvent,
    Mission,
    PaymentLine,
)
from tests.conftest import CLAIRE, PAUL

URL = "/profil/dossier-financier/mes-donnees.zip"


def test_claire_downloads_everything_held_about_her(client, auth):
    auth.login(CLAIRE)
    response = client.get(URL)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = archive.namelist()
    data = json.loads(archive.read("donnees.json"))
    assert data["compte"]["adresse_electronique"] == CLAIRE
    assert data["dossier_financier"]["iban"] == DEMO_IBAN
    assert data["dossier_financier"]["nir"] == DEMO_NIR
    assert {m["mission"] for m in data["missions"]} >= {621}
    assert all(m["mission"] != 1300 for m in data["missions"])  # Paul's
    missions = list(
        csv.DictReader(io.StringIO(archive.read("missions.csv").decode("utf-8-sig")), delimiter=";")
    )
    assert len(missions) == len(data["missions"])
    assert any(name.startswith("dossier_financier/rib-") for name in names)
    pieces = [name for name in names if name.startswith("missions/")]
    assert pieces and all(archive.read(name).startswith(b"%PDF") for name in pieces)


def test_paul_gets_his_own_only(client, auth):
    auth.login(PAUL)
    archive = zipfile.ZipFile(io.BytesIO(client.get(URL).get_data()))
    data = json.loads(archive.read("donnees.json"))
    assert data["compte"]["adresse_electronique"] == PAUL
    assert data["dossier_financier"] is None
    assert DEMO_IBAN.encode() not in b"".join(archive.read(n) for n in archive.namelist())


def test_purge_removes_old_documents_and_dossiers_keeps_amounts_and_history(app, runner):
    with app.app_context():
        db = get_db()
        documents = db.scalar(select(func.count()).select_from(Document))
        paid = db.scalar(select(func.sum(PaymentLine.amount_cents)))
        amounts = db.scalar(select(func.sum(Claim.pay_amount_cents)))
        assert documents
    # Nothing is 30 years old.
    result = runner.invoke(args=["purge", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "0 pièce(s) justificative(s), 0 dossier(s)" in result.output
    # Claire's dossier left untouched for 6 years.
    with app.app_context():
        db = get_db()
        old = clock.now() - dt.timedelta(days=6 * 366)
        db.execute(update(Dossier).values(updated_at=old, submitted_at=old, verified_at=old))
        # And one mission with documents, ended 6 years ago.
        mission_id = db.scalar(
            select(Claim.mission_id).join(Document, Document.claim_id == Claim.id).limit(1)
        )
        db.execute(update(Mission).where(Mission.id == mission_id).values(ends_on=old.date()))
        db.commit()
    result = runner.invoke(args=["purge", "--older-than", "3"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db = get_db()
        assert db.scalar(select(func.count()).select_from(Dossier)) == 0
        assert db.scalar(select(func.count()).select_from(Document)) < documents
        assert db.scalar(select(func.sum(PaymentLine.amount_cents))) == paid
        assert db.scalar(select(func.sum(Claim.pay_amount_cents))) == amounts
        assert db.scalar(select(DossierEvent.action).where(DossierEvent.action == "purge"))
        assert db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "document_deleted")
        )
    refused = runner.invoke(args=["purge", "--older-than", "0"])
    assert refused.exit_code != 0


def test_documents_check_repair_keeps_the_dossiers_files(app, runner):
    import os

    with app.app_context():
        names = get_db().scalars(select(DossierDocument.stored_name)).all()
    assert names
    folder = app.config["UPLOAD_DIR"]
    for name in names:
        os.utime(os.path.join(folder, name), (0, 0))  # far past the grace delay
    result = runner.invoke(args=["documents", "check", "--repair"])
    assert all(os.path.exists(os.path.join(folder, name)) for name in names), result.output
