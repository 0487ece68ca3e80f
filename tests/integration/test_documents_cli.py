"""Documents kept with their rows: quota, duplicates, injected failures and crashes, and
``imagin documents check [--repair]`` putting the folder and the rows back in agreement."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from imagin import clock, documents
from imagin.documents.bundle import build_bundle, claim_summary_lines
from imagin.documents.checks import inspect_upload
from imagin.documents.errors import DuplicateDocument, QuotaExceeded
from imagin.documents.service import Quota, delete_document, store_document
from imagin.models import AuditEvent, Claim, Document, Mission, ReceiptLink, User
from imagin.storage import GENERATED_NAME, TEMP_PREFIX, Storage, get_storage
from tests.builders import gps_photo, jpeg, pypdf_pdf, simple_pdf, stored_files
from tests.conftest import CLAIRE, database

FIVE_MB = 5 * 1024 * 1024
AN_HOUR_AGO = time.time() - 3600


@pytest.fixture(autouse=True)
def documents_commands(app):
    # Until the app factory calls it; init_app is idempotent either way.
    documents.init_app(app)
    documents.init_app(app)


def checked(data: bytes, name: str):
    return inspect_upload(io.BytesIO(data), name, max_bytes=FIVE_MB)


def claim_621(db) -> Claim:
    return db.scalar(select(Claim).join(Mission).where(Mission.number == 621))


def claire(db) -> User:
    return db.scalar(select(User).where(User.email == CLAIRE))


def quota(app) -> Quota:
    return Quota.from_config(app.config)


def upload(app, data: bytes, name: str, **options) -> Document:
    with database(app) as db:
        return store_in_621(app, db, data, name, uploaded_by_id=claire(db).id, **options)


def store_in_621(app, db, data: bytes, name: str, **options) -> Document:
    """Store a file in mission 621's claim through ``db`` (which a test may break)."""
    return store_document(
        db,
        get_storage(),
        claim_621(db),
        checked(data, name),
        quota=options.pop("quota", quota(app)),
        now=clock.now(),
        **options,
    )


def document_count(app) -> int:
    """Mission 621's documents (the demo's other missions have theirs)."""
    with database(app) as db:
        return db.scalar(
            select(func.count()).select_from(Document).where(Document.claim_id == claim_621(db).id)
        )


def folder(app) -> list[str]:
    """The upload folder, without the files of the demo's documents."""
    return stored_files(app)


def night_link() -> ReceiptLink:
    return ReceiptLink(kind="night", key="2022-12-01", label="Facture d'hôtel")


def age(app, name: str) -> None:
    """Make a file look an hour old, past the check's grace delay."""
    os.utime(os.path.join(app.config["UPLOAD_DIR"], name), (AN_HOUR_AGO, AN_HOUR_AGO))


# --- Storing --------------------------------------------------------------------


def test_a_document_and_its_file_are_kept_together(app):
    document = upload(app, simple_pdf(), "../../facture.pdf", links=[night_link()])
    assert GENERATED_NAME.fullmatch(document.stored_name)
    assert folder(app) == [document.stored_name]
    with database(app) as db:
        row = db.get(Document, document.id)
        assert row.original_name == "facture.pdf"
        assert (row.content_type, row.size, [str(ref) for ref in row.refs]) == (
            "application/pdf",
            len(simple_pdf()),
            ["night:2022-12-01"],
        )
        assert row.uploaded_by_id == claire(db).id
        assert get_storage().path(row.stored_name).read_bytes() == simple_pdf()
        assert [d.id for d in claim_621(db).documents] == [document.id]


def test_the_upload_folder_is_the_configured_one_outside_static(app):
    with app.app_context():
        root = get_storage().root
    assert str(root) == app.config["UPLOAD_DIR"]
    assert "static" not in root.parts


@pytest.mark.parametrize(
    "name",
    ["../../x.pdf", "C:\\x.pdf", "x\x00.pdf", "x" * 300 + ".pdf", "\u202eexe.pdf", "/etc/x.pdf"],
)
def test_hostile_names_never_reach_the_file_system(app, name, tmp_path):
    document = upload(app, simple_pdf(), name)
    assert GENERATED_NAME.fullmatch(document.stored_name)
    assert folder(app) == [document.stored_name]
    assert len(document.original_name) <= 120
    assert not any(char in document.original_name for char in "/\\\x00\u202e")
    # Nothing was written beside or above the upload folder.
    uploads = Path(app.config["UPLOAD_DIR"])
    written = [
        path
        for path in tmp_path.rglob("*")
        if (path.is_file() and "imagin.db" not in path.name and path.name in folder(app))
        or (path.is_file() and path.parent != uploads and "imagin.db" not in path.name)
    ]
    assert written == [uploads / document.stored_name]


def test_the_same_file_twice_is_reported_not_stored(app):
    first = upload(app, gps_photo(), "photo.jpg")
    with pytest.raises(DuplicateDocument) as refused:
        upload(app, gps_photo(), "la-meme-photo.jpg")
    assert "déjà déposé" in refused.value.message
    assert "« photo.jpg »" in refused.value.message
    assert refused.value.existing_id == first.id
    assert document_count(app) == 1
    assert folder(app) == [first.stored_name]


def test_a_duplicate_caught_by_the_database_removes_its_file(app, monkeypatch):
    # Two uploads of the same file at once: both pass the first look, the unique key stops one.
    first = upload(app, simple_pdf(), "a.pdf")
    from imagin.documents import service

    monkeypatch.setattr(service, "find_duplicate", _first_call_misses(service.find_duplicate))
    with pytest.raises(DuplicateDocument):
        upload(app, simple_pdf(), "b.pdf")
    assert document_count(app) == 1
    assert folder(app) == [first.stored_name]


def _first_call_misses(real):
    calls = []

    def find(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    return find


def test_quota_of_files_per_claim(app):
    small = Quota(max_files=2, max_bytes=40 * 1024 * 1024)
    upload(app, jpeg(color=(1, 2, 3)), "1.jpg", quota=small)
    upload(app, jpeg(color=(4, 5, 6)), "2.jpg", quota=small)
    with pytest.raises(QuotaExceeded) as refused:
        upload(app, jpeg(color=(7, 8, 9)), "3.jpg", quota=small)
    assert refused.value.message.startswith("Ce dossier compte déjà 2 pièces justificatives")
    assert refused.value.status == 422
    assert document_count(app) == 2 and len(folder(app)) == 2


def test_quota_of_bytes_per_claim(app):
    data = pypdf_pdf(1)
    tight = Quota(max_files=20, max_bytes=len(data) + len(simple_pdf()) - 1)
    upload(app, data, "a.pdf", quota=tight)
    with pytest.raises(QuotaExceeded) as refused:
        upload(app, simple_pdf(), "b.pdf", quota=tight)
    assert "au total" in refused.value.message
    assert document_count(app) == 1 and len(folder(app)) == 1


def test_default_quota_comes_from_the_configuration(app):
    assert quota(app) == Quota(max_files=20, max_bytes=40 * 1024 * 1024)


def test_a_failed_commit_leaves_neither_row_nor_file(app, monkeypatch):
    with database(app) as db:

        def commit_fails():
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

        monkeypatch.setattr(db, "commit", commit_fails)
        with pytest.raises(OperationalError):
            store_in_621(app, db, simple_pdf(), "a.pdf")
    assert document_count(app) == 0
    assert folder(app) == []


def test_a_commit_of_unknown_outcome_keeps_the_file_for_the_check(app, monkeypatch, runner):
    # The connection broke during COMMIT: the row may exist, so the file is not removed;
    # the check later removes it as the orphan it turned out to be.
    with database(app) as db:

        def connection_lost():
            def nothing_answers(*_args, **_kwargs):
                raise OperationalError("SELECT", {}, Exception("server closed the connection"))

            monkeypatch.setattr(db, "scalar", nothing_answers)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

        monkeypatch.setattr(db, "commit", connection_lost)
        with pytest.raises(OperationalError):
            store_in_621(app, db, simple_pdf(), "a.pdf")
    [orphan] = folder(app)
    assert document_count(app) == 0
    result = runner.invoke(args=["documents", "check", "--repair", "--grace-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert f"Fichier sans pièce, supprimé : {orphan}" in result.output
    assert folder(app) == []


def test_crash_between_file_and_row_is_repaired_by_the_check(app, monkeypatch, runner):
    with database(app) as db:

        def process_killed():
            raise SystemExit("killed")  # no except clause runs for it: like a crash

        monkeypatch.setattr(db, "commit", process_killed)
        with pytest.raises(SystemExit):
            store_in_621(app, db, jpeg(), "a.jpg")
    [orphan] = folder(app)
    assert document_count(app) == 0

    # Young orphans may be uploads committing right now: reported, kept.
    result = runner.invoke(args=["documents", "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert (
        f"Fichier récent sans pièce (dépôt peut-être en cours), laissé : {orphan}" in result.output
    )
    assert folder(app) == [orphan]

    age(app, orphan)
    result = runner.invoke(args=["documents", "check"])
    assert result.exit_code == 1
    assert f"Fichier sans pièce, à supprimer (--repair) : {orphan}" in result.output
    assert folder(app) == [orphan]

    result = runner.invoke(args=["documents", "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert "Incohérences réparées." in result.output
    assert folder(app) == []

    result = runner.invoke(args=["documents", "check"])
    assert result.exit_code == 0
    assert "Stockage des pièces cohérent." in result.output


def test_a_repair_that_fails_is_reported(app, runner, monkeypatch):
    orphan = get_storage_of(app).save_bytes(b"%PDF-", extension=".pdf").name
    age(app, orphan)

    def read_only(self, entry):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Storage, "delete_entry", read_only)
    result = runner.invoke(args=["documents", "check", "--repair"])
    assert result.exit_code == 1
    assert f"Suppression impossible : {orphan} (Permission denied)" in result.output
    assert folder(app) == [orphan]


def test_stale_temporary_files_are_removed(app, runner):
    document = upload(app, simple_pdf(), "a.pdf")
    stale = os.path.join(app.config["UPLOAD_DIR"], TEMP_PREFIX + "interrupted")
    with open(stale, "wb") as half_written:
        half_written.write(b"%PDF-1.7 half")
    age(app, TEMP_PREFIX + "interrupted")
    result = runner.invoke(args=["documents", "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert "Fichier temporaire abandonné, supprimé" in result.output
    assert folder(app) == [document.stored_name]


def test_a_row_whose_file_is_lost_is_reported_then_removed_with_an_audit_event(app, runner):
    document = upload(app, simple_pdf(), "hotel.pdf", links=[night_link()])
    get_storage_of(app).delete(document.stored_name)

    result = runner.invoke(args=["documents", "check"])
    assert result.exit_code == 1
    assert f"Fichier manquant, pièce à retirer (--repair) : pièce {document.id} « hotel.pdf »" in (
        result.output
    )
    assert document_count(app) == 1

    result = runner.invoke(args=["documents", "check", "--repair"])
    assert result.exit_code == 0, result.output
    assert "pièce retirée" in result.output
    assert document_count(app) == 0
    with database(app) as db:
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "document_lost"))
        assert event.mission.number == 621
        assert event.part == "travel" and event.actor_id is None
        assert event.detail["original_name"] == "hotel.pdf"
        assert event.detail["sha256"] == document.sha256
        assert event.detail["receipts"] == ["night:2022-12-01"]


def test_verify_finds_an_altered_file_and_leaves_it(app, runner):
    document = upload(app, simple_pdf(), "a.pdf")
    get_storage_of(app).path(document.stored_name).write_bytes(b"%PDF-1.7 tampered")
    assert runner.invoke(args=["documents", "check"]).exit_code == 0
    result = runner.invoke(args=["documents", "check", "--verify", "--repair"])
    assert result.exit_code == 1
    assert (
        f"Fichier altéré (taille ou empreinte différente), à restaurer : {document.stored_name}"
        in (result.output)
    )
    assert document_count(app) == 1 and folder(app) == [document.stored_name]


def test_files_the_app_did_not_name_are_never_touched(app, runner):
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)
    stranger = os.path.join(app.config["UPLOAD_DIR"], "LISEZMOI.txt")
    with open(stranger, "w") as note:
        note.write("sauvegarde")
    age(app, "LISEZMOI.txt")
    result = runner.invoke(args=["documents", "check", "--repair", "--grace-minutes", "0"])
    assert result.exit_code == 0
    assert "Fichier inconnu, laissé : LISEZMOI.txt" in result.output
    assert os.path.exists(stranger)


def test_check_of_an_empty_store(app, runner):
    result = runner.invoke(args=["documents", "check"])
    assert result.exit_code == 0
    assert "Stockage des pièces cohérent." in result.output


def test_deleting_a_document_removes_row_then_file(app):
    document = upload(app, simple_pdf(), "a.pdf")
    with database(app) as db:
        delete_document(
            db,
            get_storage(),
            db.get(Document, document.id),
            actor_id=document.uploaded_by_id,
            now=clock.now(),
        )
    assert document_count(app) == 0
    assert folder(app) == []


def test_a_refused_upload_stores_nothing(app):
    from imagin.documents.errors import DocumentRefused

    with pytest.raises(DocumentRefused):
        checked(simple_pdf(), "facture.png")
    assert document_count(app) == 0 and folder(app) == []


# --- The bundle of a real claim --------------------------------------------------


def test_bundle_of_mission_621(app):
    upload(app, pypdf_pdf(2), "billets.pdf")
    upload(app, gps_photo(), "repas.jpg")
    with database(app) as db:
        claim = claim_621(db)
        lines = claim_summary_lines(claim)
        with build_bundle(claim.documents, get_storage(), lines) as bundle:
            reader = PdfReader(io.BytesIO(bundle.read()))
    assert lines[0] == "Mission N° 621 — CERTIFICAT DE FORMATION GENERALE"
    assert "Intervenant : Claire Martin (claire.martin@example.fr)" in lines
    assert (
        "Centre d'examen : PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX (06112932)" in lines
    )
    assert "Dates de la mission : 02/12/2022" in lines
    assert len(reader.pages) == 1 + 2 + 1
    cover = reader.pages[0].extract_text()
    assert "Mission N° 621" in cover and "1. billets.pdf" in cover and "2. repas.jpg" in cover


def get_storage_of(app) -> Storage:
    return Storage(app.config["UPLOAD_DIR"])
